"""Reaching a virtual cluster's API from outside the host: a kubeconfig and a tunnel.

The syncer publishes the virtual cluster's kubeconfig in Secret `vc-<name>`; `connect`
rewrites its server to the local end of a port-forward through the host API to the
control-plane pod (or to the Service's load balancer / an Ingress host with `expose`).
The tunnel finds the pod again for every new connection, so it outlives a pod restart.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import os
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from preview.errors import PreviewError
from preview.kube.client import ApiError, KubeClient
from preview.kube.portforward import PortForward
from preview.kube.resources import INGRESSES, PODS, SECRETS, SERVICES
from preview.vcluster.model import check_name, check_namespace, kubeconfig_secret

log = logging.getLogger(__name__)
API_PORT = 6443  # k3s's https port in the control-plane pod
EXPOSE_MODES = ("port-forward", "loadbalancer", "ingress")


def kubeconfig_for(published: dict[str, Any], server: str, name: str) -> dict[str, Any]:
    """The current context of the published kubeconfig, pointed at `server`, named after the
    virtual cluster so it can sit next to other kubeconfigs (pure)."""
    current = published.get("current-context")
    context = next((c.get("context") or {} for c in published.get("contexts") or []
                    if c.get("name") == current), None)
    if context is None:
        raise PreviewError(f"the published kubeconfig of {name} has no current context")
    cluster = next((dict(c.get("cluster") or {}) for c in published.get("clusters") or []
                    if c.get("name") == context.get("cluster")), {})
    user = next((dict(u.get("user") or {}) for u in published.get("users") or []
                 if u.get("name") == context.get("user")), {})
    cluster["server"] = server
    if server.startswith("https://127.0.0.1"):
        # The tunnel ends on loopback; k3s's certificate names 127.0.0.1 and localhost.
        cluster.pop("tls-server-name", None)
    entry = f"vcluster-{name}"
    return {"apiVersion": "v1", "kind": "Config", "preferences": {},
            "clusters": [{"name": entry, "cluster": cluster}],
            "users": [{"name": entry, "user": user}],
            "contexts": [{"name": entry, "context": {"cluster": entry, "user": entry}}],
            "current-context": entry}


async def published_kubeconfig(host: KubeClient, name: str, namespace: str) -> dict[str, Any]:
    secret = await host.get(SECRETS, namespace, kubeconfig_secret(name))
    if secret is None:
        raise PreviewError(f"virtual cluster {name} in {namespace} has no kubeconfig Secret "
                           f"{kubeconfig_secret(name)} (yet)",
                           f"check `preview vcluster list`; is {name} running in {namespace}?")
    try:
        return dict(yaml.safe_load(base64.b64decode(secret["data"]["config"])))
    except (KeyError, ValueError, yaml.YAMLError) as e:
        raise PreviewError(f"Secret {namespace}/{kubeconfig_secret(name)} holds no valid "
                           f"kubeconfig ({e})") from e


@contextlib.asynccontextmanager
async def connect(host: KubeClient, name: str, namespace: str, expose: str = "port-forward",
                  local_port: int = 0, directory: Path | None = None,
                  server: str | None = None,
                  path: Path | None = None) -> AsyncIterator[Path]:
    """Yield the path of a kubeconfig for virtual cluster `name`, usable while inside.

    `server` names the address to put in it (no tunnel is opened); otherwise `expose`
    decides. The file is written at `path` (kept afterwards, as the user asked for it) or
    in a private temporary directory that is removed on the way out, however that happens.
    """
    check_name(name)
    check_namespace(namespace)
    if expose not in EXPOSE_MODES:
        raise PreviewError(f"unknown expose mode {expose!r}", f"use one of {EXPOSE_MODES}")
    published = await published_kubeconfig(host, name, namespace)
    with tempfile.TemporaryDirectory(prefix="vcluster-", dir=directory) as tmp:
        target = path or Path(tmp) / "kubeconfig"
        if server is None and expose == "port-forward":
            async def find() -> str | None:
                pod = await host.get(PODS, namespace, f"{name}-0")
                return pod["metadata"]["name"] if pod and (pod.get("status") or {}).get(
                    "phase") == "Running" else None

            async with PortForward(host, namespace, find, API_PORT, local_port) as tunnel:
                server = f"https://127.0.0.1:{tunnel.local_port}"
                _write(target, kubeconfig_for(published, server, name))
                refresher = asyncio.create_task(
                    _follow_secret(host, name, namespace, published, target, server))
                try:
                    yield target
                finally:
                    refresher.cancel()
                    await asyncio.gather(refresher, return_exceptions=True)
            return
        if server is None:
            server = await exposed_server(host, name, namespace, expose)
        _write(target, elsewhere(published, server, name))
        yield target


def elsewhere(published: dict[str, Any], server: str, name: str) -> dict[str, Any]:
    """The kubeconfig for reaching the virtual API at `server` other than through our
    tunnel (pure). The certificate names the in-cluster Service (k3s's --tls-san), so TLS
    verifies against that name unless `server` is the published address itself."""
    kubeconfig = kubeconfig_for(published, server, name)
    published_server = next((c.get("cluster", {}).get("server", "") for c in
                             published.get("clusters") or []), "")
    host_name = urlsplit(published_server).hostname
    if host_name and urlsplit(server).hostname != host_name:
        kubeconfig["clusters"][0]["cluster"]["tls-server-name"] = host_name
    return kubeconfig


async def exposed_server(host: KubeClient, name: str, namespace: str, expose: str) -> str:
    """The virtual API's address behind its LoadBalancer Service or its Ingress host."""
    if expose == "loadbalancer":
        service = await host.get(SERVICES, namespace, name)
        ingress = ((service or {}).get("status") or {}).get("loadBalancer", {}).get("ingress")
        if not ingress:
            raise PreviewError(f"Service {namespace}/{name} has no load-balancer address",
                               "install with --set service.type=LoadBalancer and wait for the "
                               "address, or use the default port-forward")
        address = ingress[0].get("ip") or ingress[0].get("hostname")
        return f"https://{address}:443"
    ingress_obj = await host.get(INGRESSES, namespace, name)
    rules = ((ingress_obj or {}).get("spec") or {}).get("rules") or []
    if not rules or not rules[0].get("host"):
        raise PreviewError(f"virtual cluster {name} has no Ingress with a host",
                           "install with the chart's ingress values (TLS passthrough), or use "
                           "the default port-forward")
    return f"https://{rules[0]['host']}:443"


async def _follow_secret(host: KubeClient, name: str, namespace: str,
                         published: dict[str, Any], path: Path, server: str,
                         interval: float = 1.0) -> None:
    """Rewrite the kubeconfig when the published one changes (a restarted control plane
    may come back with new credentials); the tunnel itself already follows the pod."""
    while True:
        await asyncio.sleep(interval)
        try:
            current = await published_kubeconfig(host, name, namespace)
        except (PreviewError, ApiError) as e:
            log.debug("kubeconfig of %s not readable (yet): %s", name, e)
            continue  # between a restart and the syncer publishing again
        if current != published:
            log.info("the published kubeconfig of %s changed; rewriting %s", name, path)
            _write(path, kubeconfig_for(current, server, name))
            published = current


def _write(path: Path, kubeconfig: dict[str, Any]) -> None:
    """Replace the file atomically: a client reading it never sees half of it. It holds
    admin credentials: created 0600, never readable by others even for a moment."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fresh = path.with_name(path.name + ".new")
    with contextlib.suppress(FileNotFoundError):
        fresh.unlink()
    fd = os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(yaml.safe_dump(kubeconfig))
    fresh.replace(path)
