"""Events: what the host says about a synced object is said again about the virtual one.

The host's scheduler, kubelet and controllers explain themselves in Events (FailedScheduling,
ImagePullBackOff, …) about the *host* copies; `kubectl describe` in the virtual cluster shows
them on the virtual object. Only events about objects this virtual cluster owns are copied,
so nothing about a neighbour leaks in, and only about the kinds that declare `events`
(kinds/__init__.py hands the table in as `about`). Work-queue keys are
`("events", "", <host event>)`: the event's identity is the host's.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from preview import naming
from preview.kube.client import AlreadyExists, NotFound
from preview.kube.objects import parse_time
from preview.syncer.engine.kind import HostRule
from preview.syncer.resources import EVENTS

if TYPE_CHECKING:
    from preview.syncer.engine.state import State

# Read the host's Events in the host namespace (the informer); nothing is written there.
HOST_RULES = (HostRule("", ("events",), ("get", "list", "watch")),)
_COPIED = ("reason", "message", "type", "count", "firstTimestamp", "lastTimestamp",
           "eventTime", "source", "reportingComponent", "reportingInstance", "action", "series")


def virtual_name(host_event_name: str, virtual_object: str) -> str:
    """A stable name for the copy, readable in `kubectl get events` (pure)."""
    digest = hashlib.sha256(host_event_name.encode()).hexdigest()[:16]
    return f"{virtual_object[:200]}.{digest}"


def translate(host_event: dict[str, Any], virtual_obj: dict[str, Any],
              host_namespace: str) -> dict[str, Any]:
    """The virtual Event: the host event's story, about the virtual object (pure)."""
    meta = virtual_obj["metadata"]
    involved = host_event.get("involvedObject") or {}
    out: dict[str, Any] = {
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": virtual_name(host_event["metadata"]["name"], meta["name"]),
                     "namespace": meta["namespace"]},
        "involvedObject": {"apiVersion": virtual_obj.get("apiVersion", involved.get(
                               "apiVersion", "")),
                           "kind": involved.get("kind", virtual_obj.get("kind", "")),
                           "name": meta["name"], "namespace": meta["namespace"],
                           "uid": meta.get("uid", "")},
    }
    if involved.get("fieldPath"):
        out["involvedObject"]["fieldPath"] = involved["fieldPath"]
    for key in _COPIED:
        if host_event.get(key) is not None:
            out[key] = host_event[key]
    # Name the virtual object where the host named its copy ("Successfully assigned ns/x …").
    host_name = involved.get("name") or "\0"
    message = str(out.get("message", ""))
    message = message.replace(f"{host_namespace}/{host_name}",
                              f"{meta['namespace']}/{meta['name']}")
    out["message"] = message.replace(host_name, meta["name"])
    return out


def virtual_object(s: State, host_event: dict[str, Any],
                   about: Mapping[str, str]) -> dict[str, Any] | None:
    """The virtual object whose host copy the event is about, if this cluster owns it.

    `about`: the host kinds whose events are copied -> the synced kind holding their copies.
    """
    involved = host_event.get("involvedObject") or {}
    kind = about.get(involved.get("kind", ""))
    if kind is None or kind not in s.host_informers:
        return None
    host_obj = s.host_informers[kind].get(s.ctx.host_namespace, involved.get("name", ""))
    if host_obj is None or not naming.is_owned(host_obj, s.ctx.vcluster):
        return None
    annotations = host_obj["metadata"].get("annotations") or {}
    return s.virtual_informers[kind].get(annotations.get(naming.VIRTUAL_NAMESPACE_ANNOTATION, ""),
                                         annotations.get(naming.VIRTUAL_NAME_ANNOTATION, ""))


def _fresh(host_event: dict[str, Any], seconds: float = 30.0) -> bool:
    stamp = host_event.get("lastTimestamp") or host_event.get("eventTime") or ""
    try:
        age = (dt.datetime.now(dt.UTC) - parse_time(str(stamp))).total_seconds()
    except ValueError:
        return False
    return age < seconds


def _maybe_ours(s: State, host_event: dict[str, Any], about: Mapping[str, str]) -> bool:
    """Not known to be someone else's: its object is not (yet) in our caches."""
    involved = host_event.get("involvedObject") or {}
    kind = about.get(involved.get("kind", ""))
    return kind is not None and kind in s.host_informers and \
        s.host_informers[kind].get(s.ctx.host_namespace, involved.get("name", "")) is None


async def reconcile(s: State, about: Mapping[str, str], _namespace: str,
                    name: str) -> float | None:
    host_event = s.host_events.get(s.ctx.host_namespace, name) if s.host_events else None
    if host_event is None:
        return None  # gone on the host: the virtual copy expires with the event TTL
    virtual_obj = virtual_object(s, host_event, about)
    if virtual_obj is None:
        # The event may be about a copy the informers have not seen yet: look again
        # shortly while it is fresh (a one-off event like Scheduled is not repeated).
        return 1.0 if _fresh(host_event) and _maybe_ours(s, host_event, about) else None
    wanted = translate(host_event, virtual_obj, s.ctx.host_namespace)
    ns, event_name = wanted["metadata"]["namespace"], wanted["metadata"]["name"]
    try:
        try:  # most events are new: one call, and a second only when it already exists
            await s.virtual.create(EVENTS, ns, wanted)
            return None
        except AlreadyExists:
            pass
        current = await s.virtual.get(EVENTS, ns, event_name)
        if current is not None and any(current.get(k) != wanted.get(k) for k in _COPIED):
            await s.virtual.replace(EVENTS, ns, event_name, {
                **wanted, "metadata": {**wanted["metadata"],
                                       "resourceVersion": current["metadata"]["resourceVersion"]}})
    except NotFound:  # the virtual namespace is going away
        return None
    return None

