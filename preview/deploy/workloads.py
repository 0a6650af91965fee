"""Finding a release's workloads and their pods in the virtual cluster (reads only)."""

from __future__ import annotations

from typing import Any

from preview.deploy.status import selector_string
from preview.errors import PreviewError
from preview.kube.client import KubeClient, Resource
from preview.kube.resources import PODS, REPLICASETS, WORKLOADS

KINDS: dict[str, Resource] = WORKLOADS
DEFAULT_KINDS = tuple(KINDS)
REVISION = "deployment.kubernetes.io/revision"
# What helm (v3 and v4) writes on every object it manages.
RELEASE_NAME = "meta.helm.sh/release-name"
RELEASE_NAMESPACE = "meta.helm.sh/release-namespace"
INSTANCE = "app.kubernetes.io/instance"


def check_kinds(kinds: tuple[str, ...]) -> tuple[str, ...]:
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        raise PreviewError(f"preview.yaml: readiness.kinds: cannot wait for {', '.join(unknown)}",
                           f"use some of {', '.join(KINDS)}")
    return kinds


def of_release(obj: dict[str, Any], release: str, namespace: str) -> bool:
    """Whether helm's release `release` owns `obj` (its annotations, or the common label)."""
    meta = obj["metadata"]
    annotations, labels = meta.get("annotations") or {}, meta.get("labels") or {}
    if annotations.get(RELEASE_NAME) == release:
        return annotations.get(RELEASE_NAMESPACE, namespace) == namespace
    return labels.get(INSTANCE) == release


async def release_workloads(kube: KubeClient, namespace: str, release: str,
                            kinds: tuple[str, ...]) -> list[dict[str, Any]]:
    """The release's workloads of `kinds`, each with `kind` set, in a stable order."""
    found = []
    for kind in kinds:
        items = (await kube.list(KINDS[kind], namespace)).get("items") or []
        for obj in items:
            if of_release(obj, release, namespace):
                found.append({**obj, "kind": kind})
    return sorted(found, key=lambda o: (kinds.index(o["kind"]), o["metadata"]["name"]))


async def pods_of(kube: KubeClient, namespace: str, workload: dict[str, Any]
                  ) -> list[dict[str, Any]]:
    """The pods a workload's selector selects ([] without a selector); for a Deployment only
    those of its current ReplicaSet, so a previous, broken revision's pods that are on their
    way out are not mistaken for the new revision failing."""
    selector = selector_string((workload.get("spec") or {}).get("selector"))
    if not selector:
        return []
    if workload.get("kind") == "Deployment":
        current = await _current_template_hash(kube, namespace, workload, selector)
        if current:
            selector += f",pod-template-hash={current}"
    items: list[dict[str, Any]] = (await kube.list(PODS, namespace, label_selector=selector)
                                   ).get("items") or []
    return sorted(items, key=lambda p: p["metadata"]["name"])


async def _current_template_hash(kube: KubeClient, namespace: str, deployment: dict[str, Any],
                                 selector: str) -> str:
    meta = deployment["metadata"]
    revision = (meta.get("annotations") or {}).get(REVISION)
    if not revision:
        return ""
    sets = (await kube.list(REPLICASETS, namespace, label_selector=selector)).get("items") or []
    for rs in sets:
        rs_meta = rs["metadata"]
        owned = any(o.get("uid") == meta.get("uid") for o in rs_meta.get("ownerReferences") or [])
        if owned and (rs_meta.get("annotations") or {}).get(REVISION) == revision:
            return str((rs_meta.get("labels") or {}).get("pod-template-hash", ""))
    return ""


async def release_pods(kube: KubeClient, namespace: str, release: str) -> list[dict[str, Any]]:
    """Pods of the release's workloads; every pod in the namespace when it has none."""
    workloads = await release_workloads(kube, namespace, release, DEFAULT_KINDS)
    if not workloads:
        items: list[dict[str, Any]] = (await kube.list(PODS, namespace)).get("items") or []
        return sorted(items, key=lambda p: p["metadata"]["name"])
    seen: dict[str, dict[str, Any]] = {}
    for workload in workloads:
        for pod in await pods_of(kube, namespace, workload):
            seen.setdefault(pod["metadata"]["name"], pod)
    return [seen[name] for name in sorted(seen)]
