"""The one async client our components use to talk to a Kubernetes API server.

Plain dicts in and out (what the API speaks). Transient failures — connection errors, 429,
500/502/503/504 — are retried here with exponential back-off (honouring Retry-After);
everything else surfaces as one `ApiError` carrying the server's `Status`. The server's
warnings are logged, each once (`preview/kube/warnings.py`).
"""

from __future__ import annotations

import json
import logging
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from preview.errors import PreviewError
from preview.kube.connection import Connection
from preview.kube.warnings import WarningLog

log = logging.getLogger(__name__)
TRANSIENT_STATUS = frozenset({429, 500, 502, 503, 504})
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"


@dataclass(frozen=True)
class Resource:
    """A resource type as the REST paths name it."""

    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool = True

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def path(self, namespace: str | None = None, name: str = "", subresource: str = "") -> str:
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace:
            base += f"/namespaces/{namespace}"
        base += f"/{self.plural}"
        if name:
            base += f"/{name}"
        if subresource:
            base += f"/{subresource}"
        return base


class ApiError(PreviewError):
    """A non-transient answer of the API server (or a transient one that kept failing).

    Raised as the subclass for its status (`NotFound`, `Conflict`, …): callers catch the
    type, never compare `status`. `reason` is the server's Status reason (`AlreadyExists` and
    `Conflict` are both 409).
    """

    hint_text: str | None = None

    def __init__(self, status: int, body: Any, method: str = "", path: str = "") -> None:
        self.status = status
        self.body = body if isinstance(body, dict) else {"message": str(body)}
        self.reason = self.body.get("reason", "")
        api_message = str(self.body.get("message") or f"HTTP {status}")
        self.retry_after = 0.0
        where = f" {method} {path}".rstrip() + ":" if method or path else ""
        super().__init__(f"the Kubernetes API answered{where} {status} {self.reason}: "
                         f"{api_message}".replace("  ", " "), self.hint_text)
        self.message = api_message  # the server's own words, as callers quote them
        self.summary = self.args[0]

    def __str__(self) -> str:
        return f"{self.summary}\nhint: {self.hint}" if self.hint else self.summary


class BadRequest(ApiError):
    """400: the request itself is malformed."""


class Unauthorized(ApiError):
    """401: the credentials were not accepted."""

    hint_text = ("the kubeconfig's credentials were not accepted: refresh them (for EKS/GKE/"
                 "AKS, check the exec plugin in the kubeconfig works on its own)")


class Forbidden(ApiError):
    """403: RBAC (or admission) refused."""

    hint_text = "the kubeconfig's user lacks the permission named in the message"


class NotFound(ApiError):
    """404: no such object (or resource type)."""


class Conflict(ApiError):
    """409: a conflict (stale resourceVersion, failed precondition) or AlreadyExists."""

    hint_text = "the object changed meanwhile: run again"


class AlreadyExists(Conflict):
    """409 with reason AlreadyExists: an object with that name exists."""


class Gone(ApiError):
    """410: the requested resourceVersion is too old; relist."""


class Invalid(ApiError):
    """422: the object failed validation (the message names the field)."""

    hint_text = "fix the field named in the message"


class TooManyRequests(ApiError):
    """429: the server throttled us, and kept doing so through the retries."""

    hint_text = "the API server is overloaded: run again later"


class ServerError(ApiError):
    """5xx: the server failed, and kept failing through the retries."""

    hint_text = "the API server is failing: check the cluster, then run again"


_BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequest, 401: Unauthorized, 403: Forbidden, 404: NotFound, 409: Conflict,
    410: Gone, 422: Invalid, 429: TooManyRequests}


def api_error(status: int, body: Any, method: str = "", path: str = "") -> ApiError:
    """The ApiError subclass for an answer of the API server."""
    reason = body.get("reason") if isinstance(body, dict) else None
    if status == 409 and reason == "AlreadyExists":
        return AlreadyExists(status, body, method, path)
    error_type = _BY_STATUS.get(status) or (ServerError if status >= 500 else ApiError)
    return error_type(status, body, method, path)


# A server-side apply whose patch does not fit the schema is answered 500 by the real server
# (kubernetes/kubernetes#122480): the request's own fault, the same at every try.
_UNTYPABLE_APPLY = "failed to create typed patch object"


def _transient(error: BaseException) -> bool:
    if isinstance(error, ApiError):
        return error.status in TRANSIENT_STATUS and \
            not error.message.startswith(_UNTYPABLE_APPLY)
    return isinstance(error, aiohttp.ClientConnectionError | TimeoutError)


