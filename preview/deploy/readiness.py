"""Waiting for the release's workloads, with progress lines, failing fast on what won't heal.

Polls the virtual API about once a second (a tunnel may sit in between; a poll survives a
reconnect where a watch would need resuming). A pod stuck in ImagePullBackOff/ErrImagePull,
a crash loop of 3+ restarts, an unschedulable pod or a config error fails the wait once it
has lasted `fail_after_s` (~20 s: pulls and scheduling do recover from brief hiccups); a
failed Job fails it at once. Either way, or on timeout, `DeployFailed` carries diagnostics.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from preview.deploy.diagnostics import clean, collect_diagnostics
from preview.deploy.model import DeployFailed, Progress, VirtualCluster
from preview.deploy.status import Persistence, Symptom, WorkloadState, pod_symptoms, workload_state
from preview.deploy.workloads import DEFAULT_KINDS, check_kinds, pods_of, release_workloads

POLL_S = 1.0
FAIL_AFTER_S = 20.0
HEARTBEAT_S = 30.0  # a CI log that says nothing for minutes looks hung
HINT = ("fix the chart or the values and push again; the environment is left as it is for "
        "inspection (preview kubeconfig)")


async def wait_ready(vc: VirtualCluster, namespace: str, release: str,
                     kinds: tuple[str, ...] = DEFAULT_KINDS, timeout_s: float = 300.0,
                     progress: Progress = lambda line: None, *,
                     fail_after_s: float = FAIL_AFTER_S, poll_s: float = POLL_S,
                     heartbeat_s: float = HEARTBEAT_S) -> None:
    """Until every Deployment/StatefulSet/DaemonSet/Job of `release` (of `kinds`) is ready.

    Progress: one line per workload whenever its state changes ("deployment/web 1/2 ready"),
    one per pod problem when first seen, and a "still waiting" line after `heartbeat_s`
    without one. Raises `DeployFailed` with `Diagnostics` on a persistent pod failure, a failed Job or
    the timeout.
    """
    check_kinds(kinds)
    deadline = time.monotonic() + timeout_s
    persistence = Persistence(fail_after_s)
    shown: dict[str, str] = {}
    reported: set[tuple[str, str, str]] = set()
    started = last_said = time.monotonic()

    def say(line: str) -> None:
        nonlocal last_said
        progress(line)
        last_said = time.monotonic()

    while True:
        workloads = await release_workloads(vc.client, namespace, release, kinds)
        states = [workload_state(w) for w in workloads]
        for state in states:
            if shown.get(state.ref) != state.text:
                shown[state.ref] = state.text
                say(state.text)
        failed = [s.failed for s in states if s.failed]
        if failed:
            raise await _failure(vc, namespace, release, "; ".join(failed))
        if all(s.ready for s in states):
            if not states:
                progress(f"release {release} has no {'/'.join(kinds)} to wait for")
            return
        symptoms = await _symptoms(vc, namespace, workloads, states)
        for symptom in symptoms:
            key = (symptom.pod, symptom.container, symptom.fatal)
            if symptom.fatal and key not in reported:
                reported.add(key)
                say(clean(f"{_where(symptom)}: {symptom.reason}: {symptom.message}"))
        lasting = persistence.observe(symptoms, time.monotonic())
        if lasting:
            raise await _failure(vc, namespace, release, _headline(lasting, fail_after_s))
        if time.monotonic() >= deadline:
            waiting = ", ".join(s.text for s in states if not s.ready)
            raise await _failure(vc, namespace, release,
                                 f"timed out after {timeout_s:g}s waiting for {waiting}")
        if time.monotonic() - last_said >= heartbeat_s:
            say(f"still waiting after {time.monotonic() - started:.0f}s: "
                + ", ".join(s.text for s in states if not s.ready))
        await asyncio.sleep(poll_s)


async def _symptoms(vc: VirtualCluster, namespace: str, workloads: list[dict[str, Any]],
                    states: list[WorkloadState]) -> list[Symptom]:
    found: list[Symptom] = []
    for workload, state in zip(workloads, states, strict=True):
        if not state.ready:
            for pod in await pods_of(vc.client, namespace, workload):
                found += pod_symptoms(pod)
    return found


def _where(symptom: Symptom) -> str:
    return f"pod {symptom.pod}" + (f" container {symptom.container}" if symptom.container
                                   else "")


def _headline(lasting: list[Symptom], fail_after_s: float) -> str:
    first = lasting[0]
    where = _where(first)
    others = len({s.pod for s in lasting}) - 1
    return clean(f"{where}: {first.reason} for {fail_after_s:g}s or more"
                 + (f" (and {others} more pod{'s' if others > 1 else ''})" if others > 0 else ""))


async def _failure(vc: VirtualCluster, namespace: str, release: str,
                   headline: str) -> DeployFailed:
    diagnostics = await collect_diagnostics(vc, namespace, release,
                                            headline=f"deploy failed: {headline}")
    return DeployFailed(f"release {release} did not become ready: {headline}", diagnostics,
                        HINT)
