"""Every virtual cluster on a host: found by the chart's labels on its StatefulSet, and by
its helm release (an install that failed may have made no StatefulSet at all)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from preview import naming
from preview.kube.client import Forbidden, KubeClient
from preview.kube.host import HostCluster
from preview.kube.objects import parse_time
from preview.kube.resources import NAMESPACES, STATEFULSETS
from preview.vcluster import find
from preview.vcluster.model import PART_OF, VCluster

SELECTOR = f"app.kubernetes.io/name=vcluster,app.kubernetes.io/part-of={PART_OF}"
# Namespace labels worth showing: who a virtual cluster belongs to.
OWNER_LABEL_PREFIX = naming.PREFIX
_HELM_TIME = "%Y-%m-%d %H:%M:%S"


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


def with_release(row: VCluster, release: dict[str, Any] | None) -> VCluster:
    """A row completed by its helm release: a failed release is `Failed` (pure)."""
    if release is None:
        return row
    status = "Failed" if release.get("status") == "failed" else row.status
    return dataclasses.replace(row, status=status, release=str(release.get("status", "")),
                               revision=int(release.get("revision") or 0),
                               chart=str(release.get("chart", "")))


def release_only(release: dict[str, Any], namespace_labels: dict[str, str],
                 now: dt.datetime) -> VCluster:
    """A row for a release of ours without a StatefulSet (pure): still being installed
    (`pending-*`), or `Failed` (its install failed, or the StatefulSet is gone)."""
    updated = str(release.get("updated", ""))
    try:
        when = dt.datetime.strptime(updated[:19], _HELM_TIME).replace(tzinfo=dt.UTC)
        created, age = when.strftime("%Y-%m-%dT%H:%M:%SZ"), int((now - when).total_seconds())
    except ValueError:
        created, age = "", 0
    pending = str(release.get("status", "")).startswith("pending")
    row = VCluster(name=str(release["name"]), namespace=str(release["namespace"]), ready=False,
                   status="Starting" if pending else "Failed", created=created,
                   age_seconds=max(age, 0),
                   labels={k: v for k, v in namespace_labels.items()
                           if k.startswith(OWNER_LABEL_PREFIX)})
    return dataclasses.replace(with_release(row, release), status=row.status)


async def list_vclusters(host: HostCluster, namespace: str | None = None,
                         with_helm: bool = False) -> list[VCluster]:
    """Rows sorted by namespace and name. `with_helm` also asks helm (of the same host) for
    failed installs."""
    async with host.client() as kube:
        return await _list(host, kube, namespace, with_helm)


async def _list(host: HostCluster, kube: KubeClient, namespace: str | None,
                with_helm: bool) -> list[VCluster]:
    listed = await kube.list(STATEFULSETS, namespace, SELECTOR)
    now = dt.datetime.now(dt.UTC)
    labels_by_ns: dict[str, dict[str, str]] = {}

    async def labels_of(ns: str) -> dict[str, str]:
        if ns not in labels_by_ns:
            try:
                found = await kube.get(NAMESPACES, None, ns)
            except Forbidden:
                found = None  # may list StatefulSets but not read namespaces: no owner labels
            labels_by_ns[ns] = ((found or {}).get("metadata") or {}).get("labels") or {}
        return labels_by_ns[ns]

    releases = {(r["namespace"], r["name"]): r for r in
                (await find.releases(host, namespace) if with_helm else [])}
    rows = []
    for sts in listed.get("items") or []:
        row = summarize(sts, await labels_of(sts["metadata"]["namespace"]), now)
        rows.append(with_release(row, releases.pop((row.namespace, row.name), None)))
    for release in releases.values():
        if await find.is_ours(host, release):
            rows.append(release_only(release, await labels_of(release["namespace"]), now))
    return sorted(rows, key=lambda r: (r.namespace, r.name))
