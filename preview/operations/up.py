"""`preview up`: one pull request's environment, created or upgraded in place, and checked.

Steps (each a timed phase of the result):

0. *check* — the user's chart renders (`helm template`) and the vcluster values pass the
   chart's schema: a mistake is `BadInput` (exit 2) before anything is created.
1. *lock* — the environment's Lease (`preview.operations.exclusive`), its namespace created
   with the label contract of `preview.naming` first when absent; a namespace of that name
   that is not this environment's is refused. Another run holding it is waited for (or, with
   `lock.wait` off, `lease.Busy`); everything below runs under it, so two runs never install
   the same virtual cluster side by side. Then *namespace* — its annotations: `created-at`
   is kept from the first `up`, `expires-at` moves to now + ttl on every `up`.
2. *vcluster* — `charts/vcluster` planned once (`vcluster.lifecycle.plan`: one `helm
   history`, one `helm status`) and installed or upgraded by that plan (`lifecycle.apply`,
   without reading or rendering again); skipped when the deployed release already has these
   values (the same sha twice changes nothing but `expires-at`).
3. *connect* — a port-forward to the virtual API, until it answers.
4. *deploy* — the user's chart into the virtual cluster (`preview.deploy.install`: pending
   releases of a killed run recovered, unchanged values not upgraded).
5. *wait* — workloads ready, then the Ingress address of the URL's host.
6. *health* — an HTTP request to that address with the URL's Host header.

A failure in 4-6 is not an exception: the result has status "failed" and `Diagnostics`
(failing pods, reasons, events, logs, helm status); the environment stays for inspection.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp

from preview import deploy, helm, naming, policy, sleeping
from preview.config import RenderedConfig
from preview.errors import BadInput, PreviewError
from preview.kube.client import ApiError, Conflict, KubeClient
from preview.kube.connection import from_kubeconfig
from preview.kube.host import HostCluster
from preview.operations import cost, exclusive, kubeconfig, ownership, sleep
from preview.pullrequest import PullRequest
from preview.results import Diagnostics, UpResult
from preview.vcluster import connect, lifecycle
from preview.vcluster.model import Progress, chart_path

log = logging.getLogger(__name__)
CONNECT_TIMEOUT = 60.0


class _Phases:
    """Seconds per phase, in order; `on_start(name)` is told when each phase begins (the CLI
    folds each phase's progress lines into a `::group::` in GitHub Actions)."""

    def __init__(self, on_start: Callable[[str], None] | None = None) -> None:
        self.seconds: dict[str, float] = {}
        self.on_start = on_start

    def started(self, name: str) -> float:
        if self.on_start is not None:
            self.on_start(name)
        return time.monotonic()

    @contextlib.contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        started = self.started(name)
        try:
            yield
        finally:
            self.seconds[name] = round(time.monotonic() - started, 2)


def rfc3339(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def reachable_url(url: str, scheme_ports: dict[str, int]) -> str:
    """`url` with the ingress's port when it is not the scheme's default (pure).

    A real ingress serves on 80/443 and the URL stays as configured; the sandbox's serves
    on loopback ports, which a browser needs in the URL.
    """
    parts = urlsplit(url)
    port = scheme_ports.get(parts.scheme)
    if parts.port is not None or port is None or port == {"http": 80, "https": 443}.get(
            parts.scheme):
        return url
    return urlunsplit(parts._replace(netloc=f"{parts.hostname}:{port}"))


def host_urls(address: deploy.IngressAddress, url: str) -> tuple[str, ...]:
    """The URL of every other host of the namespace's Ingresses, beside `url`'s (pure):
    https when the Ingress serving `url` has a certificate for it, with the ingress's port
    as `url` gets it."""
    ports = {"http": address.http_port, "https": address.https_port}
    own = urlsplit(url).hostname
    return tuple(
        reachable_url(f"{'https' if deploy.has_tls(address, host) else 'http'}://{host}", ports)
        for host in address.hosts if host != own)


def url_scheme(url: str, tls: bool) -> str:
    """`url` with https when the Ingress provides a certificate for its host, else http
    (pure): what a default URL becomes once the Ingress is known."""
    return urlunsplit(urlsplit(url)._replace(scheme="https" if tls else "http"))


def namespace_patch(env: naming.Environment, pr: PullRequest, config: RenderedConfig,
                    existing: dict[str, Any] | None, now: dt.datetime) -> dict[str, Any]:
    """The labels and annotations of the environment's namespace after this `up` (pure).

    Not the URL: the deploy finds it (the ingress's port, https when it has a certificate),
    and `up` writes it once then, with the run's final state."""
    notes = ((existing or {}).get("metadata") or {}).get("annotations") or {}
    return {"metadata": {
        "labels": naming.namespace_labels(env, config.labels),
        "annotations": naming.namespace_annotations(
            env, created_at=notes.get(naming.CREATED_AT) or rfc3339(now),
            expires_at=rfc3339(now + dt.timedelta(seconds=config.ttl_seconds)),
            head_sha=pr.head_sha, url=None,
            run_url=pr.run_url) | {naming.LAST_ACTIVITY: rfc3339(now)}  # a push is activity
            | naming.state_annotations("deploying")}}


def chart_ref(config: RenderedConfig) -> deploy.ChartRef:
    """The config's chart as preview.deploy names it (paths are already absolute)."""
    chart = config.chart
    return deploy.ChartRef(chart.ref, chart.repo if chart.kind == "repo" else None,
                           chart.version)


async def check(config: RenderedConfig, env: naming.Environment,
                values: dict[str, Any]) -> None:
    """Step 0: the user's chart and the vcluster values, checked without a cluster."""
    base = config.base
    try:
        # Two independent `helm template` runs: side by side.
        await _side_by_side(
            deploy.check_chart(chart_ref(config), config.release, config.namespace,
                               config.values, base),
            helm.render(chart_path(), env.vcluster, env.namespace, values))
    except BadInput:
        raise
    except PreviewError as e:
        raise BadInput(e.message, e.hint) from e


async def _side_by_side(*steps: Awaitable[Any]) -> list[Any]:
    """Run `steps` concurrently, each to its end; then raise the first failure, if any.

    A failure must not leave a sibling running to be cancelled when the command exits: a
    helm cancelled half-way has kept the event loop from closing (`up` hung 240 s once).
    """
    outcomes = await asyncio.gather(*steps, return_exceptions=True)
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome
    return outcomes


async def up(host: HostCluster, pr: PullRequest, config: RenderedConfig,
             env: naming.Environment, progress: Progress,
             now: dt.datetime | None = None,
             phase_started: Callable[[str], None] | None = None, *,
             lock: exclusive.Lock, on_locked: Callable[[], None] | None = None) -> UpResult:
    """Create or upgrade the environment of `pr` and check its URL, holding its lock (a
    run that holds it already is waited for, or `lease.Busy` when `lock.wait` is off);
    `on_locked` is told once it is held (the CLI then says "being built" on the PR)."""
    phase = _Phases(phase_started)
    values = config.vcluster_values
    with phase("check"):
        progress(f"checking the chart and values of {pr.full_name} PR {pr.number}")
        await check(config, env, values)
    async with host.client() as kube, contextlib.AsyncExitStack() as stack:
        with phase("lock"):
            # Counted before the lock, which creates the namespace when it is new.
            await _check_capacity(kube, env, config.policy)
            held = await stack.enter_async_context(exclusive.for_up(
                kube, env, lock, naming.namespace_labels(env, config.labels), progress))
        if on_locked is not None:
            on_locked()
        now = now or dt.datetime.now(dt.UTC)  # after any wait: the TTL counts from here
        with phase("namespace"):
            await _ensure_namespace(kube, env, pr, config, now, progress)
        try:
            with phase("vcluster"):
                await _wake_if_asleep(kube, env, config, progress)
                await _ensure_vcluster(host, kube, env, values, config, progress)
            connecting = phase.started("connect")
            async with connect.connect(kube, env.vcluster, env.namespace) as path, \
                    KubeClient(from_kubeconfig(path), "preview-up") as virtual:
                await _wait_answers(virtual, progress)
                phase.seconds["connect"] = round(time.monotonic() - connecting, 2)
                diagnostics, url, other_urls = await _deploy(deploy.VirtualCluster(path, virtual), config,
                                                 phase, progress)
        except Exception as e:
            reason = e.message if isinstance(e, PreviewError) else f"{type(e).__name__}: {e}"
            await _record_state(kube, env, "failed", reason)
            raise
        # The URL as printed (with the ingress's port), and how this run left it: one patch.
        state = naming.state_annotations("failed", diagnostics.sentence) if diagnostics \
            else naming.state_annotations("ready")
        await kube.patch(ownership.NAMESPACES, None, env.namespace,
                         {"metadata": {"annotations": {naming.URL: url, **state}}})
        cost_text = await _cost_so_far(kube, env, config.policy)
        if held.lost:
            raise PreviewError(f"this run lost the lock of {env.name} while working: "
                               f"{held.lost}; another run may have changed the environment "
                               "since", "run `preview up` again to apply this commit")
    return UpResult(
        environment=env.name, namespace=env.namespace, vcluster=env.vcluster, url=url,
        head_sha=pr.head_sha, status="failed" if diagnostics else "ready",
        phases=phase.seconds,
        expires_at=rfc3339(now + dt.timedelta(seconds=config.ttl_seconds)),
        diagnostics=diagnostics, kubeconfig_hint=kubeconfig.hint(env), waited_for=held.waited,
        other_urls=other_urls, cost=cost_text)


async def _cost_so_far(kube: KubeClient, env: naming.Environment,
                        rules: policy.Policy) -> str:
    """The comment's cost line ("" when the policy has no rates); best effort: a cost that
    cannot be read is left out, never the run's failure."""
    try:
        return await cost.so_far(kube, env.namespace, cost.rates(rules))
    except (PreviewError, aiohttp.ClientError, OSError) as e:
        log.warning("could not read the cost of %s: %s", env.name, e)
        return ""


async def _record_state(kube: KubeClient, env: naming.Environment, state: str,
                        reason: str) -> None:
    """Best effort: the run already failed; a failure to record it must not hide why."""
    try:
        await kube.patch(ownership.NAMESPACES, None, env.namespace, {"metadata": {
            "annotations": naming.state_annotations(state, reason.splitlines()[0]
                                                    if reason else "")}})
    except (PreviewError, aiohttp.ClientError, OSError) as e:
        log.warning("could not record the state of %s: %s", env.name, e)


async def _check_capacity(kube: KubeClient, env: naming.Environment,
                          rules: policy.Policy) -> None:
    """A new environment within the policy's counts (per repository, in total), counted
    on the host before anything is created. Two runs racing for the last place may both
    pass: the count is a cap on growth, not a lock."""
    caps = rules.caps.environments
    if caps.per_repository is None and caps.total is None:
        return
    listed = await kube.list(ownership.NAMESPACES, None,
                             f"{naming.MANAGED_BY}={naming.MANAGED_BY_VALUE}")
    existing = {item["metadata"]["name"]: (item["metadata"].get("labels") or {}).get(
        naming.REPO, "") for item in listed.get("items") or []}
    problem = policy.environment_count_problem(
        rules, env.repo_label, env.namespace, existing)
    if problem:
        raise BadInput(f"{env.name} of {env.full_name}: {problem}",
                       "close another pull request's environment (`preview down`), or ask "
                       "the platform team to raise the cap")


async def _ensure_namespace(kube: KubeClient, env: naming.Environment, pr: PullRequest,
                            config: RenderedConfig, now: dt.datetime,
                            progress: Progress) -> str:
    """The namespace with this `up`'s labels and annotations; returns the URL it records
    ("" when none yet)."""
    existing = await ownership.find(kube, env)
    if existing is not None and existing["metadata"].get("deletionTimestamp"):
        raise PreviewError(f"namespace {env.namespace} is being deleted (a `preview down` of "
                           f"{env.name} is under way)",
                           "wait until it is gone (`preview list`), then run `preview up` again")
    patch = namespace_patch(env, pr, config, existing, now)
    if existing is None:
        try:
            await kube.create(ownership.NAMESPACES, None,
                              {"metadata": {"name": env.namespace, **patch["metadata"]}})
            progress(f"created namespace {env.namespace}")
            return ""
        except Conflict:
            existing = await ownership.find(kube, env)  # made concurrently: ours?
    await kube.patch(ownership.NAMESPACES, None, env.namespace, patch)
    expires = patch["metadata"]["annotations"][naming.EXPIRES_AT]
    progress(f"namespace {env.namespace}: expires {expires}")
    notes = ((existing or {}).get("metadata") or {}).get("annotations") or {}
    return str(notes.get(naming.URL) or "")


async def _wake_if_asleep(kube: KubeClient, env: naming.Environment, config: RenderedConfig,
                          progress: Progress) -> None:
    """A push to a sleeping environment wakes it first, as it was (`preview wake`): the
    upgrade below then starts from the workloads' own replicas, not from zero."""
    sts = await kube.get(lifecycle.STATEFULSETS, env.namespace, env.vcluster)
    if sts is None or not sleeping.is_asleep(sts):
        return
    progress(f"environment {env.name} is asleep: waking it first")
    await sleep.wake_held(kube, env, progress, time.monotonic() + config.timeouts.vcluster)


async def _ensure_vcluster(host: HostCluster, kube: KubeClient, env: naming.Environment,
                           values: dict[str, Any], config: RenderedConfig,
                           progress: Progress) -> None:
    """Plan the release once (its values were checked in step 0) and apply the plan, or
    nothing when the release already runs with these values. The config is the whole
    desired state: a key dropped from it goes back to the chart's default (reset_values)."""
    planned = await lifecycle.plan(host, kube, env.vcluster, env.namespace, values,
                                   reset_values=True)
    if planned.unchanged:
        progress(f"virtual cluster {env.vcluster} is running with these values")
        return
    await lifecycle.apply(planned, host, kube, progress, timeout=config.timeouts.vcluster)


async def _wait_answers(virtual: KubeClient, progress: Progress) -> None:
    """Until the virtual API answers through the tunnel (k3s may still be starting)."""
    deadline = time.monotonic() + CONNECT_TIMEOUT
    while True:
        try:
            await virtual.request("GET", "/version")
            return
        except (ApiError, aiohttp.ClientError, OSError, TimeoutError) as e:
            if time.monotonic() > deadline:
                raise PreviewError(f"the virtual API did not answer through the port-forward "
                                   f"within {CONNECT_TIMEOUT:.0f}s: {e}",
                                   "look at the control-plane pod's logs (k3s container)") from e
            progress("waiting for the virtual API to answer")
            await asyncio.sleep(0.5)


async def _deploy(vc: deploy.VirtualCluster, config: RenderedConfig, phase: _Phases,
                  progress: Progress) -> tuple[Diagnostics | None, str, tuple[str, ...]]:
    """Steps 4-6; a failure becomes diagnostics (the environment stays for inspection).
    Also the URLs of the other hosts of the namespace's Ingresses, once they are known."""
    url = check_url = config.url
    others: tuple[str, ...] = ()
    timeouts = config.timeouts
    # `timeouts.deploy` bounds install and readiness together, as a user reads it.
    deadline = time.monotonic() + timeouts.deploy

    def left() -> float:
        return max(deadline - time.monotonic(), 1.0)

    try:
        with phase("deploy"):
            await deploy.install(vc, chart_ref(config), config.release, config.namespace,
                                 config.values, timeouts.deploy, progress)
        health = config.health_check
        with phase("wait"):
            await deploy.wait_ready(vc, config.namespace, config.release,
                                    config.readiness_kinds, left(), progress)
            if health is not None:
                address = await deploy.wait_ingress(vc, config.namespace, config.host,
                                                    left(), progress)
                if config.url_scheme_auto:
                    check_url = url = url_scheme(url, deploy.has_tls(address, config.host))
                url = reachable_url(url, {"http": address.http_port,
                                          "https": address.https_port})
                others = host_urls(address, url)
        if health is not None:
            with phase("health"):
                path = health.path

                async def backend() -> str:
                    return await deploy.describe_backend(vc, config.namespace, address.ingress,
                                                         config.host, path)
                await deploy.health_check(check_url, address, path, health.expect_status,
                                          timeouts.health, progress, ca_file=health.ca_file,
                                          insecure=not health.verify_tls, backend=backend)
    except deploy.DeployFailed as e:
        return e.diagnostics, url, others
    except PreviewError as e:
        progress(f"failed: {e.message}")
        return await _diagnose(vc, config, e), url, others
    return None, url, others


async def _diagnose(vc: deploy.VirtualCluster, config: RenderedConfig,
                    error: PreviewError) -> Diagnostics:
    try:
        headline = error.message + (f"\nhint: {error.hint}" if error.hint else "")
        return await deploy.collect_diagnostics(
            vc, config.namespace, config.release, headline=headline,
            workloads_ready=isinstance(error, deploy.HealthCheckFailed))
    except (PreviewError, ApiError, aiohttp.ClientError, OSError) as e:
        log.warning("collecting diagnostics failed: %s", e)
        return Diagnostics(summary=error.message, pods=(), helm_status="")
