"""`pods/proxy` and `services/proxy`: HTTP forwarded to a pod's port, as the API server does.

`/api/v1/namespaces/<ns>/services/[scheme:]<name>[:port]/proxy/<path>` picks a ready pod
behind the Service (its selector, the port by name or number, `targetPort` resolved
against the pod's named container ports); `/pods/<name>[:port]/proxy/<path>` goes to that
pod (port 80 when none is given). Pods run by a runtime hook get the request on their
loopback port; simulated pods answer with the built-in one-line responder (`connect.py`).
"""

from __future__ import annotations

from typing import Any

import aiohttp
from aiohttp import web

from preview.sandbox.apiserver.endpoints.requests import RequestInfo
from preview.sandbox.apiserver.endpoints.server import proxy_target
from preview.sandbox.controllers.podutil import is_ready, is_terminating
from preview.sandbox.kubelet.connect import KubeletView, banner
from preview.sandbox.machinery.status import StatusError

_HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
               "trailers", "transfer-encoding", "upgrade", "authorization", "host",
               "content-length"}


def service_unavailable(message: str) -> StatusError:
    return StatusError(503, "ServiceUnavailable", message)


def resolve_service_port(service: dict[str, Any], port: str) -> dict[str, Any]:
    """The ServicePort a proxy path names (by name or number; the only one if unnamed)."""
    ports = (service.get("spec") or {}).get("ports") or []
    name = service["metadata"]["name"]
    for p in ports:
        if port in (str(p.get("name") or ""), str(p.get("port"))):
            return dict(p)
    if not port and len(ports) == 1:
        return dict(ports[0])
    raise service_unavailable(f'no service port "{port}" found for service "{name}"')


def target_port(pod: dict[str, Any], service_port: dict[str, Any]) -> int | None:
    """The pod's port for a ServicePort: a number, or a container port found by name."""
    target = str(service_port.get("targetPort", service_port.get("port")))
    if target.isdigit():
        return int(target)
    for c in (pod.get("spec") or {}).get("containers") or []:
        for p in c.get("ports") or []:
            if p.get("name") == target:
                return int(p["containerPort"])
    return None


def pick_endpoint(service: dict[str, Any], pods: list[dict[str, Any]],
                  port: str) -> tuple[dict[str, Any], int]:
    """A ready pod behind the Service and the port to reach on it, or the real 503."""
    selector = (service.get("spec") or {}).get("selector") or {}
    service_port = resolve_service_port(service, port)
    name = service["metadata"]["name"]
    if selector:
        for pod in sorted(pods, key=lambda p: p["metadata"]["name"]):
            labels = pod["metadata"].get("labels") or {}
            if any(labels.get(k) != v for k, v in selector.items()):
                continue
            if not is_ready(pod) or is_terminating(pod):
                continue
            number = target_port(pod, service_port)
            if number is not None:
                return pod, number
    raise service_unavailable(f'no endpoints available for service "{name}"')


def upstream_path(request: web.Request, info: RequestInfo) -> str:
    prefix = f"/{info.resource}/{info.name}/{info.subresource}"
    path = request.path
    rest = path[path.index(prefix) + len(prefix):] if prefix in path else ""
    return (rest or "/") + (f"?{request.query_string}" if request.query_string else "")


async def forward(request: web.Request, view: KubeletView, pod: dict[str, Any], port: int,
                  path: str) -> web.StreamResponse:
    running = view.runtime_of(pod)
    if running is None:
        return web.Response(text=f"{banner(pod, port)}: {request.method} {path}\n")
    address = running.address(port)
    if address is None:
        raise service_unavailable(f"error trying to reach service: dial tcp "
                                  f"{(pod.get('status') or {}).get('podIP', '')}:{port}: "
                                  "connect: connection refused")
    headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
    body = await request.read()
    url = f"http://{address[0]}:{address[1]}{path}"
    async with aiohttp.ClientSession(auto_decompress=False) as session:
        try:
            async with session.request(request.method, url, headers=headers,
                                       data=body or None, allow_redirects=False) as upstream:
                response = web.StreamResponse(status=upstream.status, headers={
                    k: v for k, v in upstream.headers.items()
                    if k.lower() not in _HOP_BY_HOP})
                await response.prepare(request)
                async for chunk in upstream.content.iter_any():
                    await response.write(chunk)
                await response.write_eof()
                return response
        except aiohttp.ClientConnectionError as e:
            raise service_unavailable(f"error trying to reach service: {e}") from e


async def serve_pod(request: web.Request, pod: dict[str, Any], info: RequestInfo,
                    view: KubeletView) -> web.StreamResponse:
    port = proxy_target(info.name)[2]
    return await forward(request, view, pod, int(port) if port.isdigit() else 80,
                         upstream_path(request, info))


async def serve_service(request: web.Request, service: dict[str, Any], info: RequestInfo,
                        view: KubeletView, pods: list[dict[str, Any]]) -> web.StreamResponse:
    pod, port = pick_endpoint(service, pods, proxy_target(info.name)[2])
    return await forward(request, view, pod, port, upstream_path(request, info))
