"""Why a deploy failed, read from the virtual cluster: failing pods, their events and logs.

Best effort: a read that fails becomes a line of the summary, never a second error hiding
the first. Pod names, event messages and logs come from the pull request's chart; they are
kept as plain data (control characters removed) and escaped by whoever renders them.
"""

from __future__ import annotations

import re
from typing import Any

import aiohttp

from preview import naming
from preview.deploy.model import VirtualCluster
from preview.deploy.status import PULL_REASONS, Symptom, pod_symptoms
from preview.deploy.workloads import release_pods
from preview.errors import PreviewError
from preview.kube.client import ApiError
from preview.kube.resources import EVENTS, PODS
from preview.results import Diagnostics, PodProblem

MAX_PROBLEMS = 5  # containers described in full; the rest are counted
LOG_LINES = 20
MAX_EVENTS = 10
SUMMARY_EVENTS = 3
SUMMARY_LOGS = 3
LINE_LIMIT = 300
_CONTROL = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|[\x00-\x08\x0b-\x1f\x7f]")


def clean(text: str, limit: int = LINE_LIMIT) -> str:
    """One line of untrusted text, safe for a terminal: no escapes, bounded length."""
    text = _CONTROL.sub("", text.replace("\r", "")).strip()
    return text if len(text) <= limit else text[:limit - 1] + "…"


def event_line(event: dict[str, Any]) -> str:
    count = event.get("count") or (event.get("series") or {}).get("count") or 1
    line = f"{event.get('type', '')} {event.get('reason', '')}: {event.get('message', '')}"
    return clean(line + (f" (x{count})" if count > 1 else ""))


def _when(event: dict[str, Any]) -> tuple[str, int]:
    # Timestamps have second precision; the resourceVersion orders updates within a second.
    rv = str(event["metadata"].get("resourceVersion") or "0")
    return (str(event.get("lastTimestamp") or event.get("eventTime")
                or event.get("firstTimestamp") or ""), int(rv) if rv.isdigit() else 0)


def _family(reason: str) -> str:
    """Reasons that are one problem seen at different moments (pull, then back-off)."""
    return "ImagePullBackOff" if reason in PULL_REASONS else reason


def ordered(symptoms: list[Symptom]) -> list[Symptom]:
    """Failures that will not heal first, then the rest, keeping the pods' order (pure)."""
    return sorted(symptoms, key=lambda s: not s.fatal)


def summarize(headline: str, problems: list[PodProblem], more: int, helm_status: str,
              workloads_ready: bool = False) -> str:
    """A few readable lines: each distinct problem once, with its latest events and logs."""
    lines = [headline]
    groups: dict[tuple[str, str], list[PodProblem]] = {}
    for p in problems:
        groups.setdefault((p.container, _family(p.reason)), []).append(p)
    for group in groups.values():
        first = group[0]
        where = f"pod {first.pod}" + (f" container {first.container}" if first.container else "")
        line = f"{where}: {first.reason}" + (f": {first.message}" if first.message else "")
        if len(group) > 1:
            line += f" (and {len(group) - 1} more pod{'s' if len(group) > 2 else ''})"
        lines.append(clean(line))
        warnings = [e for e in first.events if e.startswith("Warning ")]
        lines += [f"  event {e}" for e in (warnings or list(first.events))[-SUMMARY_EVENTS:]]
        lines += [f"  log: {line}" for line in first.logs[-SUMMARY_LOGS:]]
    if more:
        lines.append(f"… and {more} more failing container{'s' if more > 1 else ''}")
    if not problems:
        lines.append("the workloads are ready: the failure is the one above" if workloads_ready
                     else "no failing pods found (the workloads may still be starting)")
    if not helm_deployed(helm_status):  # "deployed" in a failure is only noise
        lines.append(f"helm: {helm_status}")
    return "\n".join(lines)


SENTENCE_LIMIT = 199
_DEPLOYED = re.compile(r"revision \d+ deployed\b")


def helm_deployed(status: str) -> bool:
    """Whether helm's status says the release is deployed, i.e. helm did not fail (pure)."""
    return bool(_DEPLOYED.match(status))


