"""`preview sleep` / `preview wake`: an idle environment holds no pod on the host, and comes back
exactly as it was.

Sleep, holding the environment's lock (`exclusive`):

1. inside the virtual cluster, every workload gets `sleeping.sleep_patch` (replicas to zero,
   CronJobs and Jobs suspended, DaemonSets pointed at no node), the state before recorded on
   it; the virtual controllers delete the pods and the syncer their host copies. A running
   bare pod (`sleeping.bare_pods`) could only be deleted, never restored: such an
   environment is refused first, nothing changed;
2. the host holds no pod of the tenant any more (awaited; a pod nothing stopped is named
   and sleep stops there, the control plane left running);
3. the control plane's StatefulSet to zero (its replicas recorded the same way), awaited
   until its pod is gone. Its data stays on its PersistentVolumeClaim, which a StatefulSet
   keeps when scaled down: without `persistence.enabled` the data would go with the pod, so
   such an environment is refused before anything changes;
4. with the policy's `wakePage`, the URL pointed at the wake page (`wake_page`);
5. the namespace's `asleep-since` annotation (what `preview list` shows as `asleep`);
6. the pull request told, with a GitHub token (`sleep_news`: comment and deployment status).

Wake reverses it: the control plane back to its recorded replicas and ready, each workload
restored from its record (`sleeping.wake_patch`), then waited for until ready as `up` waits,
and the URL given back to the app (`wake_page.restore`);
`asleep-since` is removed and `last-activity` set. Both are idempotent: sleeping a sleeping
environment or waking an awake one changes nothing. Only the environment's own namespace
(proved ours by `ownership.find`), its own control plane and the workloads inside its
virtual cluster are touched.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from dataclasses import dataclass
from typing import Any

from preview import lease, naming, sleeping
from preview.cost.report import Rates
from preview.deploy.status import workload_state
from preview.errors import BadInput, PreviewError
from preview.kube.client import KubeClient, NotFound
from preview.kube.connection import from_kubeconfig
from preview.kube.host import HostCluster
from preview.kube.resources import (
    CRONJOBS,
    DAEMONSETS,
    DEPLOYMENTS,
    JOBS,
    NAMESPACES,
    PODS,
    REPLICASETS,
    STATEFULSETS,
    Resource,
)
from preview.operations import cost, exclusive, ownership, sleep_news, wake_page
from preview.policy import Policy
from preview.policy.model import WakePagePolicy
from preview.vcluster import connect, lifecycle
from preview.vcluster.model import Progress

POLL_SECONDS = 0.5
WORKLOADS: tuple[Resource, ...] = (DEPLOYMENTS, STATEFULSETS, REPLICASETS, DAEMONSETS,
                                   CRONJOBS, JOBS)


@dataclass(frozen=True)
class SleepResult:
    """What `preview sleep` or `preview wake` did to one environment."""

    environment: str
    namespace: str
    state: str  # asleep | ready
    changed: bool  # False: it was in that state already
    workloads: tuple[str, ...]  # kind/namespace/name of each workload slept or woken
    seconds: float
    pull_request: str = ""  # told | not told (why): its comment and deployment status


def rfc3339(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def persistent(control_plane: dict[str, Any]) -> bool:
    """Whether the control plane keeps its data on a claim (the chart's `data` template) (pure)."""
    templates = (control_plane.get("spec") or {}).get("volumeClaimTemplates") or []
    return any((t.get("metadata") or {}).get("name") == "data" for t in templates)


def tenant_pod_selector(env: naming.Environment) -> str:
    """The host pods the environment's syncer made (pure)."""
    return (f"{naming.MANAGED_BY}={naming.SYNCER_VALUE},"
            f"{naming.VCLUSTER}={naming.label_value(env.vcluster)}")


async def _environment(kube: KubeClient, env: naming.Environment) -> dict[str, Any]:
    """The control plane's StatefulSet of an existing environment of ours."""
    namespace = await ownership.find(kube, env)
    if namespace is None or namespace["metadata"].get("deletionTimestamp"):
        raise BadInput(f"{env.full_name} PR {env.pr} has no environment (namespace "
                       f"{env.namespace} {'is being deleted' if namespace else 'not found'})",
                       "`preview list` shows the environments there are")
    sts = await kube.get(STATEFULSETS, env.namespace, env.vcluster)
    if sts is None:
        raise PreviewError(f"environment {env.name} has no virtual cluster (StatefulSet "
                           f"{env.namespace}/{env.vcluster} not found)",
                           "run `preview up` again, or `preview down` to remove it")
    return sts


async def sleep(host: HostCluster, env: naming.Environment, progress: Progress, *,
                lock: exclusive.Lock, timeout: float = 300.0,
                now: dt.datetime | None = None,
                wake: WakePagePolicy | None = None, notify: sleep_news.Notify | None = None,
                rates: Rates | None = None) -> SleepResult:
    """Put `env` to sleep (see the module's docstring); raises BadInput when its control
    plane keeps no persistent data, PreviewError when a pod stays on the host. With `wake`
    (the policy's wakePage) its URL then answers with the wake page (`wake_page`); `notify`
    tells the pull request (with the cost so far at `rates`)."""
    started = time.monotonic()
    async with host.client() as kube:
        sts = await _environment(kube, env)
        if not persistent(sts):
            raise BadInput(
                f"environment {env.name} keeps its virtual cluster's data on an emptyDir "
                "(vcluster persistence.enabled is false): sleeping would delete it",
                "the platform policy's `vcluster: {persistence: {enabled: true}}` keeps it on a "
                "claim (docs/policy.md); `preview up` again with it, then sleep")
        async with exclusive.for_change(kube, env, lock, "sleep", progress):
            sts = await _environment(kube, env)  # as it is now that we hold the lock
            if sleeping.is_asleep(sts):
                progress(f"environment {env.name} is asleep already")
                return SleepResult(env.name, env.namespace, "asleep", False, (),
                                   _since(started))
            async with connect.connect(kube, env.vcluster, env.namespace) as path, \
                    KubeClient(from_kubeconfig(path), "preview-sleep") as virtual:
                bare = sleeping.bare_pods((await virtual.list(PODS, None)).get("items") or [])
                if bare:
                    raise BadInput(
                        f"environment {env.name} runs pods that no workload controls (bare "
                        f"pods): {', '.join(bare[:10])}; sleep cannot stop them without "
                        "deleting them, and wake could not bring them back",
                        "delete them in the virtual cluster (`preview kubeconfig`), run them "
                        "from a Deployment or a Job, or keep the environment awake (the "
                        "policy's keepAwakeLabel); nothing was changed")
                await cost.record(kube, env.namespace)  # the pods about to go, until now
                slept = await _apply(virtual, sleeping.sleep_patch, progress, "asleep")
            await _wait_no_pods(kube, env.namespace, tenant_pod_selector(env), timeout,
                                progress, "the tenant's pods")
            patch = sleeping.sleep_patch("StatefulSet", sts)
            assert patch is not None  # not asleep, checked above
            await kube.patch(STATEFULSETS, env.namespace, env.vcluster, patch)
            progress(f"control plane {env.vcluster}: scaled to 0 (its data stays on its "
                     "claim)")
            await _wait_no_pods(kube, env.namespace, _match_labels(sts), timeout, progress,
                                "the control plane's pod")
            await cost.record(kube, env.namespace)  # ...and closed: sleep is not counted
            if wake is not None:  # its syncer is gone: nothing puts the Ingresses back
                await wake_page.point_at_wake_page(kube, env, wake, progress)
            moment = now or dt.datetime.now(dt.UTC)
            await kube.patch(NAMESPACES, None, env.namespace, {"metadata": {"annotations": {
                naming.ASLEEP_SINCE: rfc3339(moment)}}})
        told = await sleep_news.tell(kube, env, "asleep", notify, rates, now,
                                     url_wakes=wake is not None)
    progress(f"environment {env.name} is asleep; pull request {told}")
    return SleepResult(env.name, env.namespace, "asleep", True, slept, _since(started), told)


async def wake(host: HostCluster, env: naming.Environment, progress: Progress, *,
               lock: exclusive.Lock, timeout: float = 300.0,
               now: dt.datetime | None = None, notify: sleep_news.Notify | None = None,
               rates: Rates | None = None) -> SleepResult:
    """Wake `env`: control plane, then its workloads as they were, waited for until ready;
    `notify` tells the pull request it is ready again."""
    started = time.monotonic()
    told = ""
    async with host.client() as kube:
        await _environment(kube, env)
        async with exclusive.for_change(kube, env, lock, "wake", progress):
            changed, woken = await wake_held(kube, env, progress, started + timeout, now)
        if changed:
            told = await sleep_news.tell(kube, env, "ready", notify, rates, now)
    progress(f"environment {env.name} is awake; pull request {told}" if changed else
             f"environment {env.name} was awake already")
    return SleepResult(env.name, env.namespace, "ready", changed, woken, _since(started),
                       told)


async def wake_held(kube: KubeClient, env: naming.Environment, progress: Progress,
                    deadline: float, now: dt.datetime | None = None
                    ) -> tuple[bool, tuple[str, ...]]:
    """Wake `env` with its lock held already (`wake`, and `up` of a sleeping environment);
    whether anything was asleep, and the workloads restored."""
    sts = await _environment(kube, env)
    patch = sleeping.wake_patch("StatefulSet", sts)
    if patch is not None:
        await kube.patch(STATEFULSETS, env.namespace, env.vcluster, patch)
        progress(f"control plane {env.vcluster}: scaled to {patch['spec']['replicas']}")
    await lifecycle.wait_ready(kube, env.vcluster, env.namespace, progress,
                               max(deadline - time.monotonic(), 1.0))
    async with connect.connect(kube, env.vcluster, env.namespace) as path, \
            KubeClient(from_kubeconfig(path), "preview-wake") as virtual:
        woken = await _apply(virtual, sleeping.wake_patch, progress, "restored")
        await _wait_ready(virtual, woken, deadline, progress)
    # Last: until now the URL answered with the wake page (the syncer keeps it so).
    restored = await wake_page.restore(kube, env, deadline, progress)
    await cost.record(kube, env.namespace)  # the woken pods, open from their start
    moment = now or dt.datetime.now(dt.UTC)
    await kube.patch(NAMESPACES, None, env.namespace, {"metadata": {"annotations": {
        naming.ASLEEP_SINCE: None, naming.LAST_ACTIVITY: rfc3339(moment)}}})
    return patch is not None or bool(woken) or bool(restored), woken


@dataclass(frozen=True)
class IdleOutcome:
    """What the idle pass did with one environment: slept, kept (and why), or failed."""

    namespace: str
    action: str  # slept | kept | busy | failed
    reason: str
    pull_request: str = ""  # slept: told | not told (why)


async def selected(host: HostCluster, selector: str) -> list[naming.Environment]:
    """The environments whose namespaces match the label selector `selector` (`-l`)."""
    async with host.client() as kube:
        listed = await kube.list(NAMESPACES, None,
                                 f"{naming.environment_selector()},{selector}")
    envs = []
    for record in filter(None, map(naming.read_environment, listed.get("items") or [])):
        owner, _, name = record.repo.partition("/")
        if owner and name and record.pr:
            envs.append(naming.environment_for(owner, name, record.pr,
                                               naming.app_of(record.environment, record.pr)))
    return envs


async def sleep_idle(host: HostCluster, rules: Policy, progress: Progress, *,
                     lock: exclusive.Lock, selector: str = "", timeout: float = 300.0,
                     now: dt.datetime | None = None, notify: sleep_news.Notify | None = None
                     ) -> tuple[IdleOutcome, ...]:
    """Put every environment idle for the policy's `sleepAfter` to sleep (`sleeping.idle`
    decides), skipping one whose lock another run holds (being deployed: never waited for)
    and going on past one that fails."""
    moment = now or dt.datetime.now(dt.UTC)
    wanted = naming.environment_selector() + (f",{selector}" if selector else "")
    async with host.client() as kube:
        listed = await kube.list(NAMESPACES, None, wanted)
    records = [r for r in map(naming.read_environment, listed.get("items") or []) if r]
    outcomes = []
    for record in sorted(records, key=lambda r: r.namespace):
        decision = sleeping.idle(record, moment, rules.sleep_after, rules.keep_awake_label)
        if not decision.sleep:
            outcomes.append(IdleOutcome(record.namespace, "kept", decision.reason))
            continue
        owner, _, name = record.repo.partition("/")
        try:
            env = naming.environment_for(owner, name, record.pr)
        except ValueError as e:
            outcomes.append(IdleOutcome(record.namespace, "failed", str(e)))
            continue
        progress(f"{env.full_name} PR {env.pr}: {decision.reason}: sleeping")
        try:
            slept = await sleep(host, env, progress, timeout=timeout, now=moment,
                                lock=exclusive.Lock(lock.holder, wait=False,
                                                    duration=lock.duration),
                                wake=rules.wake_page, notify=notify, rates=cost.rates(rules))
            outcomes.append(IdleOutcome(record.namespace, "slept", decision.reason,
                                        slept.pull_request))
        except lease.Busy as e:
            outcomes.append(IdleOutcome(record.namespace, "busy", f"being worked on: {e}"))
        except BadInput as e:
            # The environment as it is cannot sleep (no persistent data, a bare pod): said
            # on its line every pass, not a failure of the scheduled pass.
            outcomes.append(IdleOutcome(record.namespace, "kept", f"cannot sleep: {e.message}"))
        except PreviewError as e:
            outcomes.append(IdleOutcome(record.namespace, "failed", e.message))
    return tuple(outcomes)


async def _apply(virtual: KubeClient, make: Any, progress: Progress,
                 verb: str) -> tuple[str, ...]:
    """Patch every workload of the virtual cluster for which `make(kind, obj)` has a patch."""
    done = []
    for res in WORKLOADS:
        for obj in (await virtual.list(res, None)).get("items") or []:
            try:
                patch = make(res.kind, obj)
            except ValueError as e:
                raise PreviewError(str(e), "then run the command again") from None
            if patch is None:
                continue
            meta = obj["metadata"]
            ref = f"{res.kind.lower()}/{meta.get('namespace', '')}/{meta['name']}"
            try:
                await virtual.patch(res, meta.get("namespace"), meta["name"], patch)
            except NotFound:
                continue  # deleted meanwhile: nothing of it to keep
            progress(f"{ref}: {verb}")
            done.append(ref)
    return tuple(done)


def _match_labels(sts: dict[str, Any]) -> str:
    labels = ((sts.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


async def _wait_no_pods(kube: KubeClient, namespace: str, selector: str, timeout: float,
                        progress: Progress, what: str) -> None:
    """Until no pod of `selector` is left in `namespace` (terminating ones count)."""
    deadline = time.monotonic() + timeout
    said = -1
    while True:
        pods = (await kube.list(PODS, namespace, selector)).get("items") or []
        if not pods:
            return
        if len(pods) != said:
            said = len(pods)
            progress(f"waiting for {what} to go from the host ({len(pods)} left)")
        if time.monotonic() > deadline:
            names = ", ".join(_pod_name(p) for p in pods[:10])
            raise PreviewError(
                f"{what} did not go within {timeout:.0f}s: {names}",
                "a pod whose controller sleep does not stop (an operator's own resource) "
                "stays: delete it in the virtual cluster (`preview kubeconfig`) or keep the "
                "environment awake; the control plane is still running, `preview wake` "
                "restores the rest")
        await asyncio.sleep(POLL_SECONDS)


def _pod_name(pod: dict[str, Any]) -> str:
    notes = pod["metadata"].get("annotations") or {}
    virtual = notes.get(naming.VIRTUAL_NAME_ANNOTATION)
    where = notes.get(naming.VIRTUAL_NAMESPACE_ANNOTATION)
    return f"{where}/{virtual}" if virtual else str(pod["metadata"]["name"])


async def _wait_ready(virtual: KubeClient, refs: tuple[str, ...], deadline: float,
                      progress: Progress) -> None:
    """Until every restored Deployment/StatefulSet/DaemonSet is ready again (the kinds `up`
    waits for; a bare ReplicaSet reports no updated replicas to count)."""
    kinds = {r.kind.lower(): r for r in WORKLOADS if r.kind in
             ("Deployment", "StatefulSet", "DaemonSet")}
    waiting = [r for r in refs if r.split("/", 1)[0] in kinds]
    shown: dict[str, str] = {}
    while waiting:
        still = []
        for ref in waiting:
            kind, namespace, name = ref.split("/", 2)
            obj = await virtual.get(kinds[kind], namespace, name)
            if obj is None:
                continue
            state = workload_state({**obj, "kind": kinds[kind].kind})
            if not state.ready:
                still.append(ref)
            if shown.get(ref) != state.text:
                shown[ref] = state.text
                progress(state.text)
        waiting = still
        if waiting and time.monotonic() > deadline:
            raise PreviewError(f"not ready after waking: {', '.join(waiting)}",
                               "look at the pods inside the virtual cluster "
                               "(`preview kubeconfig`); `preview wake` again waits more")
        if waiting:
            await asyncio.sleep(POLL_SECONDS)


def _since(started: float) -> float:
    return round(time.monotonic() - started, 1)
