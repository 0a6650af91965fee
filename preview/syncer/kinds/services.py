"""Services: the host Service is the one that gets a cluster IP; the virtual one mirrors it.

A virtual Service becomes a host Service selecting the translated pods of the same virtual
namespace (the selector gains the ownership labels the translated pods carry). The host
allocates the cluster IP first; the syncer then gives that IP to the virtual Service
(recreating it, as `spec.clusterIP` is immutable), so one IP works inside and outside.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

from preview import naming
from preview.kube.client import ApiError, NotFound
from preview.syncer.context import SyncContext
from preview.syncer.kinds import copies
from preview.syncer.objects import clone, host_metadata
from preview.syncer.resources import SERVICES

if TYPE_CHECKING:
    from preview.syncer.syncer import Syncer

# Allocated by each API server on its own: never copied across.
_ALLOCATED = ("clusterIP", "clusterIPs", "healthCheckNodePort")


def host_selector(selector: dict[str, str], namespace: str, ctx: SyncContext) -> dict[str, str]:
    """The host selector matching exactly the translated pods the virtual selector matches."""
    ownership = naming.ownership_labels(ctx.vcluster, namespace)
    return {**selector, naming.VCLUSTER: ownership[naming.VCLUSTER],
            naming.VIRTUAL_NAMESPACE: ownership[naming.VIRTUAL_NAMESPACE]}


def translate(virtual_svc: dict[str, Any], ctx: SyncContext) -> dict[str, Any]:
    """The host Service for a virtual Service."""
    namespace = virtual_svc["metadata"]["namespace"]
    spec = clone(virtual_svc.get("spec") or {})
    headless = spec.get("clusterIP") == "None"
    for key in _ALLOCATED:
        spec.pop(key, None)
    if headless:
        spec["clusterIP"] = "None"
    for port in spec.get("ports") or []:
        port.pop("nodePort", None)  # the host allocates its own node ports
    if spec.get("selector"):
        spec["selector"] = host_selector(spec["selector"], namespace, ctx)
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": host_metadata(virtual_svc, ctx, naming.DNS_LABEL_MAX), "spec": spec}


def spec_changes(virtual_svc: dict[str, Any], host_svc: dict[str, Any],
                 ctx: SyncContext) -> dict[str, Any] | None:
    """A merge patch bringing the host Service in line with the virtual one, or None."""
    wanted = translate(virtual_svc, ctx)["spec"]
    current = host_svc.get("spec") or {}
    patch: dict[str, Any] = {}
    for key, value in wanted.items():
        if key == "ports":
            value = _with_host_node_ports(value, current.get("ports") or [])
        if current.get(key) != value:
            patch[key] = value
    for key in current:
        if key not in wanted and key not in (*_ALLOCATED, "ports", "sessionAffinity", "type",
                                             "ipFamilies", "ipFamilyPolicy",
                                             "internalTrafficPolicy"):
            patch[key] = None
    return {"spec": patch} if patch else None


def _with_host_node_ports(wanted: list[dict[str, Any]],
                          current: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by_name = {(p.get("name"), p.get("port")): p.get("nodePort") for p in current}
    out = []
    for port in wanted:
        node_port = by_name.get((port.get("name"), port.get("port")))
        out.append({**port, "nodePort": node_port} if node_port else port)
    return out


def needs_cluster_ip(virtual_svc: dict[str, Any], host_svc: dict[str, Any]) -> bool:
    """Whether the virtual Service must be recreated to carry the host's cluster IP."""
    host_ip = (host_svc.get("spec") or {}).get("clusterIP")
    virtual_ip = (virtual_svc.get("spec") or {}).get("clusterIP")
    return bool(host_ip) and host_ip != "None" and virtual_ip != host_ip


def with_cluster_ip(virtual_svc: dict[str, Any], host_svc: dict[str, Any]) -> dict[str, Any]:
    """The virtual Service to recreate, asking for the host's cluster IP."""
    out = clone(virtual_svc)
    meta = out["metadata"]
    for key in ("uid", "resourceVersion", "creationTimestamp", "managedFields",
                "deletionTimestamp", "generation"):
        meta.pop(key, None)
    spec = out.setdefault("spec", {})
    ip = host_svc["spec"]["clusterIP"]
    spec["clusterIP"], spec["clusterIPs"] = ip, [ip]
    out.pop("status", None)
    return out


def virtual_status(host_svc: dict[str, Any]) -> dict[str, Any]:
    """Status to copy back: the load balancer's address(es)."""
    return clone(host_svc.get("status") or {})


# -- reconcile (I/O) -----------------------------------------------------------------------------
async def reconcile(s: Syncer, namespace: str, name: str) -> float | None:

    virtual = s.virtual_informers["services"].get(namespace, name)
    host_name = naming.host_name(name, namespace, s.ctx.vcluster, naming.DNS_LABEL_MAX)
    host = copies.host_copy(s, "services", host_name)
    if virtual is None or virtual["metadata"].get("deletionTimestamp"):
        if host is not None and await copies.virtual_gone_or_unwanted(s, SERVICES, namespace,
                                                                      name, virtual):
            await copies.delete_owned(s, SERVICES, host)
        return None
    if host is None:
        host = await copies.create(s, SERVICES, virtual, translate(virtual, s.ctx))
        if host is None:
            return None
    else:
        patch = spec_changes(virtual, host, s.ctx)
        if patch is not None:
            host = await s.host.patch(SERVICES, s.ctx.host_namespace, host_name, patch)
    if needs_cluster_ip(virtual, host):
        await _take_host_ip(s, virtual, host)
        return None
    status = virtual_status(host)
    if (virtual.get("status") or {}) != status:
        with contextlib.suppress(NotFound):
            await s.virtual.replace(SERVICES, namespace, name, {**virtual, "status": status},
                                    "status")
    return None


async def _take_host_ip(s: Syncer, virtual: dict[str, Any], host: dict[str, Any]) -> None:
    """Recreate the virtual Service with the host's cluster IP (clusterIP is immutable).

    If the virtual API server refuses the IP, the original Service is recreated as it was
    (with a fresh IP of its own) and the reason recorded: nothing is lost.
    """

    meta = virtual["metadata"]
    namespace, name = meta["namespace"], meta["name"]
    wanted = with_cluster_ip(virtual, host)
    if not await s.virtual.delete(SERVICES, namespace, name, uid=meta.get("uid")):
        return  # changed or gone meanwhile: the next event brings us back
    try:
        await s.virtual.create(SERVICES, namespace, wanted)
    except ApiError as e:
        original = with_cluster_ip(virtual, {"spec": {"clusterIP": ""}})
        original["spec"].pop("clusterIP", None)
        original["spec"].pop("clusterIPs", None)
        restored = await s.virtual.create(SERVICES, namespace, original)
        await s.recorder.record(restored, "Warning", "ClusterIPNotSynced",
                                f"could not give this Service the host's cluster IP "
                                f"{host['spec']['clusterIP']}: {e.message}")
