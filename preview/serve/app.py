"""The API's HTTP surface (aiohttp): login, authorization, bundles, and `up`/`down` streamed.

Every request to /v1 carries a GitHub Actions OIDC ID token (`Authorization: Bearer`).
An environment belongs to the token's repository; a create or delete also needs the
token's own pull request (its `ref` is `refs/pull/N/merge`), so a workflow edited by one
pull request cannot touch another's environment. Long operations answer with NDJSON: one
`{"progress": "…"}` per line `preview up` would print, then `{"result": …}` or
`{"error": …}`. The operation runs to its end even when the client goes away.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import re
import socket
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

from aiohttp import web

from preview import config, lease, naming, pullrequest
from preview.errors import BadInput, PreviewError
from preview.kube.host import HostCluster
from preview.operations import developer, down, environments, exclusive, up
from preview.policy import Policy
from preview.pullrequest import PullRequest
from preview.render import plain
from preview.serve import audit, bundle, developers, login, openapi, slots
from preview.serve.metrics import Metrics

log = logging.getLogger(__name__)
_PULL_REF = re.compile(r"refs/pull/(\d+)/(?:merge|head)")


class Verifier(Protocol):
    async def verify(self, token: str) -> login.Caller: ...


@dataclass
class State:
    """What every handler shares (built once by `preview serve`)."""

    host: HostCluster
    policy: Policy
    verifier: Verifier
    workdir: Path  # bundles are unpacked below it, one private directory each
    metrics: Metrics = field(default_factory=Metrics)
    running: set[asyncio.Task[Any]] = field(default_factory=set)
    shutdown_grace: float = 25.0  # how long a SIGTERM waits for running operations
    lease_duration: int = lease.DURATION_SECONDS  # a dead holder blocks an environment this long
    max_creates: int = slots.DEFAULT_LIMIT  # creates built at once; the others are queued
    creates: slots.Slots = field(init=False)

    def __post_init__(self) -> None:
        self.creates = slots.Slots(self.max_creates, on_change=self.metrics.creates_at_once)


class Refused(Exception):
    """A request refused before any work: its HTTP status and why."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


def make_app(state: State) -> web.Application:
    """The application; `state` is reachable from handlers as request.app["state"]."""
    app = web.Application(client_max_size=state.policy.bundles.max_bytes + 64 * 1024,
                          middlewares=[_errors])
    app["state"] = state
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/readyz", _readyz)
    app.router.add_get("/metrics", _metrics)
    app.router.add_get("/openapi.json", _openapi)
    base = "/v1/environments/{owner}/{repo}"
    app.router.add_get(base, _list)
    app.router.add_get(base + "/{pr}", _status)
    app.router.add_put(base + "/{pr}", _create)
    app.router.add_delete(base + "/{pr}", _delete)
    app.router.add_post(base + "/{pr}/kubeconfig", _kubeconfig)
    app.on_shutdown.append(_finish_running)
    return app


@web.middleware
async def _errors(request: web.Request,
                  handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                  ) -> web.StreamResponse:
    state: State = request.app["state"]
    route = request.match_info.route.resource.canonical if request.match_info.route.resource \
        else "unmatched"
    try:
        response = await handler(request)
    except Refused as e:
        state.metrics.request(route, request.method, str(e.status))
        return web.json_response({"error": e.reason}, status=e.status)
    except web.HTTPException as e:
        state.metrics.request(route, request.method, str(e.status))
        raise
    state.metrics.request(route, request.method, str(response.status))
    return response


async def _healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def _readyz(request: web.Request) -> web.Response:
    state: State = request.app["state"]
    try:
        async with state.host.client("preview-serve") as kube:
            await kube.request("GET", "/version")
    except Exception as e:  # any failure means "not ready", said as such
        return web.json_response({"status": f"host API unreachable: {e}"}, status=503)
    return web.json_response({"status": "ready"})


