"""The API server's side of `pods/log`, `exec`, `attach` and `portforward` for nodes it does
not run: ask that node's kubelet.

As the real kube-apiserver does: look up the pod's Node, take its InternalIP and
`status.daemonEndpoints.kubeletEndpoint.Port`, and stream
`/containerLogs/<namespace>/<pod>/<container>` from there, or relay the client's WebSocket
to `/exec|attach/<namespace>/<pod>/<container>` and `/portForward/<namespace>/<pod>` (the
subprotocol the kubelet picks is the one the client gets). In a virtual cluster the
"kubelet" of every node is the syncer, which goes on to the host pod.

How it dials is the server's `kubelet_tls`: standing in for k3s (a data directory), with
k3s's kubelet client certificate and verifying the kubelet against k3s's server CA, as
k3s's kube-apiserver does (`--kubelet-client-certificate`, `--kubelet-certificate-authority`);
otherwise like a kube-apiserver given neither flag: HTTPS without a client certificate,
without verifying the kubelet.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp import web

from preview.kube.websocket import relay
from preview.sandbox.machinery.status import StatusError, bad_request

if TYPE_CHECKING:
    from preview.sandbox.apiserver.endpoints.requests import RequestInfo
    from preview.sandbox.apiserver.storage.store import Store
    from preview.sandbox.machinery.resources import Catalog

KubeletTLS = Callable[[], "ssl.SSLContext | bool"]
_FORWARDED = ("follow", "previous", "sinceSeconds", "sinceTime", "tailLines", "limitBytes",
              "timestamps")


def kubelet_address(node: dict[str, Any]) -> tuple[str, int] | None:
    """Where a node's kubelet listens, from its status (pure)."""
    status = node.get("status") or {}
    port = ((status.get("daemonEndpoints") or {}).get("kubeletEndpoint") or {}).get("Port")
    addresses = {a.get("type"): a.get("address") for a in status.get("addresses") or []}
    host = addresses.get("InternalIP") or addresses.get("Hostname")
    if not port or not host:
        return None
    return host, int(port)


def _kubelet_of(catalog: Catalog, store: Store, pod: dict[str, Any]) -> tuple[str, int]:
    meta, spec = pod["metadata"], pod.get("spec") or {}
    node_name = spec.get("nodeName")
    if not node_name:
        raise StatusError(400, "BadRequest", f'pod {meta["name"]} does not have a host assigned')
    nodes = catalog.find("", "v1", "nodes")
    node = store.get(nodes.storage, "", node_name) if nodes else None
    address = kubelet_address(node) if node else None
    if address is None:
        raise StatusError(503, "ServiceUnavailable",
                       f"no kubelet address known for node {node_name!r}")
    return address


def _container(request: web.Request, pod: dict[str, Any]) -> str:
    meta, spec = pod["metadata"], pod.get("spec") or {}
    containers = [c["name"] for c in spec.get("containers") or []]
    container = request.query.get("container") or (containers[0] if len(containers) == 1
                                                   else "")
    if not container:
        raise bad_request(f"a container name must be specified for pod {meta['name']}, "
                          f"choose one of: {containers}")
    return container


def log_handler(catalog: Catalog, store: Store, kubelet_tls: KubeletTLS) -> Any:
    async def handle(request: web.Request, pod: dict[str, Any],
                     info: RequestInfo) -> web.StreamResponse:
        meta = pod["metadata"]
        address = _kubelet_of(catalog, store, pod)
        container = _container(request, pod)
        url = (f"https://{address[0]}:{address[1]}/containerLogs/{meta['namespace']}/"
               f"{meta['name']}/{container}")
        params = {k: request.query[k] for k in _FORWARDED if k in request.query}
        response = web.StreamResponse(headers={"Content-Type": "text/plain"})
        try:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(
                    total=None, sock_connect=5),
                    connector=aiohttp.TCPConnector(ssl=kubelet_tls())) as session, \
                    session.get(url, params=params) as upstream:
                if upstream.status >= 400:
                    raise StatusError(upstream.status if upstream.status < 500 else 502,
                                   "InternalError" if upstream.status >= 500 else "BadRequest",
                                   (await upstream.text()).strip())
                await response.prepare(request)
                async for chunk in upstream.content.iter_any():
                    await response.write(chunk)
        except aiohttp.ClientError as e:
            raise StatusError(502, "InternalError",
                           f"Get \"{url}\": {e}") from e
        await response.write_eof()
        return response

    return handle


_KUBELET_PATHS = {"exec": "exec", "attach": "attach", "portforward": "portForward"}


def stream_handler(catalog: Catalog, store: Store, sub: str, kubelet_tls: KubeletTLS) -> Any:
    """`pods/exec`, `pods/attach` or `pods/portforward`, relayed to the node's kubelet."""
    async def handle(request: web.Request, pod: dict[str, Any],
                     info: RequestInfo) -> web.StreamResponse:
        if request.headers.get("Upgrade", "").lower() != "websocket":
            raise bad_request("Upgrade request required: this sandbox serves exec, attach and "
                              "port-forward over WebSockets only (kubectl 1.31+)")
        meta = pod["metadata"]
        host, port = _kubelet_of(catalog, store, pod)
        path = f"/{_KUBELET_PATHS[sub]}/{meta['namespace']}/{meta['name']}"
        query = list(request.query.items())
        if sub != "portforward":
            container = _container(request, pod)
            path += f"/{container}"
            query = [(k, v) for k, v in query if k != "container"]
        url = f"https://{host}:{port}{path}"
        offered = [p.strip() for p in request.headers.get("Sec-WebSocket-Protocol",
                                                            "").split(",") if p.strip()]
        async with aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(ssl=kubelet_tls())) as session:
            try:
                upstream = await session.ws_connect(url, params=query, protocols=offered,
                                                    max_msg_size=0)
            except aiohttp.WSServerHandshakeError as e:
                raise StatusError(e.status if e.status < 500 else 502, "BadRequest"
                               if e.status < 500 else "InternalError",
                               f"error dialing the kubelet: {e.message}") from e
            except aiohttp.ClientError as e:
                raise StatusError(502, "InternalError", f'error dialing "{url}": {e}') from e
            downstream = web.WebSocketResponse(
                protocols=[upstream.protocol] if upstream.protocol else (), max_msg_size=0)
            await downstream.prepare(request)
            await relay(downstream, upstream)
            return downstream

    return handle
