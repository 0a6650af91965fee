"""`pods/portforward`: WebSocket port-forwarding, as kubectl and the Python client speak it.

Two WebSocket dialects are served (whichever subprotocol the client offers):

- `SPDY/3.1+portforward.k8s.io` (kubectl 1.31+): SPDY frames tunnelled in binary messages
  (`spdy.py`); one `error` + `data` stream pair per forwarded connection.
- `v4.channel.k8s.io` (the official Python client, `kubernetes.stream.portforward`): the
  ports come in the `ports` query parameter; port i uses channel 2i for data and 2i+1 for
  errors, each first announced with the port number (2 bytes, little-endian), then data
  messages prefixed with their channel byte (`pkg/kubelet/cri/streaming/portforward/websocket.go`).

kubectl's older plain-SPDY upgrade (without WebSockets) is not served: kubectl 1.31+
uses the tunnel by default.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from aiohttp import WSMsgType, web

from preview.sandbox.kubelet import spdy
from preview.sandbox.kubelet.connect import Conn, KubeletView, PortClosed, connect
from preview.sandbox.machinery.status import bad_request

log = logging.getLogger(__name__)
SPDY_TUNNEL = "SPDY/3.1+portforward.k8s.io"
CHANNEL_PROTOCOLS = ("v4.channel.k8s.io", "portforward.k8s.io")
_CHUNK = 32 * 1024


async def serve(request: web.Request, pod: dict[str, Any], view: KubeletView) -> web.StreamResponse:
    offered = [p.strip() for p in request.headers.get("Sec-WebSocket-Protocol", "").split(",")]
    if request.headers.get("Upgrade", "").lower() != "websocket":
        raise bad_request("Upgrade request required: this sandbox serves port-forward over "
                          "WebSockets only (kubectl 1.31+, or the Python client)")
    if SPDY_TUNNEL in offered:
        ws = web.WebSocketResponse(protocols=[SPDY_TUNNEL], autoping=True, max_msg_size=0)
        await ws.prepare(request)
        await SpdySession(ws, pod, view).run()
        return ws
    ports = _ports(request)
    ws = web.WebSocketResponse(protocols=CHANNEL_PROTOCOLS, max_msg_size=0)
    await ws.prepare(request)
    await ChannelSession(ws, pod, view, ports).run()
    return ws


def _ports(request: web.Request) -> list[int]:
    values = [p for raw in request.query.getall("ports", []) for p in raw.split(",") if p]
    if not values:
        raise bad_request("at least 1 port must be specified")
    try:
        ports = [int(p) for p in values]
    except ValueError:
        raise bad_request(f"unable to parse {values!r} as ports") from None
    if any(not 0 < p < 65536 for p in ports):
        raise bad_request("port must be between 1 and 65535")
    return ports


def _refused(pod: dict[str, Any], port: int, reason: str) -> str:
    meta = pod["metadata"]
    return (f"error forwarding port {port} to pod {meta.get('uid', '')}, uid : failed to "
            f"connect to localhost:{port} inside namespace \"{meta.get('namespace')}\": "
            f"{reason or 'connection refused'}")


class SpdySession:
    """One tunnelled SPDY session: pairs streams by requestID and forwards each pair."""

    def __init__(self, ws: web.WebSocketResponse, pod: dict[str, Any], view: KubeletView) -> None:
        self.ws, self.pod, self.view = ws, pod, view
        self.codec = spdy.Codec()
        self.lock = asyncio.Lock()
        self.pairs: dict[str, dict[str, int]] = {}
        self.ports: dict[str, int] = {}
        self.inbound: dict[int, asyncio.Queue[bytes]] = {}  # data stream id -> bytes in
        self.tasks: set[asyncio.Task[None]] = set()

    async def send(self, frame: bytes) -> None:
        async with self.lock:
            await self.ws.send_bytes(frame)

    async def run(self) -> None:
        try:
            async for msg in self.ws:
                if msg.type != WSMsgType.BINARY:
                    continue
                for frame in self.codec.feed(msg.data):
                    await self._on_frame(frame)
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            for task in self.tasks:
                task.cancel()
            await asyncio.gather(*self.tasks, return_exceptions=True)

    async def _on_frame(self, frame: spdy.Frame) -> None:
        if frame.kind == spdy.SYN_STREAM:
            async with self.lock:
                await self.ws.send_bytes(self.codec.syn_reply(frame.stream_id))
            request_id = frame.headers.get("requestid", "")
            kind = frame.headers.get("streamtype", "")
            pair = self.pairs.setdefault(request_id, {})
            pair[kind] = frame.stream_id
            if kind == "data":
                self.inbound[frame.stream_id] = asyncio.Queue()
            self.ports[request_id] = int(frame.headers.get("port") or 0)
            if "data" in pair and "error" in pair:
                task = asyncio.create_task(self._forward(request_id, pair))
                self.tasks.add(task)
                task.add_done_callback(self.tasks.discard)
        elif frame.kind == 0:
            queue = self.inbound.get(frame.stream_id)
            if queue is not None:
                if frame.payload:
                    queue.put_nowait(frame.payload)
                if frame.fin:
                    queue.put_nowait(b"")
        elif frame.kind == spdy.PING:
            await self.send(spdy.ping(frame.payload))
        elif frame.kind == spdy.RST_STREAM:
            queue = self.inbound.get(frame.stream_id)
            if queue is not None:
                queue.put_nowait(b"")
        elif frame.kind == spdy.GOAWAY:
            await self.ws.close()

    async def _forward(self, request_id: str, pair: dict[str, int]) -> None:
        port, data_id, error_id = self.ports[request_id], pair["data"], pair["error"]
        try:
            conn = await connect(self.view, self.pod, port)
        except PortClosed as e:
            await self.send(spdy.data(error_id, _refused(self.pod, port, str(e)).encode()))
            await self.send(spdy.data(error_id, b"", fin=True))
            await self.send(spdy.data(data_id, b"", fin=True))
            return
        try:
            await _pump(conn, self.inbound[data_id], lambda chunk: self.send(
                spdy.data(data_id, chunk)))
            await self.send(spdy.data(data_id, b"", fin=True))
            await self.send(spdy.data(error_id, b"", fin=True))
        except ConnectionError:
            pass
        finally:
            self.inbound.pop(data_id, None)
            await conn.close()


class ChannelSession:
    """A `v4.channel.k8s.io` session: every requested port forwarded over its channel pair."""

    def __init__(self, ws: web.WebSocketResponse, pod: dict[str, Any], view: KubeletView,
                 ports: list[int]) -> None:
        self.ws, self.pod, self.view, self.ports = ws, pod, view, ports
        self.inbound: list[asyncio.Queue[bytes]] = [asyncio.Queue() for _ in ports]

    async def run(self) -> None:
        for i, port in enumerate(self.ports):
            announce = port.to_bytes(2, "little")
            await self.ws.send_bytes(bytes([2 * i]) + announce)
            await self.ws.send_bytes(bytes([2 * i + 1]) + announce)
        tasks = [asyncio.create_task(self._forward(i, port)) for i, port in enumerate(self.ports)]
        try:
            async for msg in self.ws:
                if msg.type != WSMsgType.BINARY or not msg.data:
                    continue
                channel = msg.data[0]
                if channel % 2 == 0 and channel // 2 < len(self.inbound):
                    self.inbound[channel // 2].put_nowait(msg.data[1:])
        finally:
            for queue in self.inbound:
                queue.put_nowait(b"")
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _forward(self, i: int, port: int) -> None:
        try:
            conn = await connect(self.view, self.pod, port)
        except PortClosed as e:
            await self.ws.send_bytes(bytes([2 * i + 1]) + _refused(self.pod, port, str(e)).encode())
            return
        try:
            await _pump(conn, self.inbound[i], lambda chunk: self.ws.send_bytes(
                bytes([2 * i]) + chunk))
        except ConnectionError:
            pass
        finally:
            await conn.close()
        with contextlib.suppress(ConnectionError):
            await self.ws.close()


async def _pump(conn: Conn, inbound: asyncio.Queue[bytes], send: Any) -> None:
    """Copy both ways until the pod's side closes; client EOF stops only the upstream copy."""

    async def upstream() -> None:
        while chunk := await inbound.get():
            await conn.write(chunk)
        await conn.close_write()

    up = asyncio.create_task(upstream())
    try:
        while chunk := await conn.read(_CHUNK):
            await send(chunk)
    finally:
        up.cancel()
        with contextlib.suppress(asyncio.CancelledError, ConnectionError, OSError):
            await up