_BACKOFF = wait_exponential_jitter(multiplier=0.1, max=5.0, jitter=0.1)


def _wait(state: RetryCallState) -> float:
    error = state.outcome.exception() if state.outcome else None
    if isinstance(error, ApiError) and error.retry_after:
        return min(error.retry_after, 10.0)
    return float(_BACKOFF(state))


# Connections kept for ordinary requests (watches, streams and WebSockets have their own, as
# many as they need). Without a cap, a burst of concurrent requests opens a connection — a
# TLS handshake on each side — per request in flight; with it they wait their turn for a
# kept-alive one, as client-go's requests share one HTTP/2 connection.
REQUEST_CONNECTIONS = 32


class KubeClient:
    """aiohttp sessions to one API server: one for requests (at most `REQUEST_CONNECTIONS`
    connections), one for long-lived streams (`session`). Use as
    `async with KubeClient(conn) as kube`."""

    def __init__(self, connection: Connection, user_agent: str = "preview-vcluster",
                 attempts: int = 6, timeout: float = 30.0,
                 ssl_context: ssl.SSLContext | None = None) -> None:
        self.connection = connection
        self.user_agent = user_agent
        self.attempts = attempts
        self.timeout = timeout
        self._ssl = ssl_context  # overrides what the connection's CA would give
        self._session: aiohttp.ClientSession | None = None
        self._requests: aiohttp.ClientSession | None = None
        self._closed = False
        self.warnings = WarningLog(connection.server)

    async def __aenter__(self) -> KubeClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def session(self) -> aiohttp.ClientSession:
        """The session for watches, streams and WebSockets: no pool limit, since informers
        hold watch connections for good."""
        if self._session is None:
            self._session = self._new_session(0)
        return self._session

    @property
    def _request_session(self) -> aiohttp.ClientSession:
        if self._requests is None:
            self._requests = self._new_session(REQUEST_CONNECTIONS)
        return self._requests

    def _new_session(self, limit: int) -> aiohttp.ClientSession:
        if self._closed:
            raise RuntimeError("this KubeClient is closed")
        return aiohttp.ClientSession(
            self.connection.server,
            connector=aiohttp.TCPConnector(
                ssl=self._ssl if self._ssl is not None else self.connection.ssl_context(),
                limit=limit),
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=10),
            # Watch events are one JSON line each; a 1 MiB ConfigMap must fit one line.
            read_bufsize=4 * 1024 * 1024,
            headers={"User-Agent": self.user_agent, "Accept": "application/json"})

    async def close(self) -> None:
        self._closed = True
        for session in (self._session, self._requests):
            if session is not None:
                await session.close()
        self._session = self._requests = None

    def auth_headers(self) -> dict[str, str]:
        """The Authorization header, for raw requests (WebSockets, streams)."""
        return self._headers(None)

    def _headers(self, content_type: str | None) -> dict[str, str]:
        headers = {}
        token = self.connection.bearer_token()
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if content_type:
            headers["Content-Type"] = content_type
        return headers

    async def request(self, method: str, path: str, body: Any = None,
                      content_type: str = "application/json",
                      params: dict[str, str] | None = None) -> Any:
        """One call, retried while the failure is transient; the decoded JSON answer.

        A 401 with a plugin's token (exec credentials) gets one fresh token and one more try:
        the server may revoke a token before the expiry its plugin announced.
        """
        try:
            return await self._retried(method, path, body, content_type, params)
        except Unauthorized:
            if not self.connection.refresh_credentials():
                raise
        log.info("401 from %s %s: refreshed the plugin's token, trying once more", method, path)
        return await self._retried(method, path, body, content_type, params)

    async def _retried(self, method: str, path: str, body: Any, content_type: str,
                       params: dict[str, str] | None) -> Any:
        # The first attempt outside tenacity: almost every request succeeds at once, and its
        # bookkeeping cost a busy client (the syncer, the emulator's controllers) a few % of
        # its CPU. A transient failure hands over to it as its own first attempt, so the
        # waits (Retry-After included) and the number of attempts are as they were.
        try:
            return await self._once(method, path, body, content_type, params)
        except Exception as e:
            if not _transient(e) or self.attempts <= 1:
                raise
            first: BaseException | None = e
        async for attempt in AsyncRetrying(stop=stop_after_attempt(self.attempts), wait=_wait,
                                           retry=retry_if_exception(_transient), reraise=True):
            with attempt:
                if first is not None:
                    failed, first = first, None
                    raise failed
                return await self._once(method, path, body, content_type, params)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _once(self, method: str, path: str, body: Any, content_type: str,
                    params: dict[str, str] | None) -> Any:
        data = None
        if body is not None:
            data = (body if isinstance(body, str) else json.dumps(body)).encode()
        async with self._request_session.request(
                method, path, data=data, params=params,
                headers=self._headers(content_type if data is not None else None),
                timeout=aiohttp.ClientTimeout(total=self.timeout)) as resp:
            payload = await resp.read()
            self.warnings.log(resp.headers.getall("Warning", ()), method, path)
            try:
                decoded = json.loads(payload) if payload else None
            except ValueError:
                decoded = payload.decode(errors="replace")
            if resp.status >= 400:
                error = api_error(resp.status, decoded, method, path)
                if resp.headers.get("Retry-After", "").isdigit():
                    error.retry_after = float(resp.headers["Retry-After"])
                raise error
            return decoded

    def stream(self, path: str, params: dict[str, str] | None = None
               ) -> aiohttp.client._RequestContextManager:
        """A raw GET for streaming bodies (logs): `async with kube.stream(path) as resp`."""
        return self.session.get(path, params=params, headers=self._headers(None),
                                timeout=aiohttp.ClientTimeout(total=None))

    # -- verbs ---------------------------------------------------------------------------------
    async def get(self, res: Resource, namespace: str | None, name: str) -> dict[str, Any] | None:
        """The object, or None when it does not exist."""
        try:
            result: dict[str, Any] = await self.request("GET", res.path(namespace, name))
            return result
        except NotFound:
            return None

    async def list(self, res: Resource, namespace: str | None = None,
                   label_selector: str = "", field_selector: str = "") -> dict[str, Any]:
        params = {}
        if label_selector:
            params["labelSelector"] = label_selector
        if field_selector:
            params["fieldSelector"] = field_selector
        result: dict[str, Any] = await self.request("GET", res.path(namespace), params=params)
        return result

    async def create(self, res: Resource, namespace: str | None,
                     body: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = await self.request("POST", res.path(namespace), body)
        return result

    async def replace(self, res: Resource, namespace: str | None, name: str,
                      body: dict[str, Any], subresource: str = "") -> dict[str, Any]:
        result: dict[str, Any] = await self.request(
            "PUT", res.path(namespace, name, subresource), body)
        return result

    async def patch(self, res: Resource, namespace: str | None, name: str, patch: Any,
                    content_type: str = MERGE_PATCH, subresource: str = "",
                    params: dict[str, str] | None = None) -> dict[str, Any]:
        result: dict[str, Any] = await self.request(
            "PATCH", res.path(namespace, name, subresource), patch, content_type, params)
        return result

    async def delete(self, res: Resource, namespace: str | None, name: str,
                     uid: str | None = None, grace_period: int | None = None,
                     propagation: str | None = None,
                     resource_version: str | None = None) -> bool:
        """Delete; False when already gone (or replaced by a newer object with the name, or
        changed since `resource_version`)."""
        options: dict[str, Any] = {"apiVersion": "v1", "kind": "DeleteOptions"}
        preconditions = {k: v for k, v in (("uid", uid), ("resourceVersion", resource_version))
                         if v}
        if preconditions:
            options["preconditions"] = preconditions
        if grace_period is not None:
            options["gracePeriodSeconds"] = grace_period
        if propagation:
            options["propagationPolicy"] = propagation
        try:
            await self.request("DELETE", res.path(namespace, name), options)
            return True
        except NotFound:
            return False
        except Conflict:
            if preconditions:
                return False
            raise

    async def watch(self, res: Resource, namespace: str | None, resource_version: str,
                    timeout_seconds: int = 300, label_selector: str = ""
                    ) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        """Events after `resource_version` (BOOKMARKs included); raises Gone on 410."""
        params = {"watch": "true", "resourceVersion": resource_version,
                  "allowWatchBookmarks": "true", "timeoutSeconds": str(timeout_seconds)}
        if label_selector:
            params["labelSelector"] = label_selector
        async with self.session.get(res.path(namespace), params=params,
                                    headers=self._headers(None),
                                    timeout=aiohttp.ClientTimeout(
                                        total=None, sock_read=timeout_seconds + 30)) as resp:
            if resp.status >= 400:
                body = await resp.text()
                try:
                    decoded: Any = json.loads(body)
                except ValueError:
                    decoded = body
                raise api_error(resp.status, decoded, "WATCH", res.path(namespace))
            async for line in resp.content:
                if not line.strip():
                    continue
                event = json.loads(line)
                if event["type"] == "ERROR":
                    status = event["object"]
                    code = int(status.get("code") or 500)
                    raise api_error(code, status, "WATCH", res.path(namespace))
                yield event["type"], event["object"]
