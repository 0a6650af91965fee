"""One module per synced kind: a pure `translate` and an I/O `reconcile`."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from preview.syncer.engine.workers import Reconcile
    from preview.syncer.syncer import Syncer


def reconcilers(s: Syncer) -> dict[str, Reconcile]:
    """The reconcile function of every kind this syncer handles, bound to it."""
    from preview.syncer.kinds import (
        configs,
        endpoints,
        events,
        ingresses,
        nodes,
        pods,
        services,
        volumes,
    )

    table: dict[str, Reconcile] = {
        "pods": partial(pods.reconcile, s),
        "services": partial(services.reconcile, s),
        "endpoints": partial(endpoints.reconcile, s),
        "configmaps": partial(configs.reconcile, s, "configmaps"),
        "secrets": partial(configs.reconcile, s, "secrets"),
        "persistentvolumeclaims": partial(volumes.reconcile, s),
        "ingresses": partial(ingresses.reconcile, s),
        "nodes": partial(nodes.reconcile, s),
        "events": partial(events.reconcile, s),
    }
    return {kind: fn for kind, fn in table.items()
            if kind in ("nodes", "events") or kind in s.options.kinds}
