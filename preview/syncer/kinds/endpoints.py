"""Endpoints of selector-less virtual Services: copied to the host as the user wrote them.

Services with a selector get their host Endpoints from the host's own endpoints controller
(the translated selector matches the translated pods); those are never touched here. A
selector-less Service's addresses must be this virtual cluster's own pods or Services: else
a tenant could front any host address with a Service (CVE-2021-25740).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from preview import naming
from preview.syncer import policy
from preview.syncer.context import SyncContext
from preview.syncer.engine.kind import Kind, Obj, Translation
from preview.syncer.objects import clone, host_metadata, reserved_violations
from preview.syncer.resources import ENDPOINTS

if TYPE_CHECKING:
    from preview.syncer.engine.state import State


def translate(virtual_ep: Obj, ctx: SyncContext,
              own_ips: frozenset[str] | None = None) -> Translation:
    subsets = clone(virtual_ep.get("subsets") or [])
    if own_ips is not None:
        policy.endpoints(subsets, own_ips, ctx.isolation)
    for subset in subsets:
        for key in ("addresses", "notReadyAddresses"):
            for address in subset.get(key) or []:
                address.pop("targetRef", None)  # names a virtual object
                address.pop("nodeName", None)
    meta = host_metadata(virtual_ep, ctx, naming.DNS_LABEL_MAX)
    return Translation({"apiVersion": "v1", "kind": "Endpoints", "metadata": meta,
                        "subsets": subsets}, tuple(reserved_violations(virtual_ep)))


def own_ips(st: State, _virtual: Obj) -> frozenset[str]:
    """Addresses this virtual cluster owns: its pods' IPs and its Services' cluster IPs."""
    ips: list[str] = []
    pods = st.virtual_informers.get("pods")
    for pod in pods.list() if pods is not None else []:
        status = pod.get("status") or {}
        ips += [status.get("podIP") or "", *(p.get("ip", "") for p in status.get("podIPs") or [])]
    for side in (st.virtual_informers, st.host_informers):
        services = side.get("services")
        for svc in services.list() if services is not None else []:
            spec = svc.get("spec") or {}
            ips += [spec.get("clusterIP") or "", *(spec.get("clusterIPs") or [])]
    return policy.normal_ips(ips)


def _wanted(st: State, virtual: Obj) -> bool:
    services = st.virtual_informers.get("services")
    meta = virtual["metadata"]
    service = services.get(meta["namespace"], meta["name"]) if services is not None else None
    return service is not None and not (service.get("spec") or {}).get("selector")


ENDPOINTS_KIND = Kind("endpoints", ENDPOINTS, naming.DNS_LABEL_MAX, translate, (("subsets",),),
                      wanted=_wanted, facts=own_ips)


