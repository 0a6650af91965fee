"""Who changed what through the API: one JSON line per mutating request, and an Event on the
environment's namespace, so `kubectl get events` on the host tells the same story."""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass
from typing import Any

from preview.kube.client import ApiError, KubeClient
from preview.kube.resources import EVENTS

log = logging.getLogger("preview.serve.audit")


@dataclass(frozen=True)
class Entry:
    """One mutating request and how it ended."""

    action: str  # create | delete
    repository: str
    pr: int
    namespace: str
    outcome: str  # ready | failed | refused | torn-down | error
    detail: str
    caller: dict[str, str]  # the token's claims that name the run: workflow, run id, actor…

    def line(self, now: dt.datetime) -> str:
        """The audit line (pure)."""
        return json.dumps({"time": now.strftime("%Y-%m-%dT%H:%M:%SZ"), "audit": self.action,
                           "repository": self.repository, "pr": self.pr,
                           "namespace": self.namespace, "outcome": self.outcome,
                           "detail": self.detail[:500], **self.caller}, sort_keys=True)


def event(entry: Entry, now: dt.datetime) -> dict[str, Any]:
    """The Kubernetes Event for `entry` on its namespace (pure)."""
    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    who = entry.caller.get("actor") or entry.caller.get("repository") or "unknown"
    run = entry.caller.get("run_id", "")
    return {
        "metadata": {"generateName": "preview-serve-", "namespace": entry.namespace},
        "involvedObject": {"apiVersion": "v1", "kind": "Namespace", "name": entry.namespace},
        "reason": f"Preview{entry.action.capitalize()}",
        "message": (f"{entry.action} of {entry.repository} PR #{entry.pr} by {who}"
                    + (f" (run {run})" if run else "") + f": {entry.outcome}")[:1000],
        "type": "Normal" if entry.outcome in ("ready", "torn-down") else "Warning",
        "source": {"component": "preview-serve"},
        "firstTimestamp": stamp, "lastTimestamp": stamp, "count": 1,
    }


async def record(kube: KubeClient, entry: Entry) -> None:
    """Write the audit line; add the Event when the namespace is still there."""
    now = dt.datetime.now(dt.UTC)
    log.info(entry.line(now))
    try:
        await kube.create(EVENTS, entry.namespace, event(entry, now))
    except ApiError as e:  # the namespace is gone (a teardown) or not made (a refusal)
        log.debug("no Event for %s: %s", entry.namespace, e.message)