async def _metrics(request: web.Request) -> web.Response:
    state: State = request.app["state"]
    body, content_type = state.metrics.exposition()
    return web.Response(body=body, headers={"Content-Type": content_type})


async def _openapi(request: web.Request) -> web.Response:
    return web.json_response(openapi.DOCUMENT)


async def _caller(request: web.Request) -> tuple[State, login.Caller]:
    """The verified caller (401) allowed by the policy (403)."""
    state: State = request.app["state"]
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Refused(401, "no token: send the job's GitHub Actions OIDC ID token as "
                           "'Authorization: Bearer <token>'")
    try:
        caller = await state.verifier.verify(token.strip())
    except login.LoginRefused as e:
        raise Refused(401, f"token refused: {e.reason}") from None
    except login.IssuerUnavailable as e:
        raise Refused(503, f"cannot check tokens now: {e.message}") from None
    why = login.authorize(caller, state.policy)
    if why:
        raise Refused(403, why)
    return state, caller


def _repository(request: web.Request, caller: login.Caller) -> tuple[str, str]:
    owner, repo = request.match_info["owner"], request.match_info["repo"]
    try:
        pullrequest.split_repo(f"{owner}/{repo}", "path")
    except BadInput as e:
        raise Refused(400, e.message) from None
    if not login.owns(caller, f"{owner}/{repo}"):
        raise Refused(403, f"the token of {caller.repository} cannot act on {owner}/{repo}'s "
                           "environments")
    return owner, repo


def pull_request_of(caller: login.Caller) -> int | None:
    """The pull request a token's run is for (`ref` refs/pull/N/merge), else None (pure)."""
    match = _PULL_REF.fullmatch(caller.ref or "")
    return int(match.group(1)) if match else None


def _own_pull_request(request: web.Request, caller: login.Caller) -> int:
    try:
        number = pullrequest.check_number(request.match_info["pr"], "path")
    except BadInput as e:
        raise Refused(400, e.message) from None
    if pull_request_of(caller) != number:
        raise Refused(403, f"the token's run is for {caller.ref or 'no pull request'}, not "
                           f"pull request #{number}")
    return number


async def _list(request: web.Request) -> web.Response:
    state, caller = await _caller(request)
    owner, repo = _repository(request, caller)
    rows = await environments.list_environments(state.host, owner, repo)
    return web.json_response({"environments": plain(rows)})


async def _status(request: web.Request) -> web.Response:
    state, caller = await _caller(request)
    owner, repo = _repository(request, caller)
    number = pullrequest.check_number(request.match_info["pr"], "path")
    rows = [r for r in await environments.list_environments(state.host, owner, repo)
            if r.pr == number]
    if not rows:
        raise Refused(404, f"{owner}/{repo} PR #{number} has no environment")
    return web.json_response(plain(rows[0]))


def run_url_of(given: str, caller: login.Caller) -> str:
    """The run's link as the action sends it, kept only when it names the token's own
    repository and run (pure): it is shown in the namespace's annotation."""
    pattern = (r"https://[A-Za-z0-9.-]+(?::\d+)?/" + re.escape(caller.repository)
               + r"/actions/runs/" + re.escape(caller.run_id))
    return given if caller.run_id and re.fullmatch(pattern, given) else ""


def _config_path(value: str) -> PurePosixPath:
    path = PurePosixPath(value or config.DEFAULT_FILE)
    if path.is_absolute() or ".." in path.parts:
        raise Refused(400, f"config {value!r}: a path inside the bundle")
    return path


