"""The kubelet's HTTP endpoints, plugged into the API server's pod/service subresources.

`register` is the one bridge between the kubelet object and the HTTP server: it fills
the server's `pod_handlers` (`log`, `portforward`, `proxy`, `exec`, `attach`) and
`service_handlers` (`proxy`), handed to the kubelet in its `ControllerContext`. Handlers only read the kubelet's state; they never write the API.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any, Protocol

from aiohttp import web

from preview.sandbox.apiserver.endpoints.requests import RequestInfo
from preview.sandbox.kubelet import logs, portforward, proxy, remotecommand
from preview.sandbox.kubelet.connect import KubeletView
from preview.sandbox.kubelet.timings import KubeletTimings
from preview.sandbox.machinery.status import bad_request

if TYPE_CHECKING:
    from preview.sandbox.apiserver.endpoints.server import PodHandler

_FOLLOW_POLL = 0.1


class Kubelet(KubeletView, Protocol):
    timings: KubeletTimings

    def pods_in(self, namespace: str) -> list[dict[str, Any]]: ...


def register(pod_handlers: dict[str, PodHandler], service_handlers: dict[str, PodHandler],
             kubelet: Kubelet) -> None:
    async def log_handler(request: web.Request, pod: dict[str, Any],
                          info: RequestInfo) -> web.StreamResponse:
        return await serve_logs(request, pod, kubelet)

    async def portforward_handler(request: web.Request, pod: dict[str, Any],
                                  info: RequestInfo) -> web.StreamResponse:
        _require_running(pod, kubelet)
        return await portforward.serve(request, pod, kubelet)

    async def pod_proxy(request: web.Request, pod: dict[str, Any],
                        info: RequestInfo) -> web.StreamResponse:
        _require_running(pod, kubelet)
        return await proxy.serve_pod(request, pod, info, kubelet)

    async def service_proxy(request: web.Request, service: dict[str, Any],
                            info: RequestInfo) -> web.StreamResponse:
        pods = kubelet.pods_in(service["metadata"].get("namespace", ""))
        return await proxy.serve_service(request, service, info, kubelet, pods)

    async def exec_handler(request: web.Request, pod: dict[str, Any],
                           info: RequestInfo) -> web.StreamResponse:
        return await remotecommand.serve(request, pod, kubelet, kubelet.timings, attach=False)

    async def attach_handler(request: web.Request, pod: dict[str, Any],
                             info: RequestInfo) -> web.StreamResponse:
        return await remotecommand.serve(request, pod, kubelet, kubelet.timings, attach=True)

    pod_handlers.update(log=log_handler, portforward=portforward_handler, proxy=pod_proxy,
                        exec=exec_handler, attach=attach_handler)
    service_handlers["proxy"] = service_proxy


def _require_running(pod: dict[str, Any], kubelet: Kubelet) -> None:
    phase = (pod.get("status") or {}).get("phase")
    if phase in ("Succeeded", "Failed"):
        raise bad_request(f"cannot port forward to a completed pod, current phase is {phase}")
    if kubelet.state_of(pod) is None and not (pod.get("spec") or {}).get("nodeName"):
        raise bad_request(f"pod {pod['metadata']['name']} does not have a host assigned")


async def serve_logs(request: web.Request, pod: dict[str, Any],
                     kubelet: Kubelet) -> web.StreamResponse:
    opts = logs.parse_options(request.query, time.time())
    name = logs.choose_container(pod, opts.container)
    state = kubelet.state_of(pod)
    container = state.container(name) if state is not None else None
    if state is None or container is None:
        raise bad_request(f'container "{name}" in pod "{pod["metadata"]["name"]}" is waiting '
                          "to start: ContainerCreating")
    run = logs.choose_run(state, container, opts.previous)

    def lines() -> list[logs.LogLine]:
        running = kubelet.runtime_of(pod)
        if running is not None and state is not None and state.runtime_mode \
                and not container.init and run is container.current:
            return running.logs(name)
        return logs.simulated_lines(container, run, time.time(), kubelet.timings)

    selected = logs.select(lines(), opts)
    body = logs.render(selected, opts.timestamps)
    limit = opts.limit_bytes
    if not opts.follow or run.finished is not None or state.stopped:
        return web.Response(body=body[:limit] if limit else body,
                            content_type="text/plain")
    response = web.StreamResponse(headers={"Content-Type": "text/plain"})
    await response.prepare(request)
    written = 0
    sent = len(lines())

    async def emit(chunk: bytes) -> bool:
        nonlocal written
        if limit is not None:
            chunk = chunk[:max(limit - written, 0)]
        if chunk:
            await response.write(chunk)
            written += len(chunk)
        return limit is None or written < limit

    try:
        if await emit(body):
            while True:
                await asyncio.sleep(_FOLLOW_POLL)
                current = lines()
                fresh, sent = current[sent:], len(current)
                if fresh and not await emit(logs.render(fresh, opts.timestamps)):
                    break
                if run.finished is not None or state.stopped or \
                        kubelet.state_of(pod) is not state:
                    break
    except (ConnectionError, asyncio.CancelledError):
        return response
    await response.write_eof()
    return response
