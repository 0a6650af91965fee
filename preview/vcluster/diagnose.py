"""What to tell a user when a virtual cluster does not come up: the pod's own story."""

from __future__ import annotations

from typing import Any

from preview.kube.client import ApiError, KubeClient
from preview.kube.resources import EVENTS, PODS


def describe_pod(pod: dict[str, Any] | None, events: list[dict[str, Any]]) -> str:
    """A few lines: phase, unready containers with their reasons, the latest events (pure)."""
    if pod is None:
        return "  the control-plane pod does not exist (see the StatefulSet's events)"
    status = pod.get("status") or {}
    lines = [f"  pod {pod['metadata']['name']}: {status.get('phase', 'Unknown')}"]
    for cond in status.get("conditions") or []:
        if cond.get("status") != "True" and cond.get("message"):
            lines.append(f"  {cond['type']}: {cond.get('reason', '')} {cond['message']}".rstrip())
    for cs in status.get("containerStatuses") or []:
        if cs.get("ready"):
            continue
        state = cs.get("state") or {}
        detail = state.get("waiting") or state.get("terminated") or {}
        reason = detail.get("reason") or ("Running, not ready" if "running" in state else "")
        message = detail.get("message", "")
        lines.append(f"  container {cs['name']}: {reason} {message}".rstrip()
                     + (f" (restarts: {cs['restartCount']})" if cs.get("restartCount") else ""))
    recent = sorted(events, key=lambda e: e.get("lastTimestamp") or e.get("eventTime") or "")[-5:]
    for event in recent:
        lines.append(f"  event {event.get('type', '')} {event.get('reason', '')}: "
                     f"{event.get('message', '')}")
    return "\n".join(lines)


async def control_plane(host: KubeClient, name: str, namespace: str) -> str:
    pod_name = f"{name}-0"
    try:
        pod = await host.get(PODS, namespace, pod_name)
        events = (await host.list(EVENTS, namespace,
                                  field_selector=f"involvedObject.name={pod_name}")
                  ).get("items") or []
    except ApiError as e:
        return f"  (could not read the pod: {e.message})"
    return describe_pod(pod, events)