async def _create(request: web.Request) -> web.StreamResponse:
    state, caller = await _caller(request)
    owner, repo = _repository(request, caller)
    number = _own_pull_request(request, caller)
    query = request.query
    try:
        sha = pullrequest.check_sha(query.get("sha", ""), "sha", full=True)
    except BadInput as e:
        raise Refused(400, e.message) from None
    config_path = _config_path(query.get("config", ""))
    data = await request.read()
    env = naming.environment_for(owner, repo, number)
    pr = PullRequest(owner=owner, repo=repo, number=number, head_sha=sha,
                     branch=query.get("branch", ""), author=query.get("author", ""),
                     title=query.get("title", ""), head_repo=f"{owner}/{repo}",
                     run_url=caller.run_url or run_url_of(query.get("run_url", ""), caller))
    workdir = Path(tempfile.mkdtemp(prefix="bundle-", dir=state.workdir))
    try:
        checkout = workdir / "repo"
        checkout.mkdir()
        try:
            bundle.unpack(data, checkout, bundle.limits_of(state.policy))
            loaded = config.load(Path(*config_path.parts), cwd=checkout, root=checkout)
            if loaded.spec.domain is None and state.policy.ingress.domains:
                domain = state.policy.ingress.domains[0]
                loaded = dataclasses.replace(
                    loaded, spec=loaded.spec.model_copy(update={"domain": domain}))
            rendered = config.render(loaded, pr, env, state.policy)
        except bundle.BundleRefused as e:
            await _audit(state, "create", pr, env, "refused", e.message, caller)
            raise Refused(e.status, e.message) from None
        except PreviewError as e:
            await _audit(state, "create", pr, env, "refused", e.message, caller)
            return web.json_response({"error": e.message, "hint": e.hint}, status=400)

        timeouts = rendered.timeouts
        lock = _lock(state, caller, timeouts.vcluster + timeouts.deploy + timeouts.health)

        async def run(progress: Callable[[str], None]) -> dict[str, Any]:
            async with state.creates.take(progress):
                started = time.monotonic()
                result = await up.up(state.host, pr, rendered, env, progress, lock=lock)
                state.metrics.created(result.status, time.monotonic() - started)
            await _audit(state, "create", pr, env, result.status,
                         result.diagnostics.summary if result.diagnostics else result.url,
                         caller)
            return {"result": plain(result)}

        return await _stream(request, state, run, lambda e: _audit(
            state, "create", pr, env, "error", str(e), caller), cleanup=workdir)
    except BaseException:
        _remove(workdir)
        raise


async def _delete(request: web.Request) -> web.StreamResponse:
    state, caller = await _caller(request)
    owner, repo = _repository(request, caller)
    number = _own_pull_request(request, caller)
    env = naming.environment_for(owner, repo, number)
    pr = PullRequest(owner=owner, repo=repo, number=number, head_sha="", branch="", author="")

    async def run(progress: Callable[[str], None]) -> dict[str, Any]:
        result = await down.down(state.host, env, progress, lock=_lock(state, caller, 300.0))
        await _audit(state, "delete", pr, env, "torn-down", "", caller)
        return {"result": plain(result)}

    return await _stream(request, state, run, lambda e: _audit(
        state, "delete", pr, env, "error", str(e), caller))


async def _kubeconfig(request: web.Request) -> web.Response:
    """A developer's kubeconfig of the virtual cluster: the caller logs in with their own
    GitHub token (not an OIDC one) and needs the policy's role on the repository."""
    state: State = request.app["state"]
    owner, repo = request.match_info["owner"], request.match_info["repo"]
    try:
        pullrequest.split_repo(f"{owner}/{repo}", "path")
        number = pullrequest.check_number(request.match_info["pr"], "path")
    except BadInput as e:
        raise Refused(400, e.message) from None
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Refused(401, "no GitHub token: send 'Authorization: Bearer <your GitHub "
                           "token>' (preview kubeconfig --api does)")
    full_name = f"{owner}/{repo}"
    if not state.policy.allows_repository(full_name):
        raise Refused(403, f"{full_name} is not allowed by the platform policy (repositories)")
    try:
        person = await developers.identify(token.strip(), full_name, state.policy)
    except developers.DeveloperRefused as e:
        raise Refused(e.status, e.reason) from None
    except PreviewError as e:  # GitHub could not be asked
        raise Refused(503, f"cannot ask GitHub who this is now: {e.message}") from None
    env = naming.environment_for(owner, repo, number)
    pr = PullRequest(owner=owner, repo=repo, number=number, head_sha="", branch="", author="")
    who = {"actor": person.login, "actor_id": str(person.user_id), "role": person.role,
           "login": "github-token"}
    rules = state.policy.developers
    try:
        access = await developer.developer_kubeconfig(
            state.host, env, person.login, rules.cluster_role, rules.token_expiry,
            rules.exposure)
    except developer.NotFoundEnvironment as e:
        raise Refused(404, e.message) from None
    except PreviewError as e:
        await _audit_as(state, "kubeconfig", pr, env, "error", e.message, who)
        return web.json_response({"error": e.message, "hint": e.hint}, status=409)
    await _audit_as(state, "kubeconfig", pr, env, "issued",
                    f"ServiceAccount {access.service_account} ({access.cluster_role}) until "
                    f"{access.expires_at}", who)
    return web.json_response({"kubeconfig": access.kubeconfig, "login": access.login,
                              "serviceAccount": access.service_account,
                              "clusterRole": access.cluster_role,
                              "expiresAt": access.expires_at, "server": access.server})


