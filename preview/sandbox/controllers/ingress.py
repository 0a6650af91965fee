"""The host's ingress controller: Ingresses of its class get the controller's address.

Stands in for ingress-nginx: it claims Ingresses whose class (`spec.ingressClassName`, the
legacy `kubernetes.io/ingress.class` annotation, or, with neither, the default
IngressClass) is an IngressClass with controller `k8s.io/ingress-nginx`, and publishes
its own load-balancer address in `status.loadBalancer.ingress`, as ingress-nginx does with
`--publish-service`. Ingresses of other classes are left alone.
"""

from __future__ import annotations

import logging
from typing import Any

from preview.sandbox.controllers import ControllerContext
from preview.sandbox.controllers.addons import DEFAULT_INGRESS_CLASS_ANNOTATION, INGRESS_CONTROLLER
from preview.sandbox.controllers.client import ApiFailure
from preview.sandbox.controllers.informers import Key, key_of
from preview.sandbox.controllers.queue import WorkQueue

log = logging.getLogger(__name__)
LEGACY_CLASS_ANNOTATION = "kubernetes.io/ingress.class"
# The address of the controller's own LoadBalancer Service (first of the sandbox LB pool).
CONTROLLER_ADDRESS = "172.18.255.200"


def is_default(ingress_class: dict[str, Any]) -> bool:
    annotations = ingress_class["metadata"].get("annotations") or {}
    return annotations.get(DEFAULT_INGRESS_CLASS_ANNOTATION) == "true"


def class_of(ingress: dict[str, Any], classes: list[dict[str, Any]]) -> str:
    """The IngressClass an Ingress asks for ("" when none and no default exists)."""
    name = (ingress.get("spec") or {}).get("ingressClassName")
    if name:
        return str(name)
    legacy = (ingress["metadata"].get("annotations") or {}).get(LEGACY_CLASS_ANNOTATION)
    if legacy:
        return str(legacy)
    defaults = sorted(c["metadata"]["name"] for c in classes if is_default(c))
    return defaults[0] if len(defaults) == 1 else ""


def is_ours(ingress: dict[str, Any], classes: list[dict[str, Any]]) -> bool:
    wanted = class_of(ingress, classes)
    return any(c["metadata"]["name"] == wanted
               and (c.get("spec") or {}).get("controller") == INGRESS_CONTROLLER
               for c in classes)


def load_balancer_status(address: str) -> dict[str, Any]:
    return {"loadBalancer": {"ingress": [{"ip": address}]}}


class IngressController:
    def __init__(self, ctx: ControllerContext) -> None:
        self.client = ctx.client
        self.ingresses = ctx.informers.informer("networking.k8s.io", "v1", "ingresses")
        self.classes = ctx.informers.informer("networking.k8s.io", "v1", "ingressclasses")
        self.queue: WorkQueue[Key] = WorkQueue()
        self.ingresses.add_handler(lambda kind, obj, old: self.queue.add(key_of(obj)))
        self.classes.add_handler(self._on_class)

    def _on_class(self, kind: str, obj: dict[str, Any], old: dict[str, Any] | None) -> None:
        for ingress in self.ingresses.list():
            self.queue.add(key_of(ingress))

    async def run(self) -> None:
        await self.ingresses.synced.wait()
        await self.classes.synced.wait()
        await self.queue.run(self.sync)

    async def sync(self, key: Key) -> float | None:
        ingress = self.ingresses.get(*key)
        if ingress is None or ingress["metadata"].get("deletionTimestamp"):
            return None
        if not is_ours(ingress, self.classes.list()):
            return None  # another controller's (or nobody's): leave its status alone
        status = load_balancer_status(CONTROLLER_ADDRESS)
        if (ingress.get("status") or {}).get("loadBalancer") == status["loadBalancer"]:
            return None
        try:
            await self.client.merge_patch(self.ingresses.rt, *key, {"status": status}, "status")
        except ApiFailure as e:
            if e.status in (403, 404):
                return None
            raise
        return None
