"""What a kubelet does for a pod before its containers start, for runtime hooks that run it.

A runtime hook (`runtime.py`) that runs a pod's containers as local processes needs what
the kubelet would have prepared: every volume as a directory of the pod's own temp dir
(`podspec.volume_dirs`), with projected, ConfigMap and Secret volumes filled through the
host API with the kubelet's client (a `kube-api-access-*` volume holds a token from a
TokenRequest bound to the pod, `ca.crt` and `namespace`; `refresh_token` renews it at 80% of
its lifetime, as the kubelet's token manager does; a PersistentVolumeClaim's directory is a
link to its bound volume's own, `volume_root()/<volume>-<uid>`, which outlives the pod as the
volume does, so a StatefulSet's pod made again finds its data), and each container's environment
(`envFrom`, then `env`, ConfigMap/Secret keys read through the API). `machine_env` adds what
a process needs from this machine to start Python at all; a container has its image.

Used by the vcluster control-plane runtime and the python runtime.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import re
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import aiohttp

from preview.kube.client import ApiError, NotFound
from preview.sandbox.controllers.client import ApiClient
from preview.sandbox.kubelet import podspec
from preview.sandbox.kubelet.runtime import RuntimeContext

log = logging.getLogger(__name__)
SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
_PASSTHROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "PYTHONPATH",
                "PYTHONHASHSEED", "SYSTEMROOT",
                "PREVIEW_SANDBOX_CLOCK_FILE")  # the sandbox's token clock (auth/tokens.py)
_PASSTHROUGH_PREFIXES = ("COV_CORE_", "COVERAGE_")  # subprocess coverage in the test suite
TOKEN_DEFAULT_SECONDS = 3600  # projected serviceAccountToken's expirationSeconds default
_REF_WAIT = 5.0  # how long a missing ConfigMap/Secret may take to appear before start fails
# What the API server accepts as an environment variable name (validation.IsEnvVarName).
_ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")
Tokens = list[tuple[Path, dict[str, Any]]]  # token files to keep fresh, with their requests


class PodSetup:
    """The volumes and environment of one pod, prepared under its directory `root`."""

    def __init__(self, pod: dict[str, Any], context: RuntimeContext, client: ApiClient,
                 root: Path) -> None:
        self.pod, self.context, self.client, self.root = pod, context, client, root
        self.namespace = str(pod["metadata"]["namespace"])
        self.dirs = podspec.volume_dirs(pod, root)
        self._objects: dict[tuple[str, str], dict[str, Any] | None] = {}

    async def fill_volumes(self) -> Tokens:
        """Create every volume's directory and write what the API holds for it."""
        tokens: Tokens = []
        for volume in (self.pod.get("spec") or {}).get("volumes") or []:
            tokens += await self.fill(volume, self.dirs[str(volume["name"])])
        return tokens

    async def env_from(self, spec: dict[str, Any]) -> dict[str, str]:
        """The variables of a container's `envFrom` (ConfigMaps and Secrets, with prefixes).

        As the kubelet: keys that are not valid variable names are skipped; a missing
        source fails the start unless it is `optional`.
        """
        out: dict[str, str] = {}
        for source in spec.get("envFrom") or []:
            kind = "configMap" if "configMapRef" in source else "secret"
            ref = source.get(f"{kind}Ref") or {}
            obj = await self.object(kind, str(ref.get("name", "")), bool(ref.get("optional")))
            for key in _keys(obj, kind):
                text = value(obj, kind, key)
                if text is not None and _ENV_NAME.match(key):
                    out[f"{source.get('prefix') or ''}{key}"] = text
        return out

    async def env(self, spec: dict[str, Any], base: Mapping[str, str],
                   mounted: list[tuple[str, Path]]) -> dict[str, str]:
        for kind, name in podspec.env_refs(spec):
            await self.object(kind, name, optional=True)

        def lookup(kind: str, name: str, key: str) -> str | None:
            return value(self._objects.get((kind, name)), kind, key)

        env = podspec.container_env(self.pod, spec, base, lookup, self.context.pod_ip,
                                    "127.0.0.1")
        return {k: podspec.map_path(v, mounted) for k, v in env.items()}

    # -- volumes ---------------------------------------------------------------------------------
    async def fill(self, volume: dict[str, Any],
                    directory: Path) -> list[tuple[Path, dict[str, Any]]]:
        """Create the volume's directory and write what the API holds for it."""
        if "persistentVolumeClaim" in volume:
            await self.claim(volume, directory)
            return []
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
                obj = await self.object(kind, str(ref.get("name", "")),
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

    async def claim(self, volume: dict[str, Any], directory: Path) -> None:
        """Link `directory` to the claim's bound volume's directory (made on first use)."""
        name = str(volume["persistentVolumeClaim"].get("claimName", ""))
        claim = await self.client.request(
            "GET", f"/api/v1/namespaces/{self.namespace}/persistentvolumeclaims/{name}")
        bound = str((claim.get("spec") or {}).get("volumeName") or "")
        if not bound:
            raise RuntimeError(f"MountVolume.SetUp failed for volume {volume['name']!r}: "
                               f"claim {name!r} is not bound to a volume")
        pv = await self.client.request("GET", f"/api/v1/persistentvolumes/{bound}")
        target = volume_root() / f"{bound}-{pv['metadata']['uid']}"
        target.mkdir(parents=True, exist_ok=True)
        directory.parent.mkdir(parents=True, exist_ok=True)
        directory.symlink_to(target, target_is_directory=True)

    async def write_token(self, path: Path, request: dict[str, Any]) -> float:
        """Ask the API for a token bound to the pod, write it; its lifetime in seconds."""
        meta, spec = self.pod["metadata"], self.pod.get("spec") or {}
        account = spec.get("serviceAccountName") or "default"
        seconds = int(request.get("expirationSeconds") or TOKEN_DEFAULT_SECONDS)
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

    async def object(self, kind: str, name: str, optional: bool) -> dict[str, Any] | None:
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
            except NotFound:
                if time.monotonic() >= deadline:
                    if optional:
                        obj = None
                        break
                    raise RuntimeError(f'{kind} "{name}" not found') from None
                await asyncio.sleep(0.2)
        self._objects[key] = obj
        return obj


def volume_root() -> Path:
    """Where this machine keeps persistent volumes' data: one directory per volume, left
    when its pods go (removing a pod's directory removes only the link to it)."""
    root = Path(tempfile.gettempdir()) / f"preview-sandbox-volumes-{os.getuid()}"
    root.mkdir(mode=0o700, exist_ok=True)
    return root


async def refresh_token(setup: PodSetup, path: Path, request: dict[str, Any]) -> None:
    """Renew a projected token once 80% of its lifetime has passed (kubelet token manager)."""
    seconds = float(request.get("expirationSeconds") or TOKEN_DEFAULT_SECONDS)
    while True:
        await asyncio.sleep(seconds * 0.8)
        try:
            seconds = await setup.write_token(path, request)
        except (ApiError, aiohttp.ClientError, OSError) as e:
            log.warning("cannot renew the token at %s: %s", path, e)
            seconds = 10 / 0.8  # try again soon


def machine_env(env: Mapping[str, str]) -> dict[str, str]:
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


def value(obj: dict[str, Any] | None, kind: str, key: str) -> str | None:
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
