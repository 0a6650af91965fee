"""The runtime hook that runs a vcluster control-plane pod for real on a host sandbox.

The host kubelet hands it the pod of `charts/vcluster` (`vcluster_plan.is_control_plane`);
it starts the `k3s` stand-in and the real `preview syncer` as local processes from the
pod's spec (`vcluster_plan.py` says how), after doing what a kubelet does first:

- every volume becomes a directory of the pod's own temp dir (`podspec.py`: paths under a
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

Known differences from k3s: the stand-in keeps its state in memory (nothing under
--data-dir survives a restart), authenticates its admin with a token, not a client
certificate, and ignores the flags that tune a real control plane.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import shutil
import ssl
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from preview.sandbox import podspec, vcluster_plan
from preview.sandbox.controllers.client import ApiClient, ApiFailure
from preview.sandbox.runtime import (
    Plan,
    Process,
    RunningPod,
    RuntimeContext,
    SubprocessPod,
    free_port,
)

log = logging.getLogger(__name__)
SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
# What a process needs from the machine to start Python at all; a container has its image.
_PASSTHROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "PYTHONPATH",
                "PYTHONHASHSEED", "SYSTEMROOT")
_PASSTHROUGH_PREFIXES = ("COV_CORE_", "COVERAGE_")  # subprocess coverage in the test suite
_TOKEN_DEFAULT_SECONDS = 3600  # projected serviceAccountToken's expirationSeconds default
_REF_WAIT = 5.0  # how long a missing ConfigMap/Secret may take to appear before start fails


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


class _PodSetup:
    """What the kubelet does for one pod before its containers start (volumes, env, argv)."""

    def __init__(self, pod: dict[str, Any], context: RuntimeContext, client: ApiClient,
                 root: Path) -> None:
        self.pod, self.context, self.client, self.root = pod, context, client, root
        self.namespace = str(pod["metadata"]["namespace"])
        self.dirs = podspec.volume_dirs(pod, root)
        self.k3s_port = vcluster_plan.K3S_DEFAULT_PORT
        self.syncer_port = vcluster_plan.SYNCER_DEFAULT_PORT
        self._objects: dict[tuple[str, str], dict[str, Any] | None] = {}

    async def plan(self) -> tuple[Plan, list[tuple[Path, dict[str, Any]]]]:
        """The two processes and their ports; and the token files to keep fresh."""
        tokens: list[tuple[Path, dict[str, Any]]] = []
        for volume in (self.pod.get("spec") or {}).get("volumes") or []:
            tokens += await self._fill(volume, self.dirs[str(volume["name"])])
        url = urlsplit(self.context.api_url)
        base = podspec.service_env(url.hostname or "127.0.0.1", url.port or 443)

        k3s_spec = podspec.container(self.pod, vcluster_plan.K3S)
        k3s_mounts = podspec.mounts(k3s_spec, self.dirs)
        k3s_env = await self._env(k3s_spec, base, k3s_mounts)
        k3s = vcluster_plan.parse_k3s(podspec.command_line(k3s_spec, ("/bin/k3s",), k3s_env))
        kubeconfig = self._path(vcluster_plan.K3S, k3s.write_kubeconfig, k3s_mounts)
        Path(self._path(vcluster_plan.K3S, k3s.data_dir, k3s_mounts)).mkdir(
            parents=True, exist_ok=True)
        self.k3s_port = k3s.https_port
        api_port = free_port()

        syncer_spec = podspec.container(self.pod, vcluster_plan.SYNCER)
        syncer_mounts = podspec.mounts(syncer_spec, self.dirs)
        syncer_env = await self._env(syncer_spec, base, syncer_mounts)
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
            Process(vcluster_plan.apiserver_argv(k3s, kubeconfig, api_port), _machine(k3s_env),
                    vcluster_plan.K3S, str(self.root), inherit_env=False),
            Process(argv, _machine(syncer_env), vcluster_plan.SYNCER, str(self.root),
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

    async def _env(self, spec: dict[str, Any], base: Mapping[str, str],
                   mounted: list[tuple[str, Path]]) -> dict[str, str]:
        for kind, name in podspec.env_refs(spec):
            await self._object(kind, name, optional=True)

        def lookup(kind: str, name: str, key: str) -> str | None:
            return _value(self._objects.get((kind, name)), kind, key)

        env = podspec.container_env(self.pod, spec, base, lookup, self.context.pod_ip,
                                    "127.0.0.1")
        return {k: podspec.map_path(v, mounted) for k, v in env.items()}

    # -- volumes ---------------------------------------------------------------------------------
    async def _fill(self, volume: dict[str, Any],
                    directory: Path) -> list[tuple[Path, dict[str, Any]]]:
        """Create the volume's directory and write what the API holds for it."""
        directory.mkdir(parents=True, exist_ok=True)
        tokens = []
        sources: list[dict[str, Any]] = []
        if "projected" in volume:
            sources = list(volume["projected"].get("sources") or [])
        elif "configMap" in volume:
            sources = [{"configMap": volume["configMap"]}]
        elif "secret" in volume:
            secret = dict(volume["secret"])
            secret["name"] = secret.pop("secretName", "")
            sources = [{"secret": secret}]
        for source in sources:
            if "serviceAccountToken" in source:
                request = source["serviceAccountToken"]
                path = directory / str(request.get("path") or "token")
                await self.write_token(path, request)
                tokens.append((path, request))
            elif "downwardAPI" in source:
                for item in source["downwardAPI"].get("items") or []:
                    if "fieldRef" in item:
                        _write(directory / item["path"], podspec.field_value(
                            self.pod, item["fieldRef"]["fieldPath"], self.context.pod_ip,
                            "127.0.0.1").encode())
            else:
                kind = "configMap" if "configMap" in source else "secret"
                if kind not in source:
                    continue
                ref = source[kind]
                obj = await self._object(kind, str(ref.get("name", "")),
                                         bool(ref.get("optional")))
                items = ref.get("items") or [{"key": k, "path": k} for k in _keys(obj, kind)]
                for item in items:
                    value = _raw(obj, kind, item["key"])
                    if value is None and not ref.get("optional"):
                        raise RuntimeError(f"MountVolume.SetUp failed for volume "
                                           f"{volume['name']!r}: {kind} {ref.get('name')!r} "
                                           f"has no key {item['key']!r}")
                    if value is not None:
                        _write(directory / item["path"], value)
        return tokens

    async def write_token(self, path: Path, request: dict[str, Any]) -> float:
        """Ask the API for a token bound to the pod, write it; its lifetime in seconds."""
        meta, spec = self.pod["metadata"], self.pod.get("spec") or {}
        account = spec.get("serviceAccountName") or "default"
        seconds = int(request.get("expirationSeconds") or _TOKEN_DEFAULT_SECONDS)
        body: dict[str, Any] = {
            "apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
            "spec": {"expirationSeconds": seconds, "boundObjectRef": {
                "apiVersion": "v1", "kind": "Pod", "name": meta["name"], "uid": meta["uid"]}}}
        if request.get("audience"):
            body["spec"]["audiences"] = [request["audience"]]
        answer = await self.client.request(
            "POST", f"/api/v1/namespaces/{self.namespace}/serviceaccounts/{account}/token", body)
        _write(path, str(answer["status"]["token"]).encode())
        return float(seconds)

    async def _object(self, kind: str, name: str, optional: bool) -> dict[str, Any] | None:
        """A ConfigMap or Secret of the pod's namespace, waiting briefly for it to appear."""
        key = (kind, name)
        if key in self._objects:
            return self._objects[key]
        resource = "configmaps" if kind == "configMap" else "secrets"
        deadline = time.monotonic() + (0 if optional else _REF_WAIT)
        while True:
            try:
                obj: dict[str, Any] | None = await self.client.request(
                    "GET", f"/api/v1/namespaces/{self.namespace}/{resource}/{name}")
                break
            except ApiFailure as e:
                if e.status != 404:
                    raise
                if time.monotonic() >= deadline:
                    if optional:
                        obj = None
                        break
                    raise RuntimeError(f'{kind} "{name}" not found') from None
                await asyncio.sleep(0.2)
        self._objects[key] = obj
        return obj


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
            self._tasks.append(asyncio.create_task(_refresh(setup, path, request)))

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


