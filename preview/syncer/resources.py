"""The resources the syncer reads and writes: the catalog's (preview/kube/resources.py).

Which of them are synced is the catalog's SYNCED_KINDS, each declared in kinds/.
"""

from __future__ import annotations

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
)

__all__ = ["CONFIGMAPS", "ENDPOINTS", "EVENTS", "INGRESSES", "NODES", "PODS", "PVCS", "PVS",
           "SECRETS", "SERVICES"]
