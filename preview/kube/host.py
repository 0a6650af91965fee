"""The host cluster, as our API client and helm both see it.

Built once (by the CLI, from --kubeconfig / --context / $KUBECONFIG) and passed to every
operation and to every helm call, so the API client and helm can never talk to two different
clusters: helm gets exactly the kubeconfig flag and context we resolved from (without
--kubeconfig it reads the same $KUBECONFIG files, merged by the same rules).
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from preview.helm import Helm
from preview.kube.client import KubeClient
from preview.kube.connection import (
    Connection,
    from_kubeconfig,
    in_cluster,
    service_account_dir,
)
from preview.kube.kubeconfig import split_env


@dataclass(frozen=True)
class HostCluster:
    """Where environments live: a connection plus what helm and kubectl need to agree."""

    connection: Connection
    kubeconfig: Path | None = None  # helm/kubectl's --kubeconfig; None: $KUBECONFIG as we read it
    context: str | None = None  # helm's --kube-context; None: the current context

    @classmethod
    def from_kubeconfig(cls, kubeconfig: str | os.PathLike[str] | None = None,
                        context: str | None = None) -> HostCluster:
        """The host of a kubeconfig (default: $KUBECONFIG, then ~/.kube/config, then — in a
        pod, with neither — the pod's own ServiceAccount, as client-go's loading rules)."""
        path = Path(kubeconfig) if kubeconfig is not None else None
        if path is None and context is None and in_cluster_applies(os.environ):
            return cls.in_cluster()
        return cls(from_kubeconfig(path, context), path, context)

    @classmethod
    def in_cluster(cls) -> HostCluster:
        """The pod's own ServiceAccount (KUBERNETES_SERVICE_HOST/PORT and its token files).

        helm and kubectl get a kubeconfig naming the same server, CA file and token file
        (re-read as the kubelet rotates it), written once, privately, for this process: they
        would find the standard in-cluster files themselves, but not a moved
        `$PREVIEW_SERVICE_ACCOUNT_DIR`, and this way both sides are one account by
        construction."""
        connection = in_cluster()
        directory = Path(tempfile.mkdtemp(prefix="preview-in-cluster-"))
        atexit.register(shutil.rmtree, directory, True)
        path = directory / "kubeconfig"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as file:
            file.write(json.dumps(in_cluster_kubeconfig(connection.server,
                                                        service_account_dir(),
                                                        connection.namespace)))
        return cls(connection, path, None)

    def client(self, user_agent: str = "preview-cli") -> KubeClient:
        """A new API client (use as `async with host.client() as kube`)."""
        return KubeClient(self.connection, user_agent)

    @property
    def helm(self) -> Helm:
        """helm on this cluster: the same kubeconfig and context as the client."""
        return Helm(self.kubeconfig, self.context)

    def tool_flags(self) -> tuple[str, ...]:
        """The same cluster for a `kubectl`/`helm` command line a user may copy."""
        flags: tuple[str, ...] = ()
        if self.kubeconfig is not None:
            flags += ("--kubeconfig", str(self.kubeconfig))
        if self.context:
            flags += ("--context", self.context)
        return flags


def in_cluster_applies(environ: Mapping[str, str], home: Path | None = None,
                       sa_dir: Path | None = None) -> bool:
    """Whether client-go's loading rules would end at the in-cluster config: no $KUBECONFIG,
    no ~/.kube/config, and a pod's KUBERNETES_SERVICE_HOST with its token file."""
    if split_env(environ.get("KUBECONFIG", "")):
        return False
    if ((home or Path.home()) / ".kube" / "config").exists():
        return False
    token = (sa_dir or service_account_dir()) / "token"
    return bool(environ.get("KUBERNETES_SERVICE_HOST")) and token.exists()


def in_cluster_kubeconfig(server: str, sa_dir: Path, namespace: str) -> dict[str, Any]:
    """A kubeconfig of the pod's ServiceAccount: the files, not their contents (pure)."""
    return {"apiVersion": "v1", "kind": "Config",
            "clusters": [{"name": "in-cluster",
                          "cluster": {"server": server,
                                      "certificate-authority": str(sa_dir / "ca.crt")}}],
            "users": [{"name": "service-account",
                       "user": {"tokenFile": str(sa_dir / "token")}}],
            "contexts": [{"name": "in-cluster",
                          "context": {"cluster": "in-cluster", "user": "service-account",
                                      "namespace": namespace}}],
            "current-context": "in-cluster"}
