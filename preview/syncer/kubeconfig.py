"""Publishing the virtual cluster's kubeconfig as a host Secret (`vc-<name>`).

k3s writes an admin kubeconfig for itself (server `https://127.0.0.1:6443`); users and
`preview vcluster connect` need one that names the in-cluster Service instead. The syncer
re-reads k3s's file and keeps the Secret current, so certificate rotations reach users.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from pathlib import Path
from typing import Any

import yaml

from preview.kube.client import ApiError, KubeClient
from preview.syncer.resources import SECRETS

log = logging.getLogger(__name__)
SECRET_KEYS = ("config", "certificate-authority", "client-certificate", "client-key", "token")


def for_server(admin: dict[str, Any], server: str) -> dict[str, Any]:
    """The admin kubeconfig with every cluster's server replaced (pure)."""
    out = yaml.safe_load(yaml.safe_dump(admin))
    for cluster in out.get("clusters") or []:
        cluster.setdefault("cluster", {})["server"] = server
    return dict(out)


def secret_data(kubeconfig: dict[str, Any]) -> dict[str, str]:
    """The Secret's data (base64): the kubeconfig, and its credentials as separate keys."""
    current = kubeconfig.get("current-context")
    context = next((c.get("context") or {} for c in kubeconfig.get("contexts") or []
                    if c.get("name") == current), {})
    cluster = next((c.get("cluster") or {} for c in kubeconfig.get("clusters") or []
                    if c.get("name") == context.get("cluster")), {})
    user = next((u.get("user") or {} for u in kubeconfig.get("users") or []
                 if u.get("name") == context.get("user")), {})
    data = {"config": _b64(yaml.safe_dump(kubeconfig).encode())}
    for key, source in (("certificate-authority", cluster.get("certificate-authority-data")),
                        ("client-certificate", user.get("client-certificate-data")),
                        ("client-key", user.get("client-key-data"))):
        if source:
            data[key] = source  # already base64 in the kubeconfig
    if user.get("token"):
        data["token"] = _b64(user["token"].encode())
    return data


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


async def publish_forever(host: KubeClient, namespace: str, secret_name: str, source: Path,
                          server: str, labels: dict[str, str], interval: float = 10.0) -> None:
    """Keep Secret `secret_name` equal to k3s's kubeconfig pointed at `server`."""
    published: dict[str, str] | None = None
    while True:
        try:
            data = secret_data(for_server(yaml.safe_load(source.read_text()), server))
            if data != published:
                await _write(host, namespace, secret_name, data, labels)
                published = data
                log.info("published the virtual cluster's kubeconfig as Secret %s/%s",
                         namespace, secret_name)
        except (OSError, yaml.YAMLError) as e:
            log.warning("cannot read %s: %s", source, e)
        except ApiError as e:
            log.warning("cannot publish Secret %s/%s: %s", namespace, secret_name, e)
        await asyncio.sleep(interval)


async def _write(host: KubeClient, namespace: str, name: str, data: dict[str, str],
                 labels: dict[str, str]) -> None:
    metadata: dict[str, Any] = {"name": name, "namespace": namespace, "labels": labels}
    body = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque", "metadata": metadata,
            "data": data}
    existing = await host.get(SECRETS, namespace, name)
    if existing is None:
        await host.create(SECRETS, namespace, body)
        return
    metadata["resourceVersion"] = existing["metadata"]["resourceVersion"]
    await host.replace(SECRETS, namespace, name, body)
