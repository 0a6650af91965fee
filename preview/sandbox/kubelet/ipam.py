"""Pod IPs from each node's `spec.podCIDR`, as the host-local IPAM plugin hands them out."""

from __future__ import annotations

import ipaddress
import zlib


class PodAddresses:
    """Allocates one address per pod uid inside its node's pod CIDR."""

    def __init__(self) -> None:
        self._by_uid: dict[str, tuple[str, str]] = {}  # uid -> (cidr, ip)
        self._used: dict[str, set[str]] = {}

    def allocate(self, uid: str, cidr: str) -> str:
        if uid in self._by_uid:
            return self._by_uid[uid][1]
        network = ipaddress.ip_network(cidr, strict=False)
        used = self._used.setdefault(str(network), set())
        # .1 is the node's bridge (cni0) on a real node; pods start at .2.
        for offset in range(2, network.num_addresses - 1):
            ip = str(network.network_address + offset)
            if ip not in used:
                used.add(ip)
                self._by_uid[uid] = (str(network), ip)
                return ip
        raise RuntimeError(f"pod CIDR {cidr} is full")

    def release(self, uid: str) -> None:
        cidr_ip = self._by_uid.pop(uid, None)
        if cidr_ip is not None:
            self._used.get(cidr_ip[0], set()).discard(cidr_ip[1])


def fallback_cidr(node_name: str) -> str:
    """A stable /24 for a node that has no podCIDR (no node IPAM in this cluster)."""
    return f"10.244.{zlib.crc32(node_name.encode()) % 250 + 1}.0/24"
