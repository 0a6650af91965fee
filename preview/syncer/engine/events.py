"""Events in the virtual cluster about virtual objects: how the syncer explains itself."""

from __future__ import annotations

import logging
import secrets
from typing import Any

from preview.kube.client import ApiError, KubeClient
from preview.kube.objects import micro_now, now

log = logging.getLogger(__name__)
COMPONENT = "preview-vcluster-syncer"


class EventRecorder:
    """Creates one Event per (object, reason, message); repeats bump its count."""

    def __init__(self, client: KubeClient) -> None:
        self.client = client
        self._seen: dict[tuple[str, str, str], tuple[str, int]] = {}

    async def record(self, obj: dict[str, Any], event_type: str, reason: str,
                     message: str) -> None:
        """Best effort: a failure to record is logged, never raised."""
        meta = obj["metadata"]
        namespace = meta.get("namespace") or "default"
        key = (meta.get("uid", ""), reason, message)
        path = f"/api/v1/namespaces/{namespace}/events"
        stamp = now()
        try:
            seen = self._seen.get(key)
            if seen is not None:
                name, count = seen
                await self.client.request("PATCH", f"{path}/{name}",
                                          {"count": count + 1, "lastTimestamp": stamp},
                                          "application/merge-patch+json")
                self._seen[key] = (name, count + 1)
                return
            name = f"{meta['name']}.{secrets.token_hex(8)}"
            await self.client.request("POST", path, {
                "apiVersion": "v1", "kind": "Event",
                "metadata": {"name": name, "namespace": namespace},
                "involvedObject": {"apiVersion": obj.get("apiVersion", ""),
                                   "kind": obj.get("kind", ""), "name": meta["name"],
                                   "namespace": meta.get("namespace", ""),
                                   "uid": meta.get("uid", "")},
                "reason": reason, "message": message, "type": event_type,
                "source": {"component": COMPONENT}, "count": 1,
                "firstTimestamp": stamp, "lastTimestamp": stamp, "eventTime": micro_now(),
                "reportingComponent": COMPONENT, "reportingInstance": COMPONENT})
            if len(self._seen) > 10000:
                self._seen.clear()
            self._seen[key] = (name, 1)
        except ApiError as e:
            self._seen.pop(key, None)
            log.warning("could not record event %s on %s %s/%s: %s", reason, obj.get("kind"),
                        namespace, meta["name"], e)
