"""Kubeconfig files for the emulator: an admin one, or one per service-account token."""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

import yaml


def kubeconfig(server: str, token: str, *, ca_pem: bytes | None = None, cluster: str = "sandbox",
               user: str = "admin", namespace: str | None = None,
               client_cert: tuple[bytes, bytes] | None = None) -> dict[str, Any]:
    """A kubeconfig authenticating with `token`, or with `client_cert` (cert, key PEM)."""
    context: dict[str, Any] = {"cluster": cluster, "user": user}
    cluster_entry: dict[str, Any] = {"server": server}
    if ca_pem:
        cluster_entry["certificate-authority-data"] = base64.b64encode(ca_pem).decode()
    if namespace:
        context["namespace"] = namespace
    return {
        "apiVersion": "v1", "kind": "Config", "preferences": {},
        "clusters": [{"name": cluster, "cluster": cluster_entry}],
        "users": [{"name": user, "user": {"token": token} if client_cert is None else {
            "client-certificate-data": base64.b64encode(client_cert[0]).decode(),
            "client-key-data": base64.b64encode(client_cert[1]).decode()}}],
        "contexts": [{"name": cluster, "context": context}],
        "current-context": cluster,
    }


def write(path: Path, config: dict[str, Any]) -> Path:
    """Write atomically with owner-only permissions: the file holds a credential."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        yaml.safe_dump(config, f, sort_keys=False)
    os.replace(tmp, path)
    return path
