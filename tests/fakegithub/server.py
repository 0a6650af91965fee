"""A strict fake of the parts of GitHub's REST API that preview-vcluster uses, over HTTP.

It is a real HTTP server in a thread, so tests drive it with our transport
(`preview.github.client`) over the wire, with its retries, pagination and typed errors. It is served under `/api/v3`, the
GitHub Enterprise layout, so the base-URL handling that GHES needs is exercised too.

This module is the HTTP side and the misbehaviour: tokens (401 "Bad credentials"; 403
"Resource not accessible by integration" for `GET /user` with an Actions token or any write
with a read-only one), rate-limit headers, injected faults, barriers that force races, and the
request log tests assert on. What GitHub answers is `api.py`. Anything the fake does not know
answers 404, like GitHub, and is logged so tests notice.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fakegithub.api import PREFIX, GitHubApi, HttpError, Request


@dataclass
class Fault:
    """One injected answer for a route instead of (or after) the real handling.

    `apply=True` performs the request first and then answers `status` anyway: the server
    created the comment but the client saw a 502, the case that makes POST retries unsafe.
    With `apply=True` and a status below 400 the real answer is sent, `delay` seconds late.
    """

    status: int = 502
    apply: bool = False
    retry_after: int | None = None
    secondary_rate_limit: bool = False
    delay: float = 0.0  # seconds to stall before answering (with apply=True: after the work)
    reset_in: int | None = None  # primary rate limit: exhausted until now + reset_in

    def error(self) -> HttpError:
        if self.reset_in is not None:
            return HttpError(self.status, "API rate limit exceeded for installation ID 1.", {
                "x-ratelimit-limit": "5000", "x-ratelimit-remaining": "0",
                "x-ratelimit-used": "5000", "x-ratelimit-resource": "core",
                "x-ratelimit-reset": str(int(time.time()) + self.reset_in)})
        if self.secondary_rate_limit:
            headers = {"Retry-After": str(self.retry_after)} if self.retry_after is not None else {}
            return HttpError(self.status, "You have exceeded a secondary rate limit. Please wait a "
                             "few minutes before you try again.", headers)
        headers = {"Retry-After": str(self.retry_after)} if self.retry_after is not None else {}
        return HttpError(self.status, "Server Error" if self.status >= 500 else "Fault", headers)


@dataclass(frozen=True)
class Logged:
    """One request the fake answered."""

    method: str
    route: str  # the route template, e.g. "POST /repos/{owner}/{repo}/issues/{number}/comments"
    path: str
    status: int
    body: Any


class FakeGitHub(GitHubApi):
    """The fake GitHub served over HTTP, with fault injection and a request log."""

    def __init__(self) -> None:
        super().__init__()
        self.log: list[Logged] = []
        self.faults: dict[str, list[Fault]] = {}
        self.barriers: dict[str, tuple[threading.Barrier, list[int]]] = {}
        self.rate_remaining: dict[str, int] = {}
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def url(self) -> str:
        port = self._server.server_address[1]
        return f"http://127.0.0.1:{port}{PREFIX}"

    def __enter__(self) -> FakeGitHub:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        for barrier, _ in self.barriers.values():
            barrier.abort()
        self._server.shutdown()
        self._server.server_close()

    def inject(self, route: str, *faults: Fault) -> None:
        """The next len(faults) requests matching `route` ("METHOD /template") get these."""
        self._check_route(route)
        with self.lock:
            self.faults.setdefault(route, []).extend(faults)

    def synchronize(self, route: str, parties: int) -> None:
        """Hold the first `parties` requests to `route` until all have arrived (force races)."""
        self._check_route(route)
        self.barriers[route] = (threading.Barrier(parties, timeout=10), [parties])

    def set_rate_remaining(self, token: str, remaining: int) -> None:
        self.rate_remaining[token] = remaining

    # -- assertions ------------------------------------------------------------------------

    def count(self, route: str, status: int | None = None) -> int:
        self._check_route(route)
        with self.lock:
            return sum(1 for e in self.log
                       if f"{e.method} {e.route}" == route and status in (None, e.status))

    def comments(self, full_name: str, number: int) -> list[dict[str, Any]]:
        with self.lock:
            return sorted((c for c in self.repos[full_name.lower()].comments.values()
                           if c["_issue"] == number), key=lambda c: c["id"])

    def deployments(self, full_name: str) -> list[dict[str, Any]]:
        with self.lock:
            return sorted(self.repos[full_name.lower()].deployments.values(),
                          key=lambda d: d["id"])

    # -- serving ---------------------------------------------------------------------------

    def _check_route(self, route: str) -> None:
        if route not in self.route_names():
            raise ValueError(f"the fake has no route {route!r}")

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # else delayed ACKs cost 40 ms per request

            def log_message(self, format: str, *args: Any) -> None:
                pass  # the request log is fake.log

            def _serve(self) -> None:
                fake._serve(self)

            do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _serve

        return _Handler

    def _serve(self, h: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(h.path)
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length) if length else b""
        path = parts.path[len(PREFIX):] if parts.path.startswith(PREFIX) else None
        route = "?"
        headers: dict[str, str] = {}
        try:
            if path is None:
                raise HttpError(404, "Not Found")
            method, handler, groups, route = self._match(h.command, path)
            token = self._token(h.headers.get("Authorization", ""))
            headers.update(self._rate_headers(token))
            try:
                body = json.loads(raw) if raw else None
            except ValueError as e:
                raise HttpError(400, "Problems parsing JSON") from e
            req = Request(h.command, path, {k: v[-1] for k, v in parse_qs(parts.query).items()},
                          body, self.tokens[token], f"http://{h.headers['Host']}{PREFIX}", groups)
            if method != "GET" and token in self.read_only:
                raise HttpError(403, "Resource not accessible by integration")
            self._wait_barrier(f"{method} {route}")
            fault = self._take_fault(f"{method} {route}")
            if fault is not None and not fault.apply:
                time.sleep(fault.delay)
                raise fault.error()
            with self.lock:
                status, payload = handler(req)
            if isinstance(payload, tuple):  # (body, extra headers)
                payload, extra = payload
                headers.update(extra)
            if fault is not None:
                time.sleep(fault.delay)  # the client may have given up: it saw a timeout
                if fault.status >= 400:
                    raise fault.error()
        except HttpError as e:
            status, payload = e.status, e.body
            headers.update(e.headers)
        with self.lock:
            self.log.append(Logged(h.command, route, h.path, status, payload))
        data = b"" if status == 204 else json.dumps(payload).encode()
        try:
            h.send_response(status)
            h.send_header("Content-Type", "application/json; charset=utf-8")
            h.send_header("Content-Length", str(len(data)))
            for k, v in headers.items():
                h.send_header(k, v)
            h.end_headers()
            h.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            h.close_connection = True  # the client timed out and went away

    def _token(self, authorization: str) -> str:
        scheme, _, token = authorization.partition(" ")
        if not token:
            raise HttpError(401, "Requires authentication")
        if scheme.lower() not in ("token", "bearer") or token not in self.tokens:
            raise HttpError(401, "Bad credentials")
        remaining = self.rate_remaining.get(token, 5000)
        if remaining <= 0:
            raise HttpError(403, "API rate limit exceeded for user.", {
                "x-ratelimit-limit": "5000", "x-ratelimit-remaining": "0",
                "x-ratelimit-reset": str(int(time.time()) + 3600), "x-ratelimit-resource": "core"})
        self.rate_remaining[token] = remaining - 1
        return token

    def _rate_headers(self, token: str) -> dict[str, str]:
        remaining = self.rate_remaining[token]
        return {"x-ratelimit-limit": "5000", "x-ratelimit-remaining": str(remaining),
                "x-ratelimit-used": str(5000 - remaining),
                "x-ratelimit-reset": str(int(time.time()) + 3600), "x-ratelimit-resource": "core"}

    def _take_fault(self, route: str) -> Fault | None:
        with self.lock:
            queue = self.faults.get(route)
            return queue.pop(0) if queue else None

    def _wait_barrier(self, route: str) -> None:
        entry = self.barriers.get(route)
        if entry is None:
            return
        barrier, left = entry
        with self.lock:
            if left[0] <= 0:
                return
            left[0] -= 1
        barrier.wait()
