"""The API server's side of `pods/log` for nodes it does not run: ask that node's kubelet.

As the real kube-apiserver does: look up the pod's Node, take its InternalIP and
`status.daemonEndpoints.kubeletEndpoint.Port`, and stream
`/containerLogs/<namespace>/<pod>/<container>` from there. In a virtual cluster the "kubelet"
of every node is the syncer, which fetches the logs from the host pod. Like a kube-apiserver
without `--kubelet-certificate-authority`, it speaks HTTPS without verifying the kubelet.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp import web

from preview.sandbox.status import ApiError, bad_request

if TYPE_CHECKING:
    from preview.sandbox.requests import RequestInfo
    from preview.sandbox.server import ApiServer

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


def log_handler(server: ApiServer) -> Any:
    async def handle(request: web.Request, pod: dict[str, Any],
                     info: RequestInfo) -> web.StreamResponse:
        meta, spec = pod["metadata"], pod.get("spec") or {}
        node_name = spec.get("nodeName")
        if not node_name:
            raise ApiError(400, "BadRequest", f'pod {meta["name"]} does not have a host '
                           "assigned")
        containers = [c["name"] for c in spec.get("containers") or []]
        container = request.query.get("container") or (containers[0] if len(containers) == 1
                                                       else "")
        if not container:
            raise bad_request(f"a container name must be specified for pod {meta['name']}, "
                              f"choose one of: {containers}")
        nodes = server.catalog.find("", "v1", "nodes")
        node = server.store.get(nodes.storage, "", node_name) if nodes else None
        address = kubelet_address(node) if node else None
        if address is None:
            raise ApiError(503, "ServiceUnavailable",
                           f"no kubelet address known for node {node_name!r}")
        url = (f"https://{address[0]}:{address[1]}/containerLogs/{meta['namespace']}/"
               f"{meta['name']}/{container}")
        params = {k: request.query[k] for k in _FORWARDED if k in request.query}
        response = web.StreamResponse(headers={"Content-Type": "text/plain"})
        try:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(
                    total=None, sock_connect=5),
                    connector=aiohttp.TCPConnector(ssl=False)) as session, \
                    session.get(url, params=params) as upstream:
                if upstream.status >= 400:
                    raise ApiError(upstream.status if upstream.status < 500 else 502,
                                   "InternalError" if upstream.status >= 500 else "BadRequest",
                                   (await upstream.text()).strip())
                await response.prepare(request)
                async for chunk in upstream.content.iter_any():
                    await response.write(chunk)
        except aiohttp.ClientError as e:
            raise ApiError(502, "InternalError",
                           f"Get \"{url}\": {e}") from e
        await response.write_eof()
        return response

    return handle
