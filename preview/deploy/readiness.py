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
HINT = ("fix the chart or the values and push again; the environment is left as it is for "
        "inspection (preview kubeconfig)")


async def wait_ready(vc: VirtualCluster, namespace: str, release: str,
                     kinds: tuple[str, ...] = DEFAULT_KINDS, timeout_s: float = 300.0,
                     progress: Progress = lambda line: None, *,
                     fail_after_s: float = FAIL_AFTER_S, poll_s: float = POLL_S) -> None:
    """Until every Deployment/StatefulSet/DaemonSet/Job of `release` (of `kinds`) is ready.

    Progress: one line per workload whenever its state changes ("deployment/web 1/2 ready").
    Raises `DeployFailed` with `Diagnostics` on a persistent pod failure, a failed Job or
    the timeout.
    """
    check_kinds(kinds)
    deadline = time.monotonic() + timeout_s
    persistence = Persistence(fail_after_s)
    shown: dict[str, str] = {}
    while True:
        workloads = await release_workloads(vc.client, namespace, release, kinds)
        states = [workload_state(w) for w in workloads]
        for state in states:
            if shown.get(state.ref) != state.text:
                shown[state.ref] = state.text
                progress(state.text)
        failed = [s.failed for s in states if s.failed]
        if failed:
            raise await _failure(vc, namespace, release, "; ".join(failed))
        if all(s.ready for s in states):
            if not states:
                progress(f"release {release} has no {'/'.join(kinds)} to wait for")
            return
        symptoms = await _symptoms(vc, namespace, workloads, states)
        lasting = persistence.observe(symptoms, time.monotonic())
        if lasting:
            raise await _failure(vc, namespace, release, _headline(lasting, fail_after_s))
        if time.monotonic() >= deadline:
            waiting = ", ".join(s.text for s in states if not s.ready)
            raise await _failure(vc, namespace, release,
                                 f"timed out after {timeout_s:g}s waiting for {waiting}")
        await asyncio.sleep(poll_s)


async def _symptoms(vc: VirtualCluster, namespace: str, workloads: list[dict[str, Any]],
                    states: list[WorkloadState]) -> list[Symptom]:
    found: list[Symptom] = []
    for workload, state in zip(workloads, states, strict=True):
        if not state.ready:
            for pod in await pods_of(vc.client, namespace, workload):
                found += pod_symptoms(pod)
    return found


def _headline(lasting: list[Symptom], fail_after_s: float) -> str:
    first = lasting[0]
    where = f"pod {first.pod}" + (f" container {first.container}" if first.container else "")
    others = len({s.pod for s in lasting}) - 1
    return clean(f"{where}: {first.reason} for {fail_after_s:g}s or more"
                 + (f" (and {others} more pod{'s' if others > 1 else ''})" if others > 0 else ""))


async def _failure(vc: VirtualCluster, namespace: str, release: str,
                   headline: str) -> DeployFailed:
    diagnostics = await collect_diagnostics(vc, namespace, release,
                                            headline=f"deploy failed: {headline}")
    return DeployFailed(f"release {release} did not become ready: {headline}", diagnostics,
                        HINT)
