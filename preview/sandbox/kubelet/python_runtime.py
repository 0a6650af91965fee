"""The runtime hook that runs python containers for real on a host sandbox (the example app).

It matches a pod whose every regular container uses an official python image
(`python:<tag>`, `library/python`, `docker.io/library/python`, optionally `@sha256:…`) and
runs a `python`/`python3`/`python3.N` command line (`command`, else `args`, else the image's
`python3`). Each such container becomes a local process of `sys.executable`, after what a
kubelet does first (`podsetup.py`): volumes become directories of the pod's own temp dir
(ConfigMaps, Secrets, projected tokens filled through the API), absolute paths under a
mountPath in the command line, env values and `workingDir` are rewritten to them, and the
environment is the container's (`envFrom`, `env` with ConfigMap/Secret/downward refs, the
`kubernetes` Service variables) plus what Python needs from the machine to start.

Ports (the convention the example app follows): every pod shares the machine's loopback, so
each declared `containerPort` gets a free loopback port, and the process is told through
its environment:

- `PORT`: the loopback port standing for the container's first `containerPort` (it replaces
  a `PORT` the spec sets, which on a real cluster would be that containerPort);
- `PORT_<containerPort>` (e.g. `PORT_8080`): the same for every declared port;
- `HOST=127.0.0.1`: where to listen (on a real cluster a server binds 0.0.0.0).

Port-forward, `pods/proxy`, `services/proxy` and the host ingress reach the pod there.

Readiness follows each container's `readinessProbe` against the real process (`httpGet`,
with the probe's port by number or name, and `tcpSocket`; an `exec` probe counts as a TCP
check of the container's ports): probed every 0.2s until the pod is first Ready (a real
kubelet waits `periodSeconds` between early failures; demos should not), then every
`periodSeconds`, unready after `failureThreshold` failures in a row. Without probes the pod
is Ready once every port accepts connections (or at once without ports).
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from preview.sandbox.kubelet import podspec
from preview.sandbox.kubelet.podsetup import PodSetup, Tokens, machine_env, refresh_token
from preview.sandbox.kubelet.runtime import (
    Plan,
    Process,
    RunningPod,
    RuntimeContext,
    SubprocessPod,
    free_port,
)

log = logging.getLogger(__name__)
_IMAGE_PREFIXES = ("docker.io/library/", "index.docker.io/library/", "registry-1.docker.io/"
                   "library/", "docker.io/", "library/")
_PYTHON = re.compile(r"^python(3(\.\d+)?)?$")
_EARLY_PROBE = 0.2


def is_python_image(image: str) -> bool:
    """An official python image reference (any tag or digest)."""
    ref = image.split("@", 1)[0]
    last = ref.rsplit("/", 1)[-1]
    name = ref.rsplit(":", 1)[0] if ":" in last else ref
    for prefix in _IMAGE_PREFIXES:
        if name.startswith(prefix):
            name = name[len(prefix):]
            break
    return name == "python"


def python_command(spec: dict[str, Any]) -> list[str] | None:
    """The container's command line when it runs the python interpreter (else None).

    The python images have no ENTRYPOINT and `CMD ["python3"]`: `args` alone replace CMD.
    """
    command = list(spec.get("command") or [])
    args = list(spec.get("args") or [])
    argv = [*command, *args] if command else (args or ["python3"])
    return [str(a) for a in argv] if _PYTHON.match(os.path.basename(str(argv[0]))) else None


def runs_python(pod: dict[str, Any]) -> bool:
    containers = (pod.get("spec") or {}).get("containers") or []
    return bool(containers) and all(
        is_python_image(str(c.get("image") or "")) and python_command(c) is not None
        for c in containers)


def port_env(spec: dict[str, Any], ports: Mapping[int, int]) -> dict[str, str]:
    """PORT, PORT_<containerPort> and HOST for a container (the convention above)."""
    declared = [int(p["containerPort"]) for p in spec.get("ports") or []
                if p.get("containerPort") and (p.get("protocol") or "TCP") == "TCP"]
    env = {f"PORT_{p}": str(ports[p]) for p in declared}
    if declared:
        env["PORT"] = str(ports[declared[0]])
    env["HOST"] = "127.0.0.1"
    return env


@dataclass(frozen=True)
class Probe:
    """One container's readiness check against its process (pure data)."""

    kind: str  # "http" | "tcp"
    host: str
    port: int
    path: str = "/"
    period: float = 10.0
    failure_threshold: int = 3


def readiness_probes(spec: dict[str, Any], ports: Mapping[int, int]) -> list[Probe]:
    """The checks that make the container Ready (its probe, else its ports accepting)."""
    probe = spec.get("readinessProbe") or {}
    period = float(probe.get("periodSeconds") or 10)
    threshold = int(probe.get("failureThreshold") or 3)
    for kind, key in (("http", "httpGet"), ("tcp", "tcpSocket")):
        if key in probe:
            number = podspec.container_port(spec, probe[key].get("port", ""))
            if number is None and str(probe[key].get("port", "")).isdigit():
                number = int(probe[key]["port"])
            if number is None or number not in ports:
                raise ValueError(f"readinessProbe port {probe[key].get('port')!r} is not a "
                                 "declared containerPort (the sandbox maps only those)")
            return [Probe(kind, "127.0.0.1", ports[number], str(probe[key].get("path") or "/"),
                          period, threshold)]
    own = [int(p["containerPort"]) for p in spec.get("ports") or [] if p.get("containerPort")]
    return [Probe("tcp", "127.0.0.1", ports[p], "/", period, threshold) for p in own]


