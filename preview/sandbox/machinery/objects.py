"""Small helpers over Kubernetes objects as plain dicts (the shared ones live in preview.kube)."""

from __future__ import annotations

from typing import Any

from preview.kube.objects import clone, dig, micro_now, now, parse_time

__all__ = ["clone", "dig", "labels", "meta", "micro_now", "now", "parse_time"]


def meta(obj: dict[str, Any]) -> dict[str, Any]:
    m = obj.get("metadata")
    if not isinstance(m, dict):
        m = {}
        obj["metadata"] = m
    return m


def labels(obj: dict[str, Any]) -> dict[str, str]:
    return obj.get("metadata", {}).get("labels") or {}
