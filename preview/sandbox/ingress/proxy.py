"""The host ingress controller's data plane: HTTP and HTTPS on loopback, proxied to pods.

`IngressServer` binds its two sockets when it is made (so the ports are known before the
sandbox reports itself started), then serves every request by asking its `Resolver`
(the controller, which reads the Ingresses and endpoints) where it goes:

- `Upstream(namespace, pod, port)`: forwarded through the API server's `pods/proxy`
  subresource, i.e. the kubelet's own path to the pod (a runtime hook's loopback port);
  the controller reaches pods only over the API, like every sandbox controller;
- `External(host, port)`: an ExternalName Service's backend, forwarded to `host:port`
  directly with the request's own Host header, as ingress-nginx proxies to the name it
  resolves;
- `Refusal(status, why)`: an nginx-style error page (404 no rule, 503 no ready endpoint,
  502 a simulated container with nothing listening);
- `Redirect()`: 308 to the HTTPS port (a host listed in the Ingress's `spec.tls`).

HTTPS certificates come from the sandbox's own CA: one per SNI name, issued on first use,
and one for `localhost`/`127.0.0.1` when the client sends no name. Ingress TLS Secrets are
not used (see docs/sandbox.md).
"""

from __future__ import annotations

import html
import json
import logging
import re
import socket
import ssl
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp
from aiohttp import web
from yarl import URL

from preview.kube import tls
from preview.sandbox.ingress.routes import request_host

log = logging.getLogger(__name__)
# ingress-nginx's proxy-body-size default: larger bodies get 413.
MAX_BODY = 1024 * 1024
_HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
               "trailers", "transfer-encoding", "upgrade", "host", "content-length",
               "authorization"}
_HOSTNAME = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$")
_MAX_CERTS = 256
_REASONS = {308: "Permanent Redirect", 404: "Not Found", 413: "Request Entity Too Large",
            502: "Bad Gateway", 503: "Service Temporarily Unavailable"}


@dataclass(frozen=True)
class Upstream:
    namespace: str
    pod: str
    port: int


@dataclass(frozen=True)
class External:
    """An ExternalName Service's name and port: proxied to directly, Host kept."""

    host: str
    port: int


@dataclass(frozen=True)
class Refusal:
    status: int
    why: str


@dataclass(frozen=True)
class Redirect:
    pass


Answer = Upstream | External | Refusal | Redirect
# (host without port, path, https?) -> where the request goes
Resolver = Callable[[str, str, bool], Answer]


def error_page(status: int, why: str) -> web.Response:
    """nginx's error page, plus one line saying why (the sandbox's addition)."""
    title = f"{status} {_REASONS.get(status, 'Error')}"
    body = (f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
            f"<center><h1>{title}</h1></center>\r\n<p>{html.escape(why)}</p>\r\n"
            "<hr><center>nginx (preview sandbox ingress)</center>\r\n</body>\r\n</html>\r\n")
    return web.Response(status=status, text=body, content_type="text/html")


class Certificates:
    """Serving certificates issued by the sandbox CA, one per SNI name (cached)."""

    def __init__(self, ca: tls.KeyPair) -> None:
        self.ca = ca
        self._contexts: dict[str, ssl.SSLContext] = {}
        self.default = self._context(("localhost", "127.0.0.1"))
        self.default.sni_callback = self._sni

    def _context(self, hosts: tuple[str, ...]) -> ssl.SSLContext:
        return tls.server_context(tls.issue(self.ca, hosts, hosts[0]), self.ca.cert_pem)

    def for_name(self, name: str) -> ssl.SSLContext | None:
        name = name.lower().rstrip(".")
        if len(name) > 253 or not _HOSTNAME.match(name):
            return None
        if name not in self._contexts:
            if len(self._contexts) >= _MAX_CERTS:
                self._contexts.pop(next(iter(self._contexts)))
            self._contexts[name] = self._context((name,))
        return self._contexts[name]

    def _sni(self, sslobj: ssl.SSLObject | ssl.SSLSocket, name: str | None,
             ctx: ssl.SSLContext) -> None:
        if name and name != "localhost":
            chosen = self.for_name(name)
            if chosen is not None:
                sslobj.context = chosen


