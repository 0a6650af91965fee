"""Runtime hooks: code that runs a pod's containers for real instead of the kubelet's simulation.

A test or the sandbox puts `PodRuntime`s on `ServerConfig.runtimes`. When the host
kubelet is about to start a pod's regular containers (after its init containers, which
stay simulated) it asks each hook in order `matches(pod)`; the first that says yes gets
`await start(pod, context)` and returns a `RunningPod`. From then on:

- the pod is Running once `start` returns, with its containers `running`;
- it is Ready when `RunningPod.ready` says so (`set_ready`); left at None, the pod's
  readinessProbe timing decides, as for simulated pods;
- `kubectl logs` shows what the runtime `log`s (per container; lines logged for container
  "" belong to every container);
- port-forward and the pod/service proxy reach `RunningPod.address(container_port)`, a
  loopback (host, port) the runtime listens on;
- when the runtime reports `exited(code)`, the containers terminate with that code (the
  sandbox does not restart a runtime's processes);
- on pod deletion the kubelet awaits `stop()`.

`start` and `stop` run on the sandbox's event loop: keep them non-blocking (asyncio
subprocesses and servers). `SubprocessRuntime` covers the usual case: run commands with an
environment, their stdout/stderr as logs, their ports from a plan callback.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import inspect
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from preview.sandbox.controllers.client import ApiClient

log = logging.getLogger(__name__)
LogLine = tuple[float, str]  # (epoch seconds, text without newline)


@dataclass(frozen=True)
class RuntimeContext:
    """Where the pod runs: its node, its IP, and the API server it belongs to."""

    node: str
    pod_ip: str
    api_url: str
    ca_pem: bytes = b""
    # The kubelet's own API client, for what a kubelet asks the API while starting a pod
    # (service-account tokens, ConfigMaps and Secrets behind volumes and env).
    client: ApiClient | None = None


class RunningPod:
    """A started pod as its runtime reports it: ports, logs, readiness, exit.

    Runtimes update it through `log`, `set_ready` and `exited`; the kubelet listens for
    those changes. Subclasses override `stop` to end what they started.
    """

    def __init__(self, addresses: Mapping[int, tuple[str, int]] | None = None) -> None:
        self.addresses: dict[int, tuple[str, int]] = dict(addresses or {})
        self.ready: bool | None = None
        self.exit_code: int | None = None
        self._logs: list[tuple[str, float, str]] = []
        self._listeners: list[Callable[[], None]] = []

    # -- what the kubelet reads ---------------------------------------------------------------
    def address(self, container_port: int) -> tuple[str, int] | None:
        return self.addresses.get(container_port)

    def logs(self, container: str) -> list[LogLine]:
        return [(t, line) for c, t, line in self._logs if c in ("", container)]

    def on_change(self, callback: Callable[[], None]) -> None:
        self._listeners.append(callback)

    def exec_environment(self, container: str) -> tuple[dict[str, str], str | None] | None:
        """The environment and working directory `kubectl exec` runs a command in, for
        `container`; None when this runtime cannot run commands there."""
        return None

    async def stop(self) -> None:
        """End the pod's processes; the default only records the exit."""
        if self.exit_code is None:
            self.exited(0)

    # -- what runtimes call ---------------------------------------------------------------------
    def log(self, line: str, container: str = "") -> None:
        self._logs.append((container, time.time(), line.rstrip("\n")))
        if len(self._logs) > 20000:
            del self._logs[:10000]

    def set_ready(self, ready: bool) -> None:
        if ready != self.ready:
            self.ready = ready
            self._changed()

    def exited(self, code: int) -> None:
        if self.exit_code is None:
            self.exit_code = code
            self._changed()

    def _changed(self) -> None:
        for callback in self._listeners:
            callback()


class PodRuntime(Protocol):
    def matches(self, pod: dict[str, Any]) -> bool: ...

    async def start(self, pod: dict[str, Any], context: RuntimeContext) -> RunningPod: ...


# -- subprocesses -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Process:
    """One command of a pod; its output becomes `container`'s logs."""

    argv: Sequence[str]
    env: Mapping[str, str] = field(default_factory=dict)  # added to this process's environment
    container: str = ""
    cwd: str | None = None
    # False: the process sees only `env`, as a container does, not the sandbox's environment.
    inherit_env: bool = True