async def _stream(request: web.Request, state: State,
                  run: Callable[[Callable[[str], None]], Awaitable[dict[str, Any]]],
                  failed: Callable[[BaseException], Awaitable[None]],
                  cleanup: Path | None = None) -> web.StreamResponse:
    """Answer with NDJSON: progress lines, then the result or the error. The operation is
    a task of its own: a client that goes away does not stop it half-way."""
    lines: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()

    async def operation() -> None:
        try:
            lines.put_nowait(await run(lambda line: lines.put_nowait({"progress": line})))
        except PreviewError as e:
            await failed(e)
            lines.put_nowait({"error": {"message": e.message, "hint": e.hint,
                                        "bad_input": isinstance(e, BadInput)}})
        except Exception as e:
            log.exception("operation failed")
            await failed(e)
            lines.put_nowait({"error": {"message": f"{type(e).__name__}: {e}",
                                        "hint": "see the API's log", "bad_input": False}})
        finally:
            lines.put_nowait(None)
            if cleanup is not None:
                _remove(cleanup)

    task = asyncio.create_task(operation())
    state.running.add(task)
    task.add_done_callback(state.running.discard)
    response = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
    await response.prepare(request)
    while (item := await lines.get()) is not None:
        try:
            await response.write(json.dumps(item).encode() + b"\n")
        except (ConnectionResetError, RuntimeError):
            log.info("client went away; the operation goes on")
            break
    else:
        await response.write_eof()
    return response


def _lock(state: State, caller: login.Caller, timeout: float) -> exclusive.Lock:
    """The caller's run as the holder of the environment's Lease: the same Lease the CLI
    takes, so an API run and a CLI run of one environment wait for each other too."""
    run = f"run {caller.run_id}" + (f" attempt {caller.run_attempt}"
                                    if caller.run_attempt else "")
    if caller.run_url:
        run += f" ({caller.run_url})"
    holder = lease.Holder(f"{run} via preview serve on {socket.gethostname()}")
    return exclusive.Lock(holder, wait=True, timeout=timeout, duration=state.lease_duration)


async def _audit(state: State, action: str, pr: PullRequest, env: naming.Environment,
                 outcome: str, detail: str, caller: login.Caller) -> None:
    await _audit_as(state, action, pr, env, outcome, detail, caller.audit_fields())


async def _audit_as(state: State, action: str, pr: PullRequest, env: naming.Environment,
                    outcome: str, detail: str, who: dict[str, str]) -> None:
    async with state.host.client("preview-serve") as kube:
        await audit.record(kube, audit.Entry(action, pr.full_name, pr.number, env.namespace,
                                             outcome, detail, who))


async def _finish_running(app: web.Application) -> None:
    """On shutdown (SIGTERM), let running operations end, bounded by the pod's grace."""
    state: State = app["state"]
    if state.running:
        await asyncio.wait(list(state.running), timeout=state.shutdown_grace)


def _remove(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)
