"""The syncer's own endpoints: health, readiness and Prometheus metrics over HTTP; and, over
HTTPS as an API server expects of a kubelet, the kubelet API of its virtual nodes (container
logs fetched from the host pods; exec, attach and port-forward WebSockets relayed to them)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING

import aiohttp
from aiohttp import web

from preview import naming
from preview.kube.websocket import relay
from preview.syncer.engine.metrics import CONTENT_TYPE

if TYPE_CHECKING:
    from preview.syncer.syncer import Syncer

log = logging.getLogger(__name__)
# kubelet log query parameters the API server forwards, passed on to the host API.
_LOG_PARAMS = ("follow", "previous", "sinceSeconds", "sinceTime", "tailLines", "limitBytes",
               "timestamps")


def app(s: Syncer, waiting: Mapping[str, str] | None = None) -> web.Application:
    """Health, readiness and metrics. Ready once the informers have synced and nothing is
    `waiting` (what still keeps a part from serving, by part: the kubelet API's CAs)."""
    application = web.Application()
    waiting = {} if waiting is None else waiting

    async def healthz(_: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def readyz(_: web.Request) -> web.Response:
        reasons = [*([] if s.ready else ["informers not synced yet"]), *waiting.values()]
        if not reasons:
            return web.Response(text="ok")
        return web.Response(status=503, text="\n".join(reasons))

    async def metrics(_: web.Request) -> web.Response:
        return web.Response(body=s.metrics.render(),
                            headers={"Content-Type": CONTENT_TYPE})

    application.router.add_get("/healthz", healthz)
    application.router.add_get("/readyz", readyz)
    application.router.add_get("/metrics", metrics)
    return application


def kubelet_app(s: Syncer) -> web.Application:
    """What the virtual API server asks the "kubelet" of a virtual node (served over TLS)."""
    application = web.Application()

    async def container_logs(request: web.Request) -> web.StreamResponse:
        return await _proxy_logs(s, request)

    async def exec_(request: web.Request) -> web.StreamResponse:
        return await _relay_stream(s, request, "exec")

    async def attach(request: web.Request) -> web.StreamResponse:
        return await _relay_stream(s, request, "attach")

    async def port_forward(request: web.Request) -> web.StreamResponse:
        return await _relay_stream(s, request, "portforward")

    application.router.add_get("/containerLogs/{namespace}/{pod}/{container}", container_logs)
    application.router.add_get("/exec/{namespace}/{pod}/{container}", exec_)
    application.router.add_get("/attach/{namespace}/{pod}/{container}", attach)
    application.router.add_get("/portForward/{namespace}/{pod}", port_forward)
    return application


def render_metrics(s: Syncer) -> str:
    """Prometheus text exposition of the syncer's metrics (engine/metrics.py)."""
    return s.metrics.render().decode()


async def _proxy_logs(s: Syncer, request: web.Request) -> web.StreamResponse:
    namespace, pod = request.match_info["namespace"], request.match_info["pod"]
    if s.virtual_informers["pods"].get(namespace, pod) is None:
        return web.Response(status=404, text=f"pod {namespace}/{pod} is not synced here")
    host_pod = naming.host_name(pod, namespace, s.ctx.vcluster, naming.DNS_LABEL_MAX)
    params = {k: request.query[k] for k in _LOG_PARAMS if k in request.query}
    params["container"] = request.match_info["container"]
    path = f"/api/v1/namespaces/{s.ctx.host_namespace}/pods/{host_pod}/log"
    response = web.StreamResponse(headers={"Content-Type": "text/plain"})
    async with s.host.stream(path, params) as upstream:
        if upstream.status >= 400:
            return web.Response(status=upstream.status, text=await upstream.text())
        await response.prepare(request)
        async for chunk in upstream.content.iter_any():
            await response.write(chunk)
    await response.write_eof()
    return response


async def _relay_stream(s: Syncer, request: web.Request, sub: str) -> web.StreamResponse:
    """The host pod's `exec`/`attach`/`portforward` WebSocket, relayed to the virtual side
    with the subprotocol the host picked from those the client offered."""
    namespace, pod = request.match_info["namespace"], request.match_info["pod"]
    if s.virtual_informers["pods"].get(namespace, pod) is None:
        return web.Response(status=404, text=f"pod {namespace}/{pod} is not synced here")
    if request.headers.get("Upgrade", "").lower() != "websocket":
        return web.Response(status=400, text="Upgrade request required (WebSockets)")
    host_pod = naming.host_name(pod, namespace, s.ctx.vcluster, naming.DNS_LABEL_MAX)
    query = list(request.query.items())
    if "container" in request.match_info:
        query.append(("container", request.match_info["container"]))
    offered = [p.strip() for p in request.headers.get("Sec-WebSocket-Protocol", "").split(",")
               if p.strip()]
    path = f"/api/v1/namespaces/{s.ctx.host_namespace}/pods/{host_pod}/{sub}"
    try:
        upstream = await s.host.session.ws_connect(path, params=query, protocols=offered,
                                                   headers=s.host.auth_headers(),
                                                   max_msg_size=0)
    except aiohttp.WSServerHandshakeError as e:
        return web.Response(status=e.status, text=e.message)
    downstream = web.WebSocketResponse(
        protocols=[upstream.protocol] if upstream.protocol else (), max_msg_size=0)
    await downstream.prepare(request)

    await relay(downstream, upstream)
    return downstream
