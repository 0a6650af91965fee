"""The host cluster, as our API client and helm both see it.

Built once (by the CLI, from --kubeconfig / --context / $KUBECONFIG) and passed to every
operation and to every helm call, so the API client and helm can never talk to two different
clusters: helm gets exactly the kubeconfig flag and context we resolved from (without
--kubeconfig it reads the same $KUBECONFIG files, merged by the same rules).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from preview.helm import Helm
from preview.kube.client import KubeClient
from preview.kube.connection import Connection, from_kubeconfig


@dataclass(frozen=True)
class HostCluster:
    """Where environments live: a connection plus what helm and kubectl need to agree."""

    connection: Connection
    kubeconfig: Path | None = None  # helm/kubectl's --kubeconfig; None: $KUBECONFIG as we read it
    context: str | None = None  # helm's --kube-context; None: the current context

    @classmethod
    def from_kubeconfig(cls, kubeconfig: str | os.PathLike[str] | None = None,
                        context: str | None = None) -> HostCluster:
        """The host of a kubeconfig (default: $KUBECONFIG, then ~/.kube/config)."""
        path = Path(kubeconfig) if kubeconfig is not None else None
        return cls(from_kubeconfig(path, context), path, context)

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
