"""Ingresses: the preview URL. Backends and TLS secrets point at the host copies."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from preview import naming
from preview.syncer.context import SyncContext
from preview.syncer.kinds import copies
from preview.syncer.objects import clone, host_metadata
from preview.syncer.resources import INGRESSES

if TYPE_CHECKING:
    from preview.syncer.syncer import Syncer


def translate(virtual_ing: dict[str, Any], ctx: SyncContext) -> dict[str, Any]:
    namespace = virtual_ing["metadata"]["namespace"]
    spec = clone(virtual_ing.get("spec") or {})

    def backend(b: dict[str, Any] | None) -> None:
        if b and b.get("service", {}).get("name"):
            b["service"]["name"] = naming.host_name(b["service"]["name"], namespace,
                                                   ctx.vcluster, naming.DNS_LABEL_MAX)

    backend(spec.get("defaultBackend"))
    for rule in spec.get("rules") or []:
        for path in (rule.get("http") or {}).get("paths") or []:
            backend(path.get("backend"))
    for tls in spec.get("tls") or []:
        if tls.get("secretName"):
            tls["secretName"] = naming.host_name(tls["secretName"], namespace, ctx.vcluster)
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": host_metadata(virtual_ing, ctx), "spec": spec}


def tls_secrets(virtual_ing: dict[str, Any]) -> set[str]:
    return {t["secretName"] for t in (virtual_ing.get("spec") or {}).get("tls") or []
            if t.get("secretName")}


async def reconcile(s: Syncer, namespace: str, name: str) -> float | None:
    virtual = s.virtual_informers["ingresses"].get(namespace, name)
    host_name = naming.host_name(name, namespace, s.ctx.vcluster)
    host = copies.host_copy(s, "ingresses", host_name)
    if virtual is None or virtual["metadata"].get("deletionTimestamp"):
        if host is not None and await copies.virtual_gone_or_unwanted(s, INGRESSES, namespace,
                                                                      name, virtual):
            await copies.delete_owned(s, INGRESSES, host)
        return None
    wanted = translate(virtual, s.ctx)
    if host is None:
        await copies.create(s, INGRESSES, virtual, wanted)
        return None
    if host.get("spec") != wanted["spec"]:
        await s.host.replace(INGRESSES, s.ctx.host_namespace, host_name,
                             {**host, "spec": wanted["spec"]})
    status = clone(host.get("status") or {})
    if status and (virtual.get("status") or {}) != status:
        await s.virtual.replace(INGRESSES, namespace, name, {**virtual, "status": status},
                                "status")
    return None
