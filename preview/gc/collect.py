"""What the host holds: every managed environment and whether its virtual cluster is ready.

Two list calls however many environments there are: the labelled namespaces (all, or those
of the repositories asked for) and the virtual clusters' StatefulSets across the host.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from preview import naming
from preview.gc.model import HostEnvironment
from preview.kube.client import KubeClient
from preview.kube.objects import dig
from preview.kube.resources import NAMESPACES, STATEFULSETS

# The chart's StatefulSet (charts/vcluster/templates/_helpers.tpl).
VCLUSTER_SELECTOR = ("app.kubernetes.io/name=vcluster,"
                     f"app.kubernetes.io/part-of={naming.MANAGED_BY_VALUE}")


async def collect(host: KubeClient, repos: Sequence[str] = ()) -> list[HostEnvironment]:
    """Every managed environment on the host (of `repos` — owner/name — when given)."""
    namespaces: list[dict[str, Any]] = []
    if repos:
        for repo in repos:
            owner, _, name = repo.partition("/")
            listed = await host.list(NAMESPACES, None, naming.environment_selector(owner, name))
            namespaces.extend(listed.get("items") or [])
    else:
        listed = await host.list(NAMESPACES, None, naming.environment_selector())
        namespaces = listed.get("items") or []
    statefulsets = (await host.list(STATEFULSETS, None, VCLUSTER_SELECTOR)).get("items") or []
    return environments(namespaces, statefulsets)


def environments(namespaces: Sequence[dict[str, Any]],
                 statefulsets: Sequence[dict[str, Any]]) -> list[HostEnvironment]:
    """Join namespaces and StatefulSets (pure)."""
    by_key = {(dig(s, "metadata", "namespace"),
               dig(s, "metadata", "labels", "app.kubernetes.io/instance")): s
              for s in statefulsets}
    found: dict[str, HostEnvironment] = {}
    for ns in namespaces:
        record = naming.read_environment(ns)
        if record is None:  # the selector matched, the contract did not: not ours
            continue
        sts = by_key.get((record.namespace, record.vcluster or record.environment))
        found[record.namespace] = HostEnvironment(
            record=record, uid=str(dig(ns, "metadata", "uid", default="")),
            vcluster=_health(sts),
            deletion_started=str(dig(ns, "metadata", "deletionTimestamp", default="") or ""))
    return [found[name] for name in sorted(found)]


def _health(sts: dict[str, Any] | None) -> str:
    if sts is None:
        return "missing"
    ready = int(dig(sts, "status", "readyReplicas", default=0) or 0)
    wanted = int(dig(sts, "spec", "replicas", default=1) or 0)
    if ready >= 1:
        return "ready"
    return f"not ready ({ready}/{wanted} replicas)"