class PythonRuntime:
    """Matches pods of python containers and runs each container with `sys.executable`."""

    def __init__(self, stop_timeout: float = 5.0) -> None:
        self.stop_timeout = stop_timeout

    def matches(self, pod: dict[str, Any]) -> bool:
        return runs_python(pod)

    async def start(self, pod: dict[str, Any], context: RuntimeContext) -> RunningPod:
        if context.client is None:
            raise RuntimeError("the python runtime needs the kubelet's API client")
        meta = pod["metadata"]
        root = Path(tempfile.mkdtemp(prefix=f"pod-{meta['namespace']}-{meta['name']}-"))
        try:
            setup = PodSetup(pod, context, context.client, root)
            tokens = await setup.fill_volumes()
            plan, probes = await _plan(setup)
        except BaseException:
            shutil.rmtree(root, ignore_errors=True)
            raise
        running = PythonPod(plan.ports, self.stop_timeout, root)
        for process in plan.processes:
            mapped = ", ".join(f"{p} is 127.0.0.1:{lp}" for p, lp in plan.ports.items())
            running.log(f"sandbox runtime: a local python process ({sys.executable}); "
                        f"container ports: {mapped or 'none'}; volumes under {root}",
                        process.container)
        await running.launch(plan)
        running.watch(probes, tokens, setup)
        return running


async def _plan(setup: PodSetup) -> tuple[Plan, list[Probe]]:
    url = urlsplit(setup.context.api_url)
    base = podspec.service_env(url.hostname or "127.0.0.1", url.port or 443)
    processes: list[Process] = []
    ports: dict[int, int] = {}
    probes: list[Probe] = []
    for spec in (setup.pod.get("spec") or {}).get("containers") or []:
        name = str(spec["name"])
        own = {int(p["containerPort"]): free_port() for p in spec.get("ports") or []
               if p.get("containerPort")}
        ports.update(own)
        mounted = podspec.mounts(spec, setup.dirs)
        env = await setup.env(spec, {**base, **await setup.env_from(spec)}, mounted)
        env.update(port_env(spec, own))
        argv = python_command(spec)
        assert argv is not None  # matched
        argv = [podspec.map_path(podspec.expand(a, env), mounted) for a in argv]
        cwd = _working_dir(setup.root, name, str(spec.get("workingDir") or ""), mounted)
        processes.append(Process([sys.executable, *argv[1:]], machine_env(env), name, cwd,
                                 inherit_env=False))
        probes += readiness_probes(spec, own)
    return Plan(processes, ports, tcp_ready=False), probes


def _working_dir(root: Path, container: str, working_dir: str,
                 mounted: Sequence[tuple[str, Path]]) -> str:
    """The process's cwd: under a mount when the workingDir is, else its own layer."""
    mapped = podspec.map_path(working_dir, mounted) if working_dir else ""
    if not mapped or mapped == working_dir:
        mapped = str(root / "containers" / container / working_dir.lstrip("/"))
    Path(mapped).mkdir(parents=True, exist_ok=True)
    return mapped


class PythonPod(SubprocessPod):
    """The processes of a python pod, its readiness probes, and its directory."""

    def __init__(self, ports: Mapping[int, int], stop_timeout: float, root: Path) -> None:
        super().__init__({p: ("127.0.0.1", lp) for p, lp in ports.items()}, stop_timeout)
        self.root = root

    def watch(self, probes: list[Probe], tokens: Tokens, setup: PodSetup) -> None:
        if probes:
            self.ready = False
            self._tasks.append(asyncio.create_task(self._probe_all(probes)))
        for path, request in tokens:
            self._tasks.append(asyncio.create_task(refresh_token(setup, path, request)))

    async def _probe_all(self, probes: list[Probe]) -> None:
        failures = 0
        period = min(p.period for p in probes)
        threshold = min(p.failure_threshold for p in probes)
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=1.0)) as session:
            while self.exit_code is None:
                ok = all([await _check(session, p) for p in probes])
                failures = 0 if ok else failures + 1
                if ok or failures >= threshold:
                    self.set_ready(ok)
                await asyncio.sleep(period if self.ready else _EARLY_PROBE)

    async def stop(self) -> None:
        try:
            await super().stop()
        finally:
            for task in self._tasks:
                task.cancel()
            shutil.rmtree(self.root, ignore_errors=True)


async def _check(session: aiohttp.ClientSession, probe: Probe) -> bool:
    """One probe: HTTP 200-399 (redirects not followed), or a TCP connection accepted."""
    try:
        if probe.kind == "http":
            async with session.get(f"http://{probe.host}:{probe.port}{probe.path}",
                                   allow_redirects=False) as resp:
                return 200 <= resp.status < 400
        _, writer = await asyncio.wait_for(asyncio.open_connection(probe.host, probe.port), 1)
        writer.close()
        return True
    except (aiohttp.ClientError, OSError, TimeoutError):
        return False
