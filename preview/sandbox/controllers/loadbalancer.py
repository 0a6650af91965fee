"""LoadBalancer Services get an external address from a small pool, as MetalLB would.

Host clusters without a cloud (kind with cloud-provider-kind, bare metal with MetalLB) hand
each `type: LoadBalancer` Service an IP from a configured range and publish it in
`status.loadBalancer.ingress`. Services with a `loadBalancerClass` belong to another
implementation and are left alone; a Service that stops being a LoadBalancer loses its IP.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
from typing import Any

from preview.control import Key, WorkQueue, key_of
from preview.kube.client import Forbidden, NotFound
from preview.sandbox.controllers import ControllerContext

log = logging.getLogger(__name__)
# .200 is the ingress controller's own address (ingress.CONTROLLER_ADDRESS).
POOL_START, POOL_END = "172.18.255.201", "172.18.255.250"


def wants_address(svc: dict[str, Any]) -> bool:
    spec = svc.get("spec") or {}
    return spec.get("type") == "LoadBalancer" and not spec.get("loadBalancerClass") and \
        not svc["metadata"].get("deletionTimestamp")


def assigned(svc: dict[str, Any]) -> str:
    for entry in ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []:
        if entry.get("ip"):
            return str(entry["ip"])
    return ""


def pick(requested: str, in_use: set[str], start: str = POOL_START,
         end: str = POOL_END) -> str | None:
    """The requested IP when it is in the pool and free, else the first free one."""
    first, last = int(ipaddress.IPv4Address(start)), int(ipaddress.IPv4Address(end))
    if requested:
        try:
            wanted = int(ipaddress.IPv4Address(requested))
        except ValueError:
            return None
        ok = first <= wanted <= last and requested not in in_use
        return requested if ok else None
    for n in range(first, last + 1):
        ip = str(ipaddress.IPv4Address(n))
        if ip not in in_use:
            return ip
    return None


class LoadBalancerController:
    def __init__(self, ctx: ControllerContext) -> None:
        self.client = ctx.client
        self.services = ctx.informers.informer("", "v1", "services")
        self.queue: WorkQueue[Key] = WorkQueue()
        # IPs handed out but maybe not yet seen back through the informer.
        self.allocated: dict[Key, str] = {}
        self.services.add_handler(self._on_service)

    def _on_service(self, kind: str, svc: dict[str, Any], old: dict[str, Any] | None) -> None:
        if kind == "DELETED":
            self.allocated.pop(key_of(svc), None)
            return
        self.queue.add(key_of(svc))

    def _in_use(self, key: Key) -> set[str]:
        ips = {assigned(s) for s in self.services.list() if key_of(s) != key}
        ips |= {ip for k, ip in self.allocated.items() if k != key}
        return ips - {""}

    async def run(self) -> None:
        await self.services.synced.wait()
        await self.queue.run(self.sync)

    async def sync(self, key: Key) -> float | None:
        svc = self.services.get(*key)
        if svc is None:
            self.allocated.pop(key, None)
            return None
        current = assigned(svc)
        if not wants_address(svc):
            if current and not (svc.get("spec") or {}).get("loadBalancerClass"):
                self.allocated.pop(key, None)
                await self._publish(key, {"loadBalancer": {"ingress": None}})
            return None
        if current:
            self.allocated[key] = current
            return None
        requested = str((svc.get("spec") or {}).get("loadBalancerIP") or "")
        ip = self.allocated.get(key) or pick(requested, self._in_use(key))
        if ip is None:
            log.warning("no load-balancer address free for service %s/%s", *key)
            return 5.0
        self.allocated[key] = ip
        await self._publish(key, {"loadBalancer": {"ingress": [{"ip": ip, "ipMode": "VIP"}]}})
        return None

    async def _publish(self, key: Key, status: dict[str, Any]) -> None:
        with contextlib.suppress(Forbidden, NotFound):
            await self.client.merge_patch(self.services.rt, *key, {"status": status}, "status")
