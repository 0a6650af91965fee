"""The resources the syncer reads and writes: the catalog's (preview/kube/resources.py)."""

from __future__ import annotations

from preview.kube.client import Resource
from preview.kube.resources import (
    CONFIGMAPS,
    ENDPOINTS,
    EVENTS,
    INGRESSES,
    NODES,
    PODS,
    PVCS,
    PVS,
    SECRETS,
    SERVICES,
    SYNCED_KINDS,
)

__all__ = ["CONFIGMAPS", "ENDPOINTS", "EVENTS", "INGRESSES", "KINDS", "NODES", "PODS", "PVCS",
           "PVS", "SECRETS", "SERVICES"]

# Synced kinds (as used in work-queue keys and `--sync`) -> resource: the catalog's, so the
# deleters (`vcluster delete`, the GC) iterate the same list.
KINDS: dict[str, Resource] = SYNCED_KINDS
