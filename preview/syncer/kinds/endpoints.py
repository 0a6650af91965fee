"""Endpoints of selector-less virtual Services: copied to the host as the user wrote them.

Services with a selector get their host Endpoints from the host's own endpoints controller
(the translated selector matches the translated pods); those are never touched here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from preview import naming
from preview.syncer.context import SyncContext
from preview.syncer.kinds import copies
from preview.syncer.objects import clone, host_metadata
from preview.syncer.resources import ENDPOINTS

if TYPE_CHECKING:
    from preview.syncer.syncer import Syncer


def translate(virtual_ep: dict[str, Any], ctx: SyncContext) -> dict[str, Any]:
    subsets = clone(virtual_ep.get("subsets") or [])
    for subset in subsets:
        for key in ("addresses", "notReadyAddresses"):
            for address in subset.get(key) or []:
                address.pop("targetRef", None)  # names a virtual object
    meta = host_metadata(virtual_ep, ctx, naming.DNS_LABEL_MAX)
    return {"apiVersion": "v1", "kind": "Endpoints", "metadata": meta, "subsets": subsets}


async def reconcile(s: Syncer, namespace: str, name: str) -> float | None:
    virtual = s.virtual_informers["endpoints"].get(namespace, name)
    service = s.virtual_informers["services"].get(namespace, name) \
        if "services" in s.virtual_informers else None
    host_name = naming.host_name(name, namespace, s.ctx.vcluster, naming.DNS_LABEL_MAX)
    host = copies.host_copy(s, "endpoints", host_name)
    selectorless = service is not None and not (service.get("spec") or {}).get("selector")
    if virtual is None or not selectorless:
        if host is not None and await copies.virtual_gone_or_unwanted(s, ENDPOINTS, namespace,
                                                                      name, virtual):
            await copies.delete_owned(s, ENDPOINTS, host)
        return None
    wanted = translate(virtual, s.ctx)
    if host is None:
        await copies.create(s, ENDPOINTS, virtual, wanted)
    elif host.get("subsets") != wanted["subsets"]:
        await s.host.replace(ENDPOINTS, s.ctx.host_namespace, host_name,
                             {**host, "subsets": wanted["subsets"]})
    return None
