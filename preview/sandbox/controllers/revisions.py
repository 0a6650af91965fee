"""ControllerRevisions: the template history of StatefulSets and DaemonSets.

As `pkg/controller/history`: a revision is named `<owner>-<template hash>`, carries the
template as a patch (`data.spec.template` with `$patch: replace`, what `kubectl rollout
undo` applies back), a `revision` number one above the highest, and the owner's
controllerRef. Going back to an earlier template re-numbers that revision as the newest.
"""

from __future__ import annotations

from typing import Any

from preview.sandbox.controllers.podutil import controller_of, owner_reference
from preview.sandbox.controllers.workload import compute_hash
from preview.sandbox.machinery.objects import clone

HASH_LABEL = "controller.kubernetes.io/hash"


def owned(owner: dict[str, Any], revisions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    uid = owner["metadata"]["uid"]
    return sorted((r for r in revisions if (controller_of(r) or {}).get("uid") == uid),
                  key=lambda r: int(r.get("revision") or 0))


def template_hash(owner: dict[str, Any]) -> str:
    collisions = int((owner.get("status") or {}).get("collisionCount") or 0)
    return compute_hash(owner["spec"]["template"], collisions or None)


def new_revision(owner: dict[str, Any], number: int) -> dict[str, Any]:
    pod_hash = template_hash(owner)
    selector = ((owner.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    template = clone(owner["spec"]["template"])
    template["$patch"] = "replace"
    return {"apiVersion": "apps/v1", "kind": "ControllerRevision", "metadata": {
        "name": f"{owner['metadata']['name']}-{pod_hash}",
        "namespace": owner["metadata"].get("namespace", ""),
        "labels": {**selector, HASH_LABEL: pod_hash},
        "ownerReferences": [owner_reference(owner)]},
        "data": {"spec": {"template": template}}, "revision": number}


def template_of(revision: dict[str, Any]) -> dict[str, Any] | None:
    template = ((revision.get("data") or {}).get("spec") or {}).get("template")
    if not isinstance(template, dict):
        return None
    return {k: v for k, v in template.items() if k != "$patch"}


def next_number(revisions: list[dict[str, Any]]) -> int:
    return max((int(r.get("revision") or 0) for r in revisions), default=0) + 1


def to_prune(owner: dict[str, Any], revisions: list[dict[str, Any]],
             in_use: set[str]) -> list[dict[str, Any]]:
    """Revisions beyond `revisionHistoryLimit` that no pod and no status still names."""
    limit = int((owner.get("spec") or {}).get("revisionHistoryLimit", 10))
    idle = [r for r in revisions if r["metadata"]["name"] not in in_use]
    return idle[:max(0, len(idle) - limit)]
