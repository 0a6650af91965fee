"""Port-forwarding through the API server to a pod, as `kubectl port-forward` does.

A local TCP listener on 127.0.0.1; every accepted connection opens its own WebSocket to
`pods/<name>/portforward` (`v4.channel.k8s.io`: data on channel 0, errors on channel 1, each
announced first with the port number). The pod is looked up again for every connection, so
after the pod is replaced (a restart) new connections reach the new one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
from collections.abc import Awaitable, Callable

import aiohttp

from preview.kube.client import KubeClient

log = logging.getLogger(__name__)
PROTOCOL = "v4.channel.k8s.io"
_CHUNK = 64 * 1024
# Finds the pod to forward to (its name), or None while there is none ready.
PodFinder = Callable[[], Awaitable[str | None]]


class PortForward:
    """`async with PortForward(kube, namespace, finder, port) as pf:` → `pf.local_port`."""

    def __init__(self, kube: KubeClient, namespace: str, find_pod: PodFinder,
                 remote_port: int, local_port: int = 0) -> None:
        self.kube = kube
        self.namespace = namespace
        self.find_pod = find_pod
        self.remote_port = remote_port
        self.local_port = local_port
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> PortForward:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.local_port)
        self.local_port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            await self._forward(reader, writer)
        except asyncio.CancelledError:
            # The tunnel is closing. Ending normally keeps asyncio's server callback from
            # logging the cancellation as an error.
            pass
        except (aiohttp.ClientError, OSError, ConnectionError) as e:
            log.warning("port-forward to %s port %d: %s", self.namespace, self.remote_port, e)
        finally:
            self._connections.discard(task)
            writer.close()
            with contextlib.suppress(OSError, ConnectionError):
                await writer.wait_closed()

    async def _forward(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        pod = await self.find_pod()
        if pod is None:
            log.warning("port-forward: no ready pod in %s to forward to", self.namespace)
            return
        path = f"/api/v1/namespaces/{self.namespace}/pods/{pod}/portforward"
        async with self.kube.session.ws_connect(
                path, params={"ports": str(self.remote_port)}, protocols=(PROTOCOL,),
                headers=self.kube.auth_headers(), max_msg_size=0, autoping=True) as ws:
            announced: set[int] = set()

            async def upstream() -> None:
                while data := await reader.read(_CHUNK):
                    await ws.send_bytes(b"\x00" + data)
                await ws.close()

            sender = asyncio.create_task(upstream())
            try:
                async for msg in ws:
                    if msg.type != aiohttp.WSMsgType.BINARY or not msg.data:
                        continue
                    channel, payload = msg.data[0], msg.data[1:]
                    if channel not in announced:
                        announced.add(channel)  # first message: the port number
                        if len(payload) >= 2 and struct.unpack("<H", payload[:2])[0] == \
                                self.remote_port:
                            payload = payload[2:]
                        if not payload:
                            continue
                    if channel == 0:
                        writer.write(payload)
                        await writer.drain()
                    elif channel == 1 and payload:
                        log.warning("port-forward %s/%s:%d: %s", self.namespace, pod,
                                    self.remote_port, payload.decode(errors="replace"))
            finally:
                sender.cancel()
                await asyncio.gather(sender, return_exceptions=True)
