"""The syncer's own endpoints: health, readiness and Prometheus metrics over HTTP; and, over
HTTPS as an API server expects of a kubelet, the kubelet API of its virtual nodes (container
logs, fetched from the host pods)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from aiohttp import web

from preview import naming
from preview.syncer.engine.metrics import CONTENT_TYPE

if TYPE_CHECKING:
    from preview.syncer.syncer import Syncer

log = logging.getLogger(__name__)
# kubelet log query parameters the API server forwards, passed on to the host API.
_LOG_PARAMS = ("follow", "previous", "sinceSeconds", "sinceTime", "tailLines", "limitBytes",
               "timestamps")


def app(s: Syncer) -> web.Application:
    application = web.Application()

    async def healthz(_: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def readyz(_: web.Request) -> web.Response:
        if s.ready:
            return web.Response(text="ok")
        return web.Response(status=503, text="informers not synced yet")

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

    application.router.add_get("/containerLogs/{namespace}/{pod}/{container}", container_logs)
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
