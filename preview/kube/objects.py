"""Small helpers over Kubernetes objects as plain dicts (what the API speaks)."""

from __future__ import annotations

import datetime as dt
from typing import Any


def clone(value: Any) -> Any:
    """Deep copy of JSON-shaped data (much faster than copy.deepcopy)."""
    if isinstance(value, dict):
        return {k: clone(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clone(v) for v in value]
    return value


def now() -> str:
    """The current time as Kubernetes serialises `metav1.Time` (RFC 3339, seconds, UTC)."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def micro_now() -> str:
    """`metav1.MicroTime`, as used by Events' eventTime and Leases."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def dig(obj: Any, *path: str, default: Any = None) -> Any:
    """obj[path[0]][path[1]]…, or `default` where the path ends early."""
    for p in path:
        if not isinstance(obj, dict) or p not in obj:
            return default
        obj = obj[p]
    return obj
