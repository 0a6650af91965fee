"""Recording core/v1 Events about objects, as client-go's event recorder does.

Repeats of the same (object, reason, message) within the process bump `count` and
`lastTimestamp` of one Event instead of creating another (the recorder's correlator).
"""

from __future__ import annotations

import logging
import secrets
from typing import Any, Protocol

from preview.kube.client import ApiError, NotFound
from preview.kube.objects import micro_now, now

log = logging.getLogger(__name__)
_EVENTS_PATH = "/api/v1/namespaces/{namespace}/events"


class Requester(Protocol):
    """What the recorder needs of a client: one JSON request (both our clients have it)."""

    async def request(self, method: str, path: str, body: Any = None,
                      content_type: str = "application/json") -> Any: ...


class EventRecorder:
    def __init__(self, client: Requester, component: str, host: str = "") -> None:
        self.client = client
        self.component = component
        self.host = host
        self._seen: dict[tuple[str, str, str], tuple[str, int]] = {}

    async def record(self, obj: dict[str, Any], event_type: str, reason: str,
                     message: str) -> None:
        """Best effort, as the real recorder: a failure to record is logged, never raised."""
        meta = obj["metadata"]
        namespace = meta.get("namespace") or "default"
        key = (meta.get("uid", ""), reason, message)
        stamp = now()
        try:
            seen = self._seen.get(key)
            if seen is not None:
                name, count = seen
                await self.client.request(
                    "PATCH", f"{_EVENTS_PATH.format(namespace=namespace)}/{name}",
                    {"count": count + 1, "lastTimestamp": stamp},
                    "application/merge-patch+json")
                self._seen[key] = (name, count + 1)
                return
            name = f"{meta['name']}.{secrets.token_hex(8)}"
            source: dict[str, str] = {"component": self.component}
            if self.host:
                source["host"] = self.host
            await self.client.request("POST", _EVENTS_PATH.format(namespace=namespace), {
                "apiVersion": "v1", "kind": "Event",
                "metadata": {"name": name, "namespace": namespace},
                "involvedObject": {"apiVersion": obj.get("apiVersion", ""),
                                   "kind": obj.get("kind", ""), "name": meta["name"],
                                   "namespace": meta.get("namespace", ""),
                                   "uid": meta.get("uid", ""),
                                   "resourceVersion": meta.get("resourceVersion", "")},
                "reason": reason, "message": message, "type": event_type,
                "source": source, "count": 1, "firstTimestamp": stamp,
                "lastTimestamp": stamp, "eventTime": micro_now(),
                "reportingComponent": self.component,
                "reportingInstance": self.host or self.component})
            if len(self._seen) > 10000:
                self._seen.clear()
            self._seen[key] = (name, 1)
        except NotFound as e:
            self._seen.pop(key, None)  # the event (or its namespace) is gone
            log.debug("could not record event %s on %s/%s: %s", reason, namespace,
                      meta["name"], e)
        except ApiError as e:
            log.debug("could not record event %s on %s/%s: %s", reason, namespace,
                      meta["name"], e)
