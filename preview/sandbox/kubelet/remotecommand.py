"""`pods/exec` and `pods/attach` over the WebSocket channel protocols.

kubectl 1.31+ speaks `v5.channel.k8s.io` (and falls back to v4), the official Python
client (`kubernetes.stream.stream`) `v4.channel.k8s.io`: every binary message starts with
its channel — 0 stdin, 1 stdout, 2 stderr, 3 the final `Status` (exit code), 4 terminal
resize; v5 adds 255, the client's "close this stream" signal
(`staging/src/k8s.io/apimachinery/pkg/util/remotecommand/constants.go`).

- exec into a pod a runtime hook runs: the command runs as a local process in that
  container's environment (its env and working directory), with the streams wired up.
- attach to a runtime hook's pod: its output from now on (the processes' stdin is not open).
- simulated containers run no process: exec answers a `Status` saying so; attach streams
  the simulated output (the heartbeat lines the logs show).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Any

from aiohttp import WSMsgType, web

from preview.sandbox.kubelet import logs
from preview.sandbox.kubelet.connect import KubeletView
from preview.sandbox.kubelet.timings import KubeletTimings
from preview.sandbox.machinery.status import bad_request

PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io")
STDIN, STDOUT, STDERR, ERROR, RESIZE, CLOSE = 0, 1, 2, 3, 4, 255
_POLL = 0.1
_CHUNK = 32 * 1024
SUCCESS = {"metadata": {}, "status": "Success"}


def exit_status(command: list[str], code: int) -> dict[str, Any]:
    """The Status the kubelet ends an exec with (`NonZeroExitCode` carries the code)."""
    if code == 0:
        return SUCCESS
    return {"metadata": {}, "status": "Failure",
            "message": f"command terminated with non-zero exit code: error executing command "
                       f"[{' '.join(command)}], exit code {code}",
            "reason": "NonZeroExitCode",
            "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]}}


def failure(message: str) -> dict[str, Any]:
    return {"metadata": {}, "status": "Failure", "message": message,
            "reason": "InternalError", "code": 500}


def _flag(request: web.Request, name: str) -> bool:
    return request.query.get(name, "").lower() in ("true", "1")


async def serve(request: web.Request, pod: dict[str, Any], kubelet: KubeletView,
                timings: KubeletTimings, attach: bool) -> web.StreamResponse:
    if request.headers.get("Upgrade", "").lower() != "websocket":
        raise bad_request("Upgrade request required: this sandbox serves exec and attach over "
                          "WebSockets only (kubectl 1.31+, or the Python client)")
    command = request.query.getall("command", [])
    if not attach and not command:
        raise bad_request("you must specify at least 1 command")
    name = logs.choose_container(pod, request.query.get("container", ""))
    state = kubelet.state_of(pod)
    container = state.container(name) if state is not None else None
    if state is None or container is None or container.state != "running":
        raise bad_request(f'container {name} is not valid for pod {pod["metadata"]["name"]}'
                          if container is None else
                          f"unable to upgrade connection: container not found (\"{name}\")")
    ws = web.WebSocketResponse(protocols=PROTOCOLS, max_msg_size=0)
    await ws.prepare(request)
    running = kubelet.runtime_of(pod)
    environment = running.exec_environment(name) if running is not None and \
        state.runtime_mode and not container.init else None
    try:
        if attach:
            def lines() -> list[logs.LogLine]:
                if environment is not None and running is not None:
                    return running.logs(name)
                run = container.current
                return logs.simulated_lines(container, run, time.time(), timings) if run else []
            await _attach(ws, lines, lambda: container.state != "running")
        elif environment is None:
            await _send(ws, ERROR, json.dumps(failure(
                f'container "{name}" in pod "{pod["metadata"]["name"]}" is simulated by the '
                "sandbox: it runs no process, so there is nothing to exec into; pods run by "
                "a runtime hook (ServerConfig.runtimes) run real processes")).encode())
        else:
            env, cwd = environment
            await _exec(ws, command, env, cwd, _flag(request, "stdin"), _flag(request, "tty"))
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        await ws.close()
    return ws


async def _send(ws: web.WebSocketResponse, channel: int, data: bytes) -> None:
    await ws.send_bytes(bytes([channel]) + data)


async def _exec(ws: web.WebSocketResponse, command: list[str], env: dict[str, str],
                cwd: str | None, stdin: bool, tty: bool) -> None:
    try:
        proc = await asyncio.create_subprocess_exec(
            *command, env=env, cwd=cwd,
            stdin=asyncio.subprocess.PIPE if stdin else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT if tty else asyncio.subprocess.PIPE,
            start_new_session=True)
    except OSError as e:
        # What runc reports for a missing binary, as the kubelet passes it on.
        await _send(ws, ERROR, json.dumps(failure(
            f"Internal error occurred: error executing command in container: failed to exec "
            f"in container: starting container process caused: exec: \"{command[0]}\": {e}"))
                    .encode())
        return

    async def pump(stream: asyncio.StreamReader | None, channel: int) -> None:
        if stream is None:
            return
        while chunk := await stream.read(_CHUNK):
            await _send(ws, channel, chunk)

    async def feed() -> None:
        async for msg in ws:
            if msg.type != WSMsgType.BINARY or not msg.data:
                continue
            channel, data = msg.data[0], msg.data[1:]
            if channel == STDIN and proc.stdin is not None:
                if data:
                    proc.stdin.write(data)
                    with contextlib.suppress(ConnectionError):
                        await proc.stdin.drain()
            elif channel == CLOSE and data[:1] == bytes([STDIN]) and proc.stdin is not None:
                proc.stdin.close()
        if proc.returncode is None:  # the client went away: end the command as the kubelet does
            with contextlib.suppress(ProcessLookupError):
                proc.kill()

    reader = asyncio.create_task(feed())
    try:
        await asyncio.gather(pump(proc.stdout, STDOUT), pump(proc.stderr, STDERR))
        code = await proc.wait()
    finally:
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
    await _send(ws, ERROR, json.dumps(exit_status(command, code if code >= 0 else 128 - code))
                .encode())


async def _attach(ws: web.WebSocketResponse, lines: Any, ended: Any) -> None:
    sent = len(lines())

    async def drain_input() -> None:
        async for _ in ws:
            pass  # stdin of an attached container is not open in the sandbox

    reader = asyncio.create_task(drain_input())
    try:
        while not reader.done():
            current = lines()
            for _, line in current[sent:]:
                await _send(ws, STDOUT, line.encode() + b"\n")
            sent = len(current)
            if ended():
                break
            await asyncio.sleep(_POLL)
    finally:
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)
    if not ws.closed:
        await _send(ws, ERROR, json.dumps(SUCCESS).encode())