def sentence(headline: str, problems: list[PodProblem], more: int) -> str:
    """What failed, in one sentence under 200 characters: the first failing pod and its
    reason (and its message when there is room), else the headline's first line (pure)."""
    if not problems:
        first = (headline.strip().splitlines() or ["the deploy failed"])[0]
        return clean(first, SENTENCE_LIMIT)
    p = problems[0]
    where = f"Pod {p.pod}" + (f" (container {p.container})" if p.container else "")
    text = f"{where} is failing: {p.reason}"
    others = len(problems) - 1 + more
    if others:
        text += f", and {others} more failing container{'s' if others > 1 else ''}"
    if p.message and len(text) < SENTENCE_LIMIT - 20:
        text += f" ({p.message})"
    return clean(text, SENTENCE_LIMIT)


async def collect_diagnostics(vc: VirtualCluster, namespace: str, release: str, *,
                              headline: str = "", workloads_ready: bool = False) -> Diagnostics:
    """Failing pods of the release (reason, message, events, last log lines) and helm's
    status, with a short summary starting with `headline`."""
    headline = headline or f"release {release} in namespace {namespace} is not ready"
    try:
        pods = await release_pods(vc.client, namespace, release)
    except ApiError as e:
        pods, headline = [], f"{headline}\n(could not list pods: {e.message})"
    symptoms = ordered([s for pod in pods for s in pod_symptoms(pod)])
    problems = [await _describe(vc, namespace, s) for s in symptoms[:MAX_PROBLEMS]]
    status = await helm_status(vc, release, namespace)
    more = len(symptoms) - len(problems)
    summary = summarize(headline, problems, more, status, workloads_ready)
    return Diagnostics(summary, tuple(problems), status, sentence(headline, problems, more))


async def _describe(vc: VirtualCluster, namespace: str, s: Symptom) -> PodProblem:
    events = await pod_events(vc, namespace, s.pod)
    logs: tuple[str, ...] = ()
    if s.container and s.ran:
        logs = await container_logs(vc, namespace, s.pod, s.container, s.previous)
    return PodProblem(clean(s.pod), clean(s.container), clean(s.reason), clean(s.message),
                      events, logs)


async def pod_events(vc: VirtualCluster, namespace: str, pod: str) -> tuple[str, ...]:
    try:
        listed = await vc.client.list(EVENTS, namespace, field_selector=(
            f"involvedObject.kind=Pod,involvedObject.name={pod}"))
    except ApiError as e:
        return (f"(could not read events: {e.message})",)
    events = sorted(listed.get("items") or [], key=_when)[-MAX_EVENTS:]
    # The workload's own story first; what our syncer said about the pod after it.
    events.sort(key=_from_syncer)
    return tuple(event_line(e) for e in events)


def _from_syncer(event: dict[str, Any]) -> bool:
    source = event.get("source") or {}
    return naming.SYNCER_COMPONENT in (event.get("reportingComponent"),
                                       source.get("component") if isinstance(source, dict)
                                       else None)


async def container_logs(vc: VirtualCluster, namespace: str, pod: str, container: str,
                         previous: bool) -> tuple[str, ...]:
    """The last lines of a container's log (of its previous run when it crash-loops)."""
    params = {"container": container, "tailLines": str(LOG_LINES)}
    if previous:
        params["previous"] = "true"
    try:
        async with vc.client.stream(PODS.path(namespace, pod, "log"), params) as resp:
            if resp.status >= 400:
                return ()  # no such run (yet): nothing to show
            text = (await resp.read()).decode(errors="replace")
    except (OSError, aiohttp.ClientError):
        return ()
    return tuple(clean(line) for line in text.splitlines()[-LOG_LINES:])


async def helm_status(vc: VirtualCluster, release: str, namespace: str) -> str:
    """"revision 2 deployed: Upgrade complete", from helm's history of the release."""
    try:
        revisions = await vc.helm.history(release, namespace)
    except PreviewError as e:
        return f"unknown ({clean(e.message)})"
    if not revisions:
        return f"no release {release} in namespace {namespace}"
    last = revisions[-1]
    return clean(f"revision {last.number} {last.status}: {last.description}")
