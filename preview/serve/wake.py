"""The wake page: what a sleeping environment's URL answers, served on its own listener
(`preview serve --wake-listen`), where the policy's `wakePage` sends the host's ingress
controller (docs/sleep.md).

A request on any path, with any method, is looked up by its Host header only: among the
host Ingresses that sleep pointed at the wake page (labelled `naming.WAKE_PAGE`), the one
whose rules name that host, in a namespace that is one of our environments. Nothing else
of the request is read, and no login is asked (it is the app's public URL), so an
anonymous caller can do exactly one thing: wake an environment that is asleep. Requests
are coalesced: one wake per environment at a time in this process (a second request joins
it), and across processes the environment's Lease (the wake waits for the holder, then
finds it awake); lookups are cached for `LOOKUP_SECONDS` per host, and a wake that failed
is not tried again for `RETRY_FAILED_SECONDS`.

The answer is 503 with `Retry-After`, as a server that is temporarily unable to serve
says (RFC 9110 §15.6.4): the app is not there yet, so nothing (a monitor, a cache, a
crawler) should take the page for the app's content; browsers show the page all the same.
It reloads itself every few seconds (`<meta http-equiv="refresh">`, no script) and says
which step the wake is at; the Ingress is restored only once the app has ready endpoints,
so the reload after that lands in the app. A host no sleeping environment has gets 404
and changes nothing; one whose wake is ending or ended here within `WOKEN_SECONDS` gets the
page saying the app is loading (an ingress controller takes a moment to see the restored
Ingress, and a reload meanwhile still comes here).
"""

from __future__ import annotations

import asyncio
import html
import logging
import socket
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from preview import lease, naming, sleeping
from preview.cost.report import Rates
from preview.errors import PreviewError
from preview.kube.host import HostCluster
from preview.kube.resources import INGRESSES, NAMESPACES
from preview.operations import exclusive, sleep, sleep_news
from preview.serve import audit

log = logging.getLogger(__name__)
RETRY_AFTER = 3  # seconds: how often the page reloads, and what Retry-After says
LOOKUP_SECONDS = 2.0  # a host's lookup is reused this long (a burst costs one API list)
RETRY_FAILED_SECONDS = 30.0
WOKEN_SECONDS = 60.0  # how long after a wake its hosts still get "loading the app"
WAKING = ("This preview environment was asleep (no activity for a while). Your visit woke "
          "it; this page reloads by itself and shows the app once it answers, usually within "
          "a minute.")
WAKE_TIMEOUT = 600.0
_MAX_CACHED = 1024
_MAX_HOST = 253


@dataclass(frozen=True)
class Sleeping:
    """An environment whose URL is the wake page's, found by a Host."""

    env: naming.Environment
    repository: str


@dataclass
class Wake:
    """One wake of one environment in this process, and what the page says about it."""

    found: Sleeping
    step: str = "starting"
    failed_at: float = 0.0  # monotonic time it failed, 0 while running or once woken
    woken_at: float = 0.0  # monotonic time it ended well
    task: asyncio.Task[None] | None = None
    hosts: set[str] = field(default_factory=set)  # the Hosts whose requests it answered

    def loading(self, host: str, now: float) -> bool:
        """Whether a request for `host` that finds no sleeping environment is one the
        ingress controller still sends here after this wake restored the Ingress."""
        return host in self.hosts and not self.failed_at and \
            (not self.woken_at or now - self.woken_at < WOKEN_SECONDS)


@dataclass
class Waker:
    """What the wake listener shares: the host, the running wakes, the lookup cache."""

    host: HostCluster
    lease_duration: int = lease.DURATION_SECONDS
    timeout: float = WAKE_TIMEOUT
    # Tells the pull request it is ready again (`preview serve --github-token`); None: not
    # told, its comment says asleep until the next push or sleep.
    notify: sleep_news.Notify | None = None
    rates: Rates | None = None  # the policy's, for the cost line of that comment
    running: set[asyncio.Task[Any]] = field(default_factory=set)  # for the API's shutdown
    wakes: dict[str, Wake] = field(default_factory=dict)  # namespace -> its wake
    lookups: dict[str, tuple[float, Sleeping | None]] = field(default_factory=dict)
    # Lookups under way at once (an API list each): a flood of made-up hosts queues here.
    lookup_gate: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(2))


def step_of(line: str) -> str | None:
    """The step a wake's progress line means, in words for anyone (pure): the page never
    shows the lines themselves (they name the environment's insides)."""
    if line.startswith("ingress ") and "restored" in line:
        return "ready: loading the app"
    if line.startswith("waiting for service"):
        return "waiting for the app to answer"
    if line.endswith(": restored"):
        return "starting the app"
    if line.startswith("control plane"):
        return "starting its virtual cluster"
    return None


def page(title: str, message: str, step: str, refresh: bool) -> str:
    """The HTML page (pure; every piece of text escaped)."""
    meta = f'<meta http-equiv="refresh" content="{RETRY_AFTER}">' if refresh else ""
    return ("<!doctype html>\n<html><head><meta charset=\"utf-8\">" + meta
            + f"<title>{html.escape(title)}</title>"
            "<style>body{font-family:sans-serif;max-width:40em;margin:4em auto;"
            "padding:0 1em;color:#222}</style></head>\n<body>"
            f"<h1>{html.escape(title)}</h1><p>{html.escape(message)}</p>"
            + (f"<p><strong>Now:</strong> {html.escape(step)}</p>" if step else "")
            + "</body></html>\n")


def request_host(header: str) -> str:
    """The Host header without its port, lower case (pure; "" when it cannot be a host)."""
    host = header.strip().lower()
    host = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    return host if 0 < len(host) <= _MAX_HOST and host.isascii() else ""