async def _refresh(setup: _PodSetup, path: Path, request: dict[str, Any]) -> None:
    """Renew a projected token once 80% of its lifetime has passed (kubelet token manager)."""
    seconds = float(request.get("expirationSeconds") or _TOKEN_DEFAULT_SECONDS)
    while True:
        await asyncio.sleep(seconds * 0.8)
        try:
            seconds = await setup.write_token(path, request)
        except (ApiFailure, aiohttp.ClientError, OSError) as e:
            log.warning("cannot renew the token at %s: %s", path, e)
            seconds = 10 / 0.8  # try again soon


async def _ok(session: aiohttp.ClientSession, url: str, ctx: ssl.SSLContext) -> bool:
    try:
        async with session.get(url, ssl=ctx if url.startswith("https") else False) as resp:
            return resp.status == 200
    except (aiohttp.ClientError, OSError, TimeoutError):
        return False


def _machine(env: Mapping[str, str]) -> dict[str, str]:
    """The container's env plus what Python needs from this machine to start."""
    base = {k: v for k, v in os.environ.items()
            if k in _PASSTHROUGH or k.startswith(_PASSTHROUGH_PREFIXES)}
    base.setdefault("PATH", os.path.dirname(sys.executable))
    return {**base, **env}


def _keys(obj: dict[str, Any] | None, kind: str) -> list[str]:
    if obj is None:
        return []
    keys = list(obj.get("data") or {})
    return keys + list(obj.get("binaryData") or {}) if kind == "configMap" else keys


def _raw(obj: dict[str, Any] | None, kind: str, key: str) -> bytes | None:
    if obj is None:
        return None
    data = obj.get("data") or {}
    if kind == "secret":
        return base64.b64decode(data[key]) if key in data else None
    if key in data:
        return str(data[key]).encode()
    binary = obj.get("binaryData") or {}
    return base64.b64decode(binary[key]) if key in binary else None


def _value(obj: dict[str, Any] | None, kind: str, key: str) -> str | None:
    raw = _raw(obj, kind, key)
    return raw.decode(errors="replace") if raw is not None else None


def _write(path: Path, data: bytes) -> None:
    """Replace the file at once (a renewed token is never read half-written)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)
