"""The synced kinds: declarations for the generic reconcile, and the three that differ.

ConfigMaps, Secrets, Services, Endpoints, claims and Ingresses are `Kind` declarations
(engine/kind.py) reconciled by engine/reconcile.py; pods, nodes and events have their own
reconcile (the syncer is the pods' kubelet and the nodes' and events' source).
"""

from __future__ import annotations

from functools import partial

from preview.syncer.engine.kind import Kind
from preview.syncer.engine.reconcile import reconcile
from preview.syncer.engine.state import State
from preview.syncer.engine.workers import Reconcile
from preview.syncer.kinds import events, nodes, pods
from preview.syncer.kinds.configs import CONFIGMAP_KIND, SECRET_KIND
from preview.syncer.kinds.endpoints import ENDPOINTS_KIND
from preview.syncer.kinds.ingresses import INGRESS_KIND
from preview.syncer.kinds.services import SERVICE_KIND
from preview.syncer.kinds.volumes import PVC_KIND

DECLARED: dict[str, Kind] = {k.name: k for k in (
    CONFIGMAP_KIND, SECRET_KIND, SERVICE_KIND, ENDPOINTS_KIND, PVC_KIND, INGRESS_KIND)}


async def _declared(st: State, kind: Kind, namespace: str, name: str) -> float | None:
    await reconcile(st, kind, namespace, name)
    return None


def reconcilers(st: State) -> dict[str, Reconcile]:
    """The reconcile function of every kind this syncer handles, bound to its state."""
    table: dict[str, Reconcile] = {
        "pods": partial(pods.reconcile, st),
        "nodes": partial(nodes.reconcile, st),
        "events": partial(events.reconcile, st),
        **{name: partial(_declared, st, kind) for name, kind in DECLARED.items()},
    }
    return {kind: fn for kind, fn in table.items()
            if kind in ("nodes", "events") or kind in st.options.kinds}