def make_wake_app(waker: Waker) -> web.Application:
    """The wake listener's application: every path answers the wake page."""
    app = web.Application(client_max_size=1024)
    app["waker"] = waker
    app.router.add_route("*", "/{tail:.*}", _handle)
    return app


async def _handle(request: web.Request) -> web.Response:
    waker: Waker = request.app["waker"]
    host = request_host(request.headers.get("Host", ""))
    found = await _lookup(waker, host) if host else None
    if found is None:
        now = time.monotonic()
        ended = next((w for w in waker.wakes.values() if w.loading(host, now)), None)
        if ended is not None:
            return _answer(503, page(_title(ended.found), WAKING, "ready: loading the app",
                                     refresh=True))
        return _answer(404, page("No sleeping preview here",
                                 "No sleeping preview environment answers at this address.",
                                 "", refresh=False))
    wake = _start(waker, found)
    wake.hosts.add(host)
    message = WAKING
    if wake.failed_at:
        message = ("This preview environment could not be woken just now; it is tried again "
                   "in a little while (the platform's API log says why).")
    return _answer(503, page(_title(found), message, wake.step, refresh=True))


def _title(found: Sleeping) -> str:
    return f"{found.repository} #{found.env.pr} is waking up"


def _answer(status: int, body: str) -> web.Response:
    headers = {"Cache-Control": "no-store", "X-Robots-Tag": "noindex"}
    if status == 503:
        headers["Retry-After"] = str(RETRY_AFTER)
    return web.Response(status=status, text=body, content_type="text/html", headers=headers)


async def _lookup(waker: Waker, host: str) -> Sleeping | None:
    """The sleeping environment whose wake-page Ingress names `host` (cached briefly)."""
    now = time.monotonic()
    cached = waker.lookups.get(host)
    if cached is not None and now - cached[0] < LOOKUP_SECONDS:
        return cached[1]
    async with waker.lookup_gate:
        found = await _find(waker, host)
    if len(waker.lookups) >= _MAX_CACHED:
        waker.lookups.pop(next(iter(waker.lookups)))
    waker.lookups[host] = (now, found)
    return found


async def _find(waker: Waker, host: str) -> Sleeping | None:
    selector = f"{naming.WAKE_PAGE}=true,{naming.MANAGED_BY}={naming.SYNCER_VALUE}"
    async with waker.host.client("preview-serve-wake") as kube:
        listed = (await kube.list(INGRESSES, None, selector)).get("items") or []
        for ingress in listed:
            if host not in sleeping.ingress_hosts(ingress):
                continue
            namespace = await kube.get(NAMESPACES, None, ingress["metadata"]["namespace"])
            record = naming.read_environment(namespace) if namespace else None
            if record is None or record.terminating or not record.pr:
                continue  # not one of our environments: never acted on
            owner, _, name = record.repo.partition("/")
            try:
                env = naming.environment_for(owner, name, record.pr,
                                             naming.app_of(record.environment, record.pr))
            except ValueError:
                continue
            if env.namespace != record.namespace or not naming.is_owned(ingress, env.vcluster):
                continue
            return Sleeping(env, record.repo)
    return None


def _start(waker: Waker, found: Sleeping) -> Wake:
    """The environment's wake: the running one, or a new one (not within
    RETRY_FAILED_SECONDS of one that failed)."""
    namespace = found.env.namespace
    current = waker.wakes.get(namespace)
    if current is not None and current.task is not None and (
            not current.task.done() or
            (current.failed_at and time.monotonic() - current.failed_at < RETRY_FAILED_SECONDS)):
        return current
    wake = Wake(found)
    wake.task = asyncio.create_task(_wake(waker, found, wake))
    waker.wakes[namespace] = wake
    waker.running.add(wake.task)
    wake.task.add_done_callback(waker.running.discard)
    return wake


async def _wake(waker: Waker, found: Sleeping, wake: Wake) -> None:
    env = found.env

    def progress(line: str) -> None:
        log.info("wake %s: %s", env.namespace, line)
        wake.step = step_of(line) or wake.step

    holder = lease.Holder(f"the wake page of preview serve on {socket.gethostname()}")
    lock = exclusive.Lock(holder, wait=True, timeout=waker.timeout,
                          duration=waker.lease_duration)
    try:
        result = await sleep.wake(waker.host, env, progress, lock=lock, timeout=waker.timeout,
                                  notify=waker.notify, rates=waker.rates)
        outcome, detail = "ready", f"woken by a request to its URL in {result.seconds}s"
        wake.step = "ready: loading the app"
        wake.woken_at = time.monotonic()
        if result.pull_request:
            log.info("wake %s: pull request %s", env.namespace, result.pull_request)
    except PreviewError as e:
        outcome, detail = "error", e.message
        wake.failed_at = time.monotonic()
        log.warning("wake %s failed: %s", env.namespace, e.message)
    except Exception as e:
        outcome, detail = "error", f"{type(e).__name__}: {e}"
        wake.failed_at = time.monotonic()
        log.exception("wake %s failed", env.namespace)
    waker.lookups.clear()
    await _audit(waker, found, outcome, detail)


async def _audit(waker: Waker, found: Sleeping, outcome: str, detail: str) -> None:
    entry = audit.Entry("wake", found.repository, found.env.pr, found.env.namespace, outcome,
                        detail, {"actor": "a request to its URL", "login": "wake-page"})
    try:
        async with waker.host.client("preview-serve-wake") as kube:
            await audit.record(kube, entry)
    except PreviewError as e:
        log.warning("no audit Event for the wake of %s: %s", found.env.namespace, e.message)

