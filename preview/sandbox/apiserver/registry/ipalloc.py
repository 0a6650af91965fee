"""ClusterIP and NodePort allocation for Services, with the real allocator's error texts."""

from __future__ import annotations

import contextlib
import ipaddress
import random

from preview.sandbox.machinery.status import StatusError, field_invalid, invalid


class ClusterIPAllocator:
    """Hands out addresses of the service CIDR (the first one is the `kubernetes` Service's)."""

    def __init__(self, cidr: str) -> None:
        self.network = ipaddress.ip_network(cidr, strict=False)
        self.cidr = str(self.network)
        self._used: set[ipaddress.IPv4Address | ipaddress.IPv6Address] = set()
        self._random = random.Random()

    def check(self, requested: str, name: str) -> None:
        """Raise the real server's 422 if `requested` cannot be allocated."""
        self._parse(requested, name)

    def allocate(self, name: str, requested: str | None = None) -> str:
        if requested:
            ip = self._parse(requested, name)
            self._used.add(ip)
            return str(ip)
        # As the real allocator (KEP-3070): dynamic IPs are random and prefer the upper
        # band, leaving the lowest addresses for Services that ask for a fixed IP.
        size = self.network.num_addresses
        static_band = min(max(16, size // 16), 256)
        for low, high in ((static_band, size - 2), (1, min(static_band, size - 2))):
            if low > high:
                continue
            for _ in range(64):
                ip = self.network.network_address + self._random.randint(low, high)
                if ip not in self._used:
                    self._used.add(ip)
                    return str(ip)
            for offset in range(low, high + 1):  # nearly full: search in order
                ip = self.network.network_address + offset
                if ip not in self._used:
                    self._used.add(ip)
                    return str(ip)
        raise _service_invalid(name, "spec.clusterIPs", [],
                               "failed to allocate a serviceIP: range is full")

    def release(self, ip: str) -> None:
        with contextlib.suppress(ValueError):  # never allocated: nothing to release
            self._used.discard(ipaddress.ip_address(ip))

    def _parse(self, requested: str, name: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
        try:
            ip = ipaddress.ip_address(requested)
        except ValueError:
            raise _service_invalid(name, "spec.clusterIPs[0]", requested,
                                   "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"
                                   ) from None
        if ip not in self.network or ip in (self.network.network_address,
                                            self.network.broadcast_address):
            raise _service_invalid(name, "spec.clusterIPs", [requested],
                                   f"failed to allocate IP {requested}: the provided IP "
                                   f"({requested}) is not in the valid range. The range of valid "
                                   f"IPs is {self.cidr}")
        if ip in self._used:
            raise _service_invalid(name, "spec.clusterIPs", [requested],
                                   f"failed to allocate IP {requested}: provided IP is already "
                                   "allocated")
        return ip


class NodePortAllocator:
    def __init__(self, low: int = 30000, high: int = 32767) -> None:
        self.low, self.high = low, high
        self._used: set[int] = set()
        self._next = low

    def check(self, port: int, name: str, field: str) -> None:
        if not self.low <= port <= self.high:
            raise _service_invalid(name, field, port, "provided port is not in the valid range. "
                                   f"The range of valid ports is {self.low}-{self.high}")
        if port in self._used:
            raise _service_invalid(name, field, port, "provided port is already allocated")

    def allocate(self, name: str, field: str, requested: int | None = None) -> int:
        if requested:
            self.check(requested, name, field)
            self._used.add(requested)
            return requested
        for _ in range(self.high - self.low + 1):
            port = self._next
            self._next = port + 1 if port < self.high else self.low
            if port not in self._used:
                self._used.add(port)
                return port
        raise _service_invalid(name, field, 0, "range is full")

    def release(self, port: int) -> None:
        self._used.discard(port)


def _service_invalid(name: str, path: str, value: object, detail: str) -> StatusError:
    return invalid("Service", "", name, [field_invalid(path, value, detail)])
