"""The synced kinds: one declaration each, and the reconcilers built from them.

Every kind of `preview.kube.resources.SYNCED_KINDS` (the names `--sync` takes, the list the
deleters iterate) is a `Kind` (engine/kind.py) in KINDS: what it translates, syncs,
references, needs on the host and whether host Events about it come back. ConfigMaps,
Secrets, Services, Endpoints, claims and Ingresses use the generic reconcile
(engine/reconcile.py); pods bring their own (the syncer is their kubelet). Nodes and events
are not synced to the host, so not kinds: they have a reconcile of their own.

Adding a kind: its module here, its entry in SYNCED_KINDS and in KINDS below, and the chart's
`sync.kinds` (values, schema, Role) — tests/syncer/test_kinds.py and
tests/charts/test_vcluster_chart.py fail until all agree.
"""

from __future__ import annotations

from functools import partial

from preview.syncer.engine.kind import Kind
from preview.syncer.engine.reconcile import reconcile
from preview.syncer.engine.state import State
from preview.syncer.engine.workers import Reconcile
from preview.syncer.kinds import events, nodes
from preview.syncer.kinds.configs import CONFIGMAP_KIND, SECRET_KIND
from preview.syncer.kinds.endpoints import ENDPOINTS_KIND
from preview.syncer.kinds.ingresses import INGRESS_KIND
from preview.syncer.kinds.podsync import POD_KIND
from preview.syncer.kinds.services import SERVICE_KIND
from preview.syncer.kinds.volumes import PVC_KIND

KINDS: dict[str, Kind] = {k.name: k for k in (
    POD_KIND, SERVICE_KIND, ENDPOINTS_KIND, CONFIGMAP_KIND, SECRET_KIND, PVC_KIND,
    INGRESS_KIND)}
# Host kinds whose Events are copied back -> the synced kind holding their copies.
EVENTS_ABOUT: dict[str, str] = {k.resource.kind: k.name for k in KINDS.values() if k.events}


async def _generic(st: State, kind: Kind, namespace: str, name: str) -> float | None:
    await reconcile(st, kind, namespace, name)
    return None


def reconcilers(st: State) -> dict[str, Reconcile]:
    """The reconcile function of every kind this syncer handles, bound to its state."""
    table: dict[str, Reconcile] = {
        "nodes": partial(nodes.reconcile, st),
        "events": partial(events.reconcile, st, EVENTS_ABOUT),
    }
    for name, kind in KINDS.items():
        if name in st.options.kinds:
            table[name] = partial(kind.reconcile, st) if kind.reconcile is not None \
                else partial(_generic, st, kind)
    return table