@dataclass(frozen=True)
class Plan:
    """What to run for one pod, and which loopback port serves each container port."""

    processes: Sequence[Process]
    ports: Mapping[int, int] = field(default_factory=dict)
    # Ready once every port accepts a TCP connection (when there are ports); else the
    # pod's probes decide.
    tcp_ready: bool = True


PlanFn = Callable[[dict[str, Any], RuntimeContext], "Plan | Awaitable[Plan]"]


class SubprocessRuntime:
    """Runs the pods `match` accepts as local processes, as `plan(pod, context)` says.

    >>> SubprocessRuntime(lambda pod: pod["metadata"]["name"].startswith("web"),
    ...                   lambda pod, ctx: Plan([Process(["python", "-m", "http.server",
    ...                                                   "8001"])], {80: 8001}))
    """

    def __init__(self, match: Callable[[dict[str, Any]], bool], plan: PlanFn,
                 stop_timeout: float = 5.0) -> None:
        self._match = match
        self._plan = plan
        self.stop_timeout = stop_timeout

    def matches(self, pod: dict[str, Any]) -> bool:
        return self._match(pod)

    async def start(self, pod: dict[str, Any], context: RuntimeContext) -> RunningPod:
        planned = self._plan(pod, context)
        plan = await planned if inspect.isawaitable(planned) else planned
        assert isinstance(plan, Plan)
        running = SubprocessPod({p: ("127.0.0.1", lp) for p, lp in plan.ports.items()},
                                self.stop_timeout)
        await running.launch(plan)
        return running


class SubprocessPod(RunningPod):
    """The processes of one pod: output captured line by line, exit watched."""

    def __init__(self, addresses: Mapping[int, tuple[str, int]], stop_timeout: float) -> None:
        super().__init__(addresses)
        self.stop_timeout = stop_timeout
        self.processes: list[asyncio.subprocess.Process] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._environments: dict[str, tuple[dict[str, str], str | None]] = {}

    def exec_environment(self, container: str) -> tuple[dict[str, str], str | None] | None:
        return self._environments.get(container) or self._environments.get("")

    async def launch(self, plan: Plan) -> None:
        for spec in plan.processes:
            env = {**os.environ, **spec.env} if spec.inherit_env else dict(spec.env)
            self._environments.setdefault(spec.container, (env, spec.cwd))
            proc = await asyncio.create_subprocess_exec(
                *spec.argv, cwd=spec.cwd, env=env,
                stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT, start_new_session=True,
                preexec_fn=_die_with_parent)
            self.processes.append(proc)
            self._tasks.append(asyncio.create_task(self._pump(proc, spec.container)))
        if plan.tcp_ready and self.addresses:
            self.ready = False
            self._tasks.append(asyncio.create_task(self._probe()))

    async def _pump(self, proc: asyncio.subprocess.Process, container: str) -> None:
        assert proc.stdout is not None
        async for raw in proc.stdout:
            self.log(raw.decode(errors="replace"), container)
        code = await proc.wait()
        self.exited(code if code >= 0 else 128 - code)  # killed by a signal: 128+N

    async def _probe(self) -> None:
        while self.exit_code is None:
            if all([await _accepts(h, p) for h, p in self.addresses.values()]):
                self.set_ready(True)
                return
            await asyncio.sleep(0.1)

    async def stop(self) -> None:
        for proc in self.processes:
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.terminate()
        for proc in self.processes:
            try:
                await asyncio.wait_for(proc.wait(), self.stop_timeout)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await super().stop()


def _load_libc() -> Any:
    if sys.platform != "linux":
        return None
    try:
        return ctypes.CDLL(None, use_errno=True)  # loaded now: the child must not dlopen
    except OSError:
        return None


_LIBC = _load_libc()
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child: SIGTERM when the sandbox's thread that started it dies (Linux).

    A new session keeps Ctrl-C away from the pod's processes; this keeps them from
    outliving a sandbox that was killed before it could stop them.
    """
    if _LIBC is not None:
        _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


async def _accepts(host: str, port: int) -> bool:
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 1.0)
    except (OSError, TimeoutError):
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


def free_port() -> int:
    """A loopback port free right now (for a plan to hand to a process)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port
