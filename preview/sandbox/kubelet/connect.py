"""Reaching a pod's port from the API server: a runtime hook's loopback port, or a stand-in.

Pods run by a runtime hook (`preview/sandbox/kubelet/runtime.py`) listen on real loopback ports.
Simulated pods have nothing listening, so a port-forward or proxy to them reaches a tiny
built-in HTTP responder instead (200, one line naming the pod and port) — enough for demos
and `curl` through `kubectl port-forward`, and documented as a sandbox difference.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, Protocol

from preview.sandbox.kubelet.lifecycle import PodState
from preview.sandbox.kubelet.runtime import RunningPod


class KubeletView(Protocol):
    """What the HTTP handlers read from the kubelet."""

    def state_of(self, pod: dict[str, Any]) -> PodState | None: ...

    def runtime_of(self, pod: dict[str, Any]) -> RunningPod | None: ...


class Conn(Protocol):
    async def read(self, n: int) -> bytes: ...

    async def write(self, data: bytes) -> None: ...

    async def close_write(self) -> None: ...

    async def close(self) -> None: ...


class TcpConn:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def read(self, n: int) -> bytes:
        return await self.reader.read(n)

    async def write(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def close_write(self) -> None:
        with contextlib.suppress(OSError, RuntimeError):
            self.writer.write_eof()

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(OSError, ConnectionError):
            await self.writer.wait_closed()


class BuiltinHttpConn:
    """An in-memory HTTP/1.1 server for one connection: answers each request with one line."""

    def __init__(self, banner: str) -> None:
        self.banner = banner
        self._inbox = b""
        self._outbox: asyncio.Queue[bytes] = asyncio.Queue()
        self._closed = False

    async def read(self, n: int) -> bytes:
        if self._closed and self._outbox.empty():
            return b""
        return await self._outbox.get()

    async def write(self, data: bytes) -> None:
        self._inbox += data
        while b"\r\n\r\n" in self._inbox:
            head, self._inbox = self._inbox.split(b"\r\n\r\n", 1)
            request_line = head.split(b"\r\n", 1)[0].decode(errors="replace")
            body = f"{self.banner}: {request_line}\n".encode()
            self._outbox.put_nowait(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n"
                b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)

    async def close_write(self) -> None:
        await self.close()

    async def close(self) -> None:
        self._closed = True
        self._outbox.put_nowait(b"")


def banner(pod: dict[str, Any], port: int) -> str:
    meta = pod["metadata"]
    return f"sandbox pod {meta.get('namespace')}/{meta['name']} port {port}"


class PortClosed(Exception):
    """Nothing listens on the pod's port (the kubelet's `connection refused`)."""


async def connect(view: KubeletView, pod: dict[str, Any], port: int) -> Conn:
    running = view.runtime_of(pod)
    if running is None:
        return BuiltinHttpConn(banner(pod, port))
    address = running.address(port)
    if address is None:
        raise PortClosed(f"no runtime port for {port}")
    try:
        reader, writer = await asyncio.open_connection(*address)
    except OSError as e:
        raise PortClosed(str(e)) from e
    return TcpConn(reader, writer)
