"""Plain data of a deploy: where the virtual cluster is, the chart, the Ingress address."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from preview.errors import PreviewError
from preview.helm import Helm
from preview.kube.client import KubeClient
from preview.results import Diagnostics

Progress = Callable[[str], None]


@dataclass(frozen=True)
class ChartRef:
    """Where the user's chart comes from: what helm needs, nothing about preview.yaml.

    `preview.config.Chart` (kind/path/name/oci) is the config's richer view; `preview up`
    turns it into this (`ChartRef(chart.ref, chart.repo, chart.version)`).
    """

    ref: str  # a local path, an oci://… reference, or a chart name in `repo`
    repo: str | None = None
    version: str | None = None


@dataclass(frozen=True)
class VirtualCluster:
    """How to reach the virtual API from here: helm uses the kubeconfig, we use the client."""

    kubeconfig: Path  # a kubeconfig file for the virtual cluster (tunnel open)
    client: KubeClient  # on the same connection

    @property
    def helm(self) -> Helm:
        """helm on the virtual cluster, through the same tunnel."""
        return Helm(self.kubeconfig)


@dataclass(frozen=True)
class IngressAddress:
    """Where the preview URL is served: the host ingress controller's address and ports."""

    ip_or_hostname: str
    http_port: int = 80
    https_port: int = 443
    ingress: str = ""  # the virtual Ingress that serves the host
    tls_hosts: tuple[str, ...] = ()  # its spec.tls hosts: a certificate is provided for them
    hosts: tuple[str, ...] = ()  # every rule host of the namespace's Ingresses (no wildcards)


class DeployFailed(PreviewError):
    """The chart was applied but did not become ready; `diagnostics` says why."""

    def __init__(self, message: str, diagnostics: Diagnostics, hint: str | None = None) -> None:
        super().__init__(message, hint)
        self.diagnostics = diagnostics


def is_local(chart: ChartRef) -> bool:
    return chart.repo is None and not chart.ref.startswith("oci://")


def resolve_local(chart: ChartRef, base_dir: Path | None) -> ChartRef:
    """A local chart's path made absolute (relative to `base_dir`, else the working directory).

    Remote charts (oci://, a name in a repo) are returned as they are.
    """
    if not is_local(chart):
        return chart
    path = Path(chart.ref).expanduser()
    if not path.is_absolute():
        path = (base_dir or Path.cwd()) / path
    if not (path / "Chart.yaml").is_file() and not (path.is_file() and path.suffix == ".tgz"):
        raise PreviewError(f"chart {chart.ref!r}: no Helm chart at {path}",
                           "set chart.path in preview.yaml to a directory with a Chart.yaml "
                           "(relative to preview.yaml), or use chart.repo/chart.oci")
    return ChartRef(str(path.resolve()), None, chart.version)
