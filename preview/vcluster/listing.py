"""Every virtual cluster on a host: found by the chart's labels on its StatefulSet."""

from __future__ import annotations

import datetime as dt
from typing import Any

from preview import naming
from preview.kube.client import ApiError, KubeClient, Resource
from preview.kube.objects import parse_time
from preview.vcluster.model import PART_OF, VCluster

STATEFULSETS = Resource("apps", "v1", "statefulsets", "StatefulSet")
NAMESPACES = Resource("", "v1", "namespaces", "Namespace", namespaced=False)
SELECTOR = f"app.kubernetes.io/name=vcluster,app.kubernetes.io/part-of={PART_OF}"
# Namespace labels worth showing: who a virtual cluster belongs to.
OWNER_LABEL_PREFIX = naming.PREFIX


def summarize(sts: dict[str, Any], namespace_labels: dict[str, str],
              now: dt.datetime) -> VCluster:
    """One list row from a StatefulSet and its namespace's labels (pure)."""
    meta, status = sts["metadata"], sts.get("status") or {}
    ready = status.get("readyReplicas", 0) >= 1
    if ready:
        state = "Running"
    elif status.get("replicas", 0) == 0 and (sts.get("spec") or {}).get("replicas", 1) == 0:
        state = "Paused"
    else:
        state = "Starting"
    created = meta.get("creationTimestamp", "")
    age = int((now - parse_time(created)).total_seconds()) if created else 0
    return VCluster(
        name=(meta.get("labels") or {}).get("app.kubernetes.io/instance", meta["name"]),
        namespace=meta["namespace"], ready=ready, status=state, created=created,
        age_seconds=max(age, 0),
        labels={k: v for k, v in namespace_labels.items() if k.startswith(OWNER_LABEL_PREFIX)})


async def list_vclusters(host: KubeClient, namespace: str | None = None) -> list[VCluster]:
    listed = await host.list(STATEFULSETS, namespace, SELECTOR)
    now = dt.datetime.now(dt.UTC)
    rows = []
    labels_by_ns: dict[str, dict[str, str]] = {}
    for sts in listed.get("items") or []:
        ns = sts["metadata"]["namespace"]
        if ns not in labels_by_ns:
            try:
                found = await host.get(NAMESPACES, None, ns)
            except ApiError as e:
                if e.status != 403:
                    raise
                found = None  # may list StatefulSets but not read namespaces: no owner labels
            labels_by_ns[ns] = ((found or {}).get("metadata") or {}).get("labels") or {}
        rows.append(summarize(sts, labels_by_ns[ns], now))
    return sorted(rows, key=lambda r: (r.namespace, r.name))
