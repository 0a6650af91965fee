"""The runtime hook that runs a vcluster control-plane pod for real on a host sandbox.

The host kubelet hands it the pod of `charts/vcluster` (`plan.is_control_plane`);
it starts the `k3s` stand-in and the real `preview syncer` as local processes from the
pod's spec (`plan.py` says how), after doing what a kubelet does first:

- every volume becomes a directory of the pod's own temp dir (`kubelet/podspec.py`: paths under a
  mountPath in args and env are rewritten to it); projected, ConfigMap and Secret volumes
  are filled through the host API with the kubelet's client, so the `kube-api-access-*`
  volume holds a token from a TokenRequest bound to the pod (refreshed at 80% of its
  lifetime, as the kubelet's token manager does), `ca.crt` and `namespace`;
- `PREVIEW_SERVICE_ACCOUNT_DIR` points the syncer at that directory (the one seam in
  `preview.kube.connection.in_cluster`), and KUBERNETES_SERVICE_HOST/PORT at the host
  sandbox itself, so the syncer authenticates as the pod's ServiceAccount and nothing more:
  the chart's Role is what authorises it;
- the processes see the container's env (plus PATH and friends to find Python), not the
  sandbox's; their output is the containers' logs;
- the pod is Ready while the virtual API's /readyz and the syncer's /readyz answer 200
  (HTTPS probes skip verification, as the kubelet's do);
- on deletion both processes get SIGTERM, then SIGKILL after the stop timeout, and the
  pod's directory is removed.

Known differences from k3s: the stand-in keeps its state in memory and writes it to its
--data-dir only when it stops (`apiserver/storage/snapshot.py`; with the certificates,
`server/tls`, and the admin token, `server/token`, it survives a restart on a persistent
volume), authenticates its admin with a token, not a client certificate, listens on a new
loopback port each start, and ignores the flags that tune a real control plane.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import ssl
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from preview.sandbox.controllers.client import ApiClient
from preview.sandbox.kubelet import podspec
from preview.sandbox.kubelet.podsetup import (
    SERVICE_ACCOUNT_DIR,
    PodSetup,
    machine_env,
    refresh_token,
)
from preview.sandbox.kubelet.runtime import (
    Plan,
    Process,
    RunningPod,
    RuntimeContext,
    SubprocessPod,
    free_port,
)
from preview.sandbox.vcluster import plan as vcluster_plan

log = logging.getLogger(__name__)


class VClusterRuntime:
    """Matches the vcluster control-plane pod and runs its `k3s` and `syncer` containers."""

    def __init__(self, stop_timeout: float = 5.0, probe_interval: float = 0.5) -> None:
        self.stop_timeout = stop_timeout
        self.probe_interval = probe_interval

    def matches(self, pod: dict[str, Any]) -> bool:
        return vcluster_plan.is_control_plane(pod)

    async def start(self, pod: dict[str, Any], context: RuntimeContext) -> RunningPod:
        if context.client is None:
            raise RuntimeError("the vcluster runtime needs the kubelet's API client")
        meta = pod["metadata"]
        root = Path(tempfile.mkdtemp(prefix=f"pod-{meta['namespace']}-{meta['name']}-"))
        try:
            setup = _PodSetup(pod, context, context.client, root)
            plan, tokens = await setup.plan()
        except BaseException:
            shutil.rmtree(root, ignore_errors=True)
            raise
        running = VClusterPod(plan.ports, self.stop_timeout, root, self.probe_interval)
        for container, port in ((vcluster_plan.K3S, setup.k3s_port),
                                (vcluster_plan.SYNCER, setup.syncer_port)):
            running.log(f"sandbox runtime: a local process; container port {port} is "
                        f"127.0.0.1:{plan.ports[port]}, volumes are under {root}", container)
        await running.launch(plan)
        running.watch(setup.k3s_port, setup.syncer_port, tokens, setup)
        return running


class _PodSetup(PodSetup):
    """What the kubelet does for the control-plane pod before it starts, and its argv."""

    def __init__(self, pod: dict[str, Any], context: RuntimeContext, client: ApiClient,
                 root: Path) -> None:
        super().__init__(pod, context, client, root)
        self.k3s_port = vcluster_plan.K3S_DEFAULT_PORT
        self.syncer_port = vcluster_plan.SYNCER_DEFAULT_PORT

    async def plan(self) -> tuple[Plan, list[tuple[Path, dict[str, Any]]]]:
        """The two processes and their ports; and the token files to keep fresh."""
        tokens = await self.fill_volumes()
        url = urlsplit(self.context.api_url)
        base = podspec.service_env(url.hostname or "127.0.0.1", url.port or 443)

        k3s_spec = podspec.container(self.pod, vcluster_plan.K3S)
        k3s_mounts = podspec.mounts(k3s_spec, self.dirs)
        k3s_env = await self.env(k3s_spec, base, k3s_mounts)
        k3s = vcluster_plan.parse_k3s(podspec.command_line(k3s_spec, ("/bin/k3s",), k3s_env))
        kubeconfig = self._path(vcluster_plan.K3S, k3s.write_kubeconfig, k3s_mounts)
        data_dir = self._path(vcluster_plan.K3S, k3s.data_dir, k3s_mounts)
        Path(data_dir).mkdir(parents=True, exist_ok=True)
        # On a volume that outlived the last pod (a persistent control plane woken up), the
        # kubeconfig written then names the stand-in's old port; k3s always serves on the
        # same one, ours moves, so the syncer must not read the old file before the new one.
        Path(kubeconfig).unlink(missing_ok=True)
        self.k3s_port = k3s.https_port
        api_port = free_port()

        syncer_spec = podspec.container(self.pod, vcluster_plan.SYNCER)
        syncer_mounts = podspec.mounts(syncer_spec, self.dirs)
        syncer_env = await self.env(syncer_spec, base, syncer_mounts)
        command = [podspec.map_path(a, syncer_mounts) for a in podspec.command_line(
            syncer_spec, vcluster_plan.SYNCER_ENTRYPOINT, syncer_env)]
        local_port = free_port()
        argv, self.syncer_port = vcluster_plan.syncer_argv(command, local_port)
        # Its DNS port moves too (pods share the loopback interface here).
        dns_local, kubelet_local = free_port(), free_port()
        argv, dns_port = vcluster_plan.move_port(argv, "--dns-port", dns_local)
        argv, kubelet_port = vcluster_plan.move_port(argv, "--kubelet-port", kubelet_local)
        sa_dir = podspec.map_path(SERVICE_ACCOUNT_DIR, syncer_mounts)
        if sa_dir != SERVICE_ACCOUNT_DIR:  # mounted: automountServiceAccountToken is on
            syncer_env["PREVIEW_SERVICE_ACCOUNT_DIR"] = sa_dir

        processes = [
            Process(vcluster_plan.apiserver_argv(k3s, kubeconfig, api_port, data_dir),
                    machine_env(k3s_env),
                    vcluster_plan.K3S, str(self.root), inherit_env=False),
            Process(argv, machine_env(syncer_env), vcluster_plan.SYNCER, str(self.root),
                    inherit_env=False)]
        ports = {self.k3s_port: api_port, self.syncer_port: local_port}
        if dns_port:
            ports[dns_port] = dns_local
        if kubelet_port:
            ports[kubelet_port] = kubelet_local
        return Plan(processes, ports, tcp_ready=False), tokens

    def _path(self, container: str, path: str, mounted: list[tuple[str, Path]]) -> str:
        """A path in the container: under its mount, else in its own writable layer."""
        mapped = podspec.map_path(path, mounted)
        if mapped == path and path.startswith("/"):
            mapped = str(self.root / "containers" / container / path.lstrip("/"))
        return mapped



class VClusterPod(SubprocessPod):
    """The two processes of a control-plane pod, its readiness probes, and its directory."""

    def __init__(self, ports: Mapping[int, int], stop_timeout: float, root: Path,
                 probe_interval: float) -> None:
        super().__init__({p: ("127.0.0.1", lp) for p, lp in ports.items()}, stop_timeout)
        self.root = root
        self.probe_interval = probe_interval

    def watch(self, api_port: int, syncer_port: int, tokens: list[tuple[Path, dict[str, Any]]],
              setup: _PodSetup) -> None:
        """Start probing readiness and keeping the tokens fresh."""
        self.ready = False
        api, syncer = self.addresses[api_port], self.addresses[syncer_port]
        self._tasks.append(asyncio.create_task(self._probe_both(
            f"https://{api[0]}:{api[1]}/readyz", f"http://{syncer[0]}:{syncer[1]}/readyz")))
        for path, request in tokens:
            self._tasks.append(asyncio.create_task(refresh_token(setup, path, request)))

    async def _probe_both(self, *urls: str) -> None:
        # HTTPS probes don't verify the certificate (the kubelet's httpGet probes don't);
        # three failures in a row make a Ready pod unready (failureThreshold's default).
        insecure = ssl.create_default_context()
        insecure.check_hostname, insecure.verify_mode = False, ssl.CERT_NONE
        failures = 0
        timeout = aiohttp.ClientTimeout(total=1.0)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            while self.exit_code is None:
                ok = all([await _ok(session, url, insecure) for url in urls])
                failures = 0 if ok else failures + 1
                if ok or failures >= 3 or not self.ready:
                    self.set_ready(ok)
                await asyncio.sleep(self.probe_interval)

    async def stop(self) -> None:
        try:
            await super().stop()
        finally:  # also when the kubelet is cancelled mid-stop (sandbox shutdown)
            for task in self._tasks:
                task.cancel()
            shutil.rmtree(self.root, ignore_errors=True)


async def _ok(session: aiohttp.ClientSession, url: str, ctx: ssl.SSLContext) -> bool:
    try:
        async with session.get(url, ssl=ctx if url.startswith("https") else False) as resp:
            return resp.status == 200
    except (aiohttp.ClientError, OSError, TimeoutError):
        return False