def _bind(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


class IngressServer:
    """HTTP and HTTPS listeners on 127.0.0.1 forwarding to pods through the API."""

    def __init__(self, http_port: int, https_port: int, ca: tls.KeyPair, api_url: str,
                 api_ssl: ssl.SSLContext, auth_headers: Callable[[], dict[str, str]],
                 resolve: Resolver) -> None:
        self._http = _bind(http_port)
        try:
            self._https = _bind(https_port)
        except OSError:
            self._http.close()
            raise
        self.http_port: int = self._http.getsockname()[1]
        self.https_port: int = self._https.getsockname()[1]
        self.certificates = Certificates(ca)
        self.api_url, self.api_ssl, self.auth_headers = api_url, api_ssl, auth_headers
        self.resolve = resolve
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_route("*", "/{tail:.*}", self.handle)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False,
                                     shutdown_timeout=1.0)
        await self._runner.setup()
        await web.SockSite(self._runner, self._http).start()
        await web.SockSite(self._runner, self._https,
                           ssl_context=self.certificates.default).start()
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=self.api_ssl), auto_decompress=False,
            skip_auto_headers=("Accept-Encoding", "User-Agent", "Content-Type"),
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=60))

    async def stop(self) -> None:
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()
        self._http.close()
        self._https.close()

    # -- one request ----------------------------------------------------------------------------
    async def handle(self, request: web.Request) -> web.StreamResponse:
        https = request.secure
        host_header = request.headers.get("Host", "")
        host = request_host(host_header)
        answer = self.resolve(host, request.path, https)
        if isinstance(answer, Redirect):
            location = f"https://{host}:{self.https_port}{request.rel_url.raw_path_qs}"
            return web.Response(status=308, headers={"Location": location},
                                text=f"Redirecting to {location}\n")
        if isinstance(answer, Refusal):
            return error_page(answer.status, answer.why)
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return error_page(413, f"the request body is larger than {MAX_BODY} bytes "
                              "(ingress-nginx's default proxy-body-size)")
        return await self._forward(request, answer, body, host_header, https)

    async def _forward(self, request: web.Request, to: Upstream | External, body: bytes,
                       host_header: str, https: bool) -> web.StreamResponse:
        assert self._session is not None, "ingress server not started"
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
        peer = request.remote or ""
        forwarded_for = request.headers.get("X-Forwarded-For")
        port = str(self.https_port if https else self.http_port)
        headers.update({
            "X-Forwarded-For": f"{forwarded_for}, {peer}" if forwarded_for else peer,
            "X-Real-IP": peer, "X-Forwarded-Host": host_header,
            "X-Forwarded-Port": port, "X-Forwarded-Proto": "https" if https else "http",
            "X-Scheme": "https" if https else "http",
            "X-Request-ID": request.headers.get("X-Request-ID") or uuid.uuid4().hex})
        if isinstance(to, External):
            # Never the API's credentials: the name is outside the cluster's API.
            headers["Host"] = host_header
            where = f"{to.host}:{to.port}"
            url = URL(f"http://{where}{request.rel_url.raw_path_qs}", encoded=True)
        else:
            headers.update(self.auth_headers())
            where = f"{to.namespace}/{to.pod}:{to.port}"
            path = (f"/api/v1/namespaces/{quote(to.namespace)}/pods/{quote(to.pod)}:{to.port}"
                    f"/proxy{request.rel_url.raw_path_qs}")
            url = URL(self.api_url.rstrip("/") + path, encoded=True)
        try:
            async with self._session.request(request.method, url, headers=headers,
                                             data=body or None,
                                             allow_redirects=False) as upstream:
                if upstream.status >= 400 and upstream.content_type == "application/json":
                    raw = await upstream.read()
                    failure = _api_failure(raw) if isinstance(to, Upstream) else None
                    if failure is not None:
                        return error_page(502, f"upstream {where}: {failure}")
                    return web.Response(status=upstream.status, body=raw,
                                        headers=_response_headers(upstream))
                response = web.StreamResponse(status=upstream.status,
                                              headers=_response_headers(upstream))
                await response.prepare(request)
                async for chunk in upstream.content.iter_any():
                    await response.write(chunk)
                await response.write_eof()
                return response
        except (aiohttp.ClientError, TimeoutError) as e:
            return error_page(502, f"upstream {where}: {e}")


def _response_headers(upstream: aiohttp.ClientResponse) -> dict[str, str]:
    return {k: v for k, v in upstream.headers.items() if k.lower() not in _HOP_BY_HOP}


def _api_failure(raw: bytes) -> str | None:
    """The message of the API server's own Status answer (the pod was unreachable)."""
    try:
        decoded: Any = json.loads(raw)
    except ValueError:
        return None
    if isinstance(decoded, dict) and decoded.get("kind") == "Status" \
            and decoded.get("apiVersion") == "v1":
        return str(decoded.get("message") or decoded.get("reason") or "unreachable")
    return None
