"""Services: the host Service is the one that gets a cluster IP; the virtual one mirrors it.

A virtual Service becomes a host Service selecting the translated pods of the same virtual
namespace (the selector gains the ownership labels the translated pods carry). The host
allocates the cluster IP first; the syncer then gives that IP to the virtual Service
(recreating it, as `spec.clusterIP` is immutable), so one IP works inside and outside.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from preview import naming
from preview.kube.client import ApiError
from preview.syncer import policy
from preview.syncer.context import SyncContext
from preview.syncer.engine.kind import Kind, Obj, Translation
from preview.syncer.engine.reconcile import host_status
from preview.syncer.objects import clone, host_metadata, reserved_violations
from preview.syncer.resources import SERVICES

if TYPE_CHECKING:
    from preview.syncer.engine.state import State

# Allocated by each API server on its own: never copied across.
_ALLOCATED = ("clusterIP", "clusterIPs", "healthCheckNodePort")
# What the host allocated or defaulted that the translation does not say: kept as it is.
_HOST_KEEPS = ("clusterIP", "clusterIPs", "healthCheckNodePort", "ipFamilies", "ipFamilyPolicy")


def host_selector(selector: dict[str, str], namespace: str, ctx: SyncContext) -> dict[str, str]:
    """The host selector matching exactly the translated pods the virtual selector matches."""
    ownership = naming.ownership_labels(ctx.vcluster, namespace)
    return {**selector, naming.VCLUSTER: ownership[naming.VCLUSTER],
            naming.VIRTUAL_NAMESPACE: ownership[naming.VIRTUAL_NAMESPACE]}


def translate(virtual_svc: Obj, ctx: SyncContext, _facts: Any = None) -> Translation:
    """The host Service for a virtual Service (policy.service may refuse or strip)."""
    namespace = virtual_svc["metadata"]["namespace"]
    spec = clone(virtual_svc.get("spec") or {})
    headless = spec.get("clusterIP") == "None"
    for key in _ALLOCATED:
        spec.pop(key, None)
    if headless:
        spec["clusterIP"] = "None"
    stripped = [*reserved_violations(virtual_svc),
                *policy.service(spec, ctx.isolation, ctx.cluster_domain)]
    if spec.get("selector"):
        spec["selector"] = host_selector(spec["selector"], namespace, ctx)
    return Translation({"apiVersion": "v1", "kind": "Service",
                        "metadata": host_metadata(virtual_svc, ctx, naming.DNS_LABEL_MAX),
                        "spec": spec}, tuple(stripped))


def keep_allocated(wanted: Obj, host: Obj) -> None:
    """The host's cluster IPs and node ports stay: they are the host's to allocate."""
    spec, current = wanted.setdefault("spec", {}), host.get("spec") or {}
    for key in _HOST_KEEPS:
        if key in current and key not in spec:
            spec[key] = clone(current[key])
    # Ports are told apart by name (required when there are several), else by number.
    node_ports = {p.get("name") or p.get("port"): p.get("nodePort")
                  for p in current.get("ports") or []}
    for port in spec.get("ports") or []:
        allocated = node_ports.get(port.get("name") or port.get("port"))
        if allocated and "nodePort" not in port and spec.get("type") in ("NodePort",
                                                                           "LoadBalancer"):
            port["nodePort"] = allocated


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


async def take_host_ip(st: State, virtual: Obj, host: Obj) -> bool:
    """Give the virtual Service the host's cluster IP when it has another one."""
    if not needs_cluster_ip(virtual, host):
        return False
    await _take_host_ip(st, virtual, host)
    return True


async def _take_host_ip(s: State, virtual: dict[str, Any], host: dict[str, Any]) -> None:
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


SERVICE_KIND = Kind("services", SERVICES, naming.DNS_LABEL_MAX, translate, (("spec",),),
                    keep=keep_allocated, status=host_status(("loadBalancer", "conditions")),
                    after=take_host_ip, replace_on_new_uid=False, events=True)
