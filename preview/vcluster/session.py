"""A `connect` session: the kubeconfig's (and tunnel's) life, bound to a command or to the
user stopping it.

SIGINT and SIGTERM end the session the way a normal exit does: the command (if any) gets
the signal and a moment to exit, the tunnel is closed and the temporary kubeconfig, which
holds admin credentials, is removed. (Python's default SIGTERM ends the process on the spot
and would leave the file behind.)
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Callable, Sequence
from pathlib import Path

from preview.errors import PreviewError
from preview.kube.client import KubeClient
from preview.vcluster.connect import connect

_STOP = (signal.SIGINT, signal.SIGTERM)
_GRACE = 10.0  # seconds a command gets to exit after we pass it a signal


async def run(host: KubeClient, name: str, namespace: str, command: Sequence[str],
              on_ready: Callable[[Path], None], *, hold: bool, expose: str = "port-forward",
              local_port: int = 0, server: str | None = None,
              path: Path | None = None) -> int:
    """Open the session and call `on_ready(kubeconfig_path)`; then run `command` with
    KUBECONFIG set and return its exit code, or (with `hold`) wait for SIGINT/SIGTERM and
    return 0, or else return 0 at once.

    A signal while a command runs is passed on to it, and the session returns 128 + the
    signal's number as a shell does; a signal at any other time closes the session.
    """
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    received: list[int] = []
    child: list[asyncio.subprocess.Process] = []

    def stop(signum: int) -> None:
        received.append(signum)
        running = [p for p in child if p.returncode is None]
        if not running:
            task.cancel()
            return
        running[0].send_signal(signum)
        loop.call_later(_GRACE, _kill, running[0])

    for signum in _STOP:
        loop.add_signal_handler(signum, stop, signum)
    try:
        async with connect(host, name, namespace, expose, local_port, server=server,
                           path=path) as kubeconfig:
            on_ready(kubeconfig)
            if command:
                env = {**os.environ, "KUBECONFIG": str(kubeconfig)}
                try:
                    child.append(await asyncio.create_subprocess_exec(*command, env=env))
                except FileNotFoundError:
                    raise PreviewError(f"command not found: {command[0]}",
                                       "the command goes after `--`, e.g. "
                                       f"`preview vcluster connect {name} -- kubectl get ns`"
                                       ) from None
                code = await child[0].wait()
                return 128 + received[0] if received else code
            if hold:
                await asyncio.Event().wait()
            return 0
    except asyncio.CancelledError:
        if not received:
            raise
        task.uncancel()
        return 0 if hold and not command else 128 + received[0]
    finally:
        for signum in _STOP:
            loop.remove_signal_handler(signum)


def _kill(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        proc.kill()
