"""Conversion between the representations of one stored object served in several API groups.

The real server stores core/v1 and events.k8s.io/v1 Events in one storage, so an event
written through either group is read through both. We store the core/v1 form and convert
at the edges; field correspondence from `k8s.io/kubernetes/pkg/apis/events/v1`.
"""

from __future__ import annotations

from typing import Any

from preview.sandbox.machinery.resources import ResourceType

# events.k8s.io/v1 field -> core/v1 field
_EVENT_FIELDS = {
    "regarding": "involvedObject",
    "note": "message",
    "deprecatedSource": "source",
    "deprecatedFirstTimestamp": "firstTimestamp",
    "deprecatedLastTimestamp": "lastTimestamp",
    "deprecatedCount": "count",
    "reportingController": "reportingComponent",
}
_SAME = ("metadata", "eventTime", "series", "reportingInstance", "action", "reason", "related",
         "type")


def to_storage(rt: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
    if rt.group == "events.k8s.io":
        out = {k: obj[k] for k in _SAME if k in obj}
        for new, old in _EVENT_FIELDS.items():
            if new in obj:
                out[old] = obj[new]
        out["apiVersion"], out["kind"] = "v1", "Event"
        return out
    return obj


def from_storage(rt: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
    if rt.group == "events.k8s.io":
        out = {k: obj[k] for k in _SAME if k in obj}
        for new, old in _EVENT_FIELDS.items():
            if old in obj:
                out[new] = obj[old]
        out["apiVersion"], out["kind"] = rt.api_version, rt.kind
        return out
    if obj.get("apiVersion") != rt.api_version:
        # Custom resources served in several versions share storage; "None" conversion
        # only rewrites apiVersion, as the real server does for strategy None.
        obj = dict(obj)
        obj["apiVersion"] = rt.api_version
    return obj
