"""Where an API server is and how to authenticate: from a kubeconfig or from inside a pod.

Supports what our users' kubeconfigs and k3s use: bearer tokens (inline or token files, re-read
so rotated projected tokens keep working), client certificates, CA bundles,
insecure-skip-tls-verify, and exec / auth-provider plugins (EKS, GKE, AKS), whose tokens the
`kubernetes` library's loader resolves and refreshes (`preview.kube.credentials`).
"""

from __future__ import annotations

import base64
import os
import ssl
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from preview.errors import PreviewError
from preview.kube.credentials import PluginCredentials
from preview.kube.kubeconfig import merged_kubeconfig, split_env

SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")


@dataclass(frozen=True)
class Connection:
    """An API server endpoint and credentials (secrets are never part of repr)."""

    server: str
    ca_pem: bytes | None = None
    insecure: bool = False
    token: str = ""
    token_file: str = ""
    client_cert_pem: bytes | None = None
    client_key_pem: bytes | None = None
    namespace: str = "default"
    tls_server_name: str = ""
    # A plugin's expiring token, asked for again on every request (exec / auth-provider users).
    plugin: PluginCredentials | None = field(default=None, compare=False)

    def __repr__(self) -> str:
        return f"Connection(server={self.server!r}, namespace={self.namespace!r})"

    def bearer_token(self) -> str:
        if self.plugin is not None:
            return self.plugin.token()
        if self.token_file:
            return Path(self.token_file).read_text().strip()
        return self.token

    def refresh_credentials(self) -> bool:
        """After a 401: get a fresh token from the plugin. False when nothing can refresh."""
        if self.plugin is None:
            return False
        self.plugin.refresh()
        return True

    def ssl_context(self) -> ssl.SSLContext | bool:
        if not self.server.startswith("https://"):
            return False
        ctx = ssl.create_default_context()
        if self.insecure:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        elif self.ca_pem:
            ctx.load_verify_locations(cadata=self.ca_pem.decode())
        if self.client_cert_pem and self.client_key_pem:
            with tempfile.TemporaryDirectory() as tmp:
                cert, key = Path(tmp) / "tls.crt", Path(tmp) / "tls.key"
                cert.write_bytes(self.client_cert_pem)
                key.write_bytes(self.client_key_pem)
                ctx.load_cert_chain(cert, key)
        return ctx


def from_kubeconfig(path: str | os.PathLike[str] | None = None,
                    context: str | None = None) -> Connection:
    """Settings of a kubeconfig's context (default: $KUBECONFIG, merged as kubectl merges its
    files, then ~/.kube/config)."""
    env = os.environ.get("KUBECONFIG", "")
    if path is not None:
        file, doc = Path(path), merged_kubeconfig([path], must_exist=True)
    elif split_env(env):
        file, doc = Path(env), merged_kubeconfig(split_env(env))
    else:
        file = Path.home() / ".kube" / "config"
        doc = merged_kubeconfig([file], must_exist=True)
    name = context or doc.get("current-context")
    if not name:
        raise PreviewError(f"kubeconfig {file} has no current-context",
                           "pass --context NAME")
    ctx = _named(doc, "contexts", name, file).get("context") or {}
    cluster = _named(doc, "clusters", ctx.get("cluster", ""), file).get("cluster") or {}
    user = _named(doc, "users", ctx.get("user", ""), file).get("user") or {} \
        if ctx.get("user") else {}
    base = file.parent
    if not cluster.get("server"):
        raise PreviewError(f"kubeconfig {file}: cluster of context {name!r} has no server")
    plugin = PluginCredentials(doc, name, base, str(ctx.get("user"))) \
        if "exec" in user or "auth-provider" in user else None
    if plugin is not None and plugin.client_cert_file:
        user = {**user, "client-certificate": plugin.client_cert_file,
                "client-key": plugin.client_key_file}
    return Connection(
        server=cluster["server"].rstrip("/"),
        ca_pem=_data(cluster, "certificate-authority", base),
        insecure=bool(cluster.get("insecure-skip-tls-verify")),
        token=user.get("token", ""),
        token_file=str(base / user["tokenFile"]) if user.get("tokenFile") else "",
        client_cert_pem=_data(user, "client-certificate", base),
        client_key_pem=_data(user, "client-key", base),
        namespace=ctx.get("namespace") or "default",
        tls_server_name=cluster.get("tls-server-name", ""),
        plugin=plugin,
    )


def service_account_dir() -> Path:
    """Where the pod's ServiceAccount files (token, ca.crt, namespace) are mounted.

    The standard directory, or `$PREVIEW_SERVICE_ACCOUNT_DIR` when set: the one seam for
    running a pod's process outside a container, where every pod shares one filesystem
    (the sandbox's runtime for the vcluster control-plane pod sets it).
    """
    return Path(os.environ.get("PREVIEW_SERVICE_ACCOUNT_DIR") or SERVICE_ACCOUNT_DIR)


def in_cluster() -> Connection:
    """Settings of the pod this runs in: its ServiceAccount token and the cluster CA.

    As client-go's rest.InClusterConfig: KUBERNETES_SERVICE_HOST/PORT and the files of
    `service_account_dir()` (`$PREVIEW_SERVICE_ACCOUNT_DIR` overrides the standard one).
    """
    host = os.environ.get("KUBERNETES_SERVICE_HOST")
    port = os.environ.get("KUBERNETES_SERVICE_PORT", "443")
    sa_dir = service_account_dir()
    if not host or not (sa_dir / "token").exists():
        raise PreviewError("not running inside a Kubernetes pod (no KUBERNETES_SERVICE_HOST or "
                           f"{sa_dir}/token)", "pass a kubeconfig instead")
    host = f"[{host}]" if ":" in host else host
    namespace_file = sa_dir / "namespace"
    return Connection(
        server=f"https://{host}:{port}",
        ca_pem=(sa_dir / "ca.crt").read_bytes(),
        token_file=str(sa_dir / "token"),
        namespace=namespace_file.read_text().strip() if namespace_file.exists() else "default",
    )


def _named(doc: dict[str, Any], section: str, name: str, file: Path) -> dict[str, Any]:
    for entry in doc.get(section) or []:
        if entry.get("name") == name:
            return entry
    raise PreviewError(f"kubeconfig {file}: no {section[:-1]} named {name!r}",
                       f"check the {section} section or pass another --context")


def _data(section: dict[str, Any], key: str, base: Path) -> bytes | None:
    if section.get(f"{key}-data"):
        return base64.b64decode(section[f"{key}-data"])
    if section.get(key):
        return (base / section[key]).read_bytes()
    return None
