"""What a sandbox cluster is made of: its flavour, nodes, kubelet pace, runtime hooks and ports.

One flat dataclass for the whole cluster, read by the API server (CIDR, history, bookmarks, the
admin token, the flavour's bootstrap objects), the controllers, the kubelet and the ingress
controller. It lives above them all: it names the kubelet's settings and, by default, the
runtime hooks of `kubelet` and `vcluster`; the API server and the controllers name it only
for type checking.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from preview.sandbox.kubelet.timings import KubeletTimings

if TYPE_CHECKING:
    from preview.sandbox.kubelet.runtime import PodRuntime


@dataclass
class ServerConfig:
    service_cidr: str = "10.96.0.0/12"
    history: int = 20000
    # Watch bookmarks to clients that allow them: about once a minute, as the real server
    # (its watch cache's bookmark frequency); tests that await one set it lower.
    bookmark_interval: float = 60.0
    admin_token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    # "host": a cluster with nodes, scheduler and kubelet; "virtual": a control plane only,
    # like k3s in our chart (no agent, no scheduler) — pods stay Pending there.
    flavour: str = "host"
    nodes: int = 3
    # Node heartbeats (host flavour): Lease renewals, and the slower full status report
    # (the kubelet's nodeLeaseDuration/4 and nodeStatusReportFrequency defaults).
    node_lease_seconds: float = 10.0
    node_status_seconds: float = 300.0
    # Pods per node (the kubelet's --max-pods): 3 nodes of 110 hold 330 pods, as on a real
    # cluster; more pods need more nodes or a larger value.
    node_max_pods: int = 110
    # The kubelet (host flavour): its pace, and runtime hooks that run matching pods for real.
    kubelet: KubeletTimings = field(default_factory=KubeletTimings)
    # By default a host cluster runs the control-plane pod of charts/vcluster, the API pod
    # of charts/preview-platform and python containers (the example app) for real.
    runtimes: list[PodRuntime] = field(default_factory=lambda: _default_runtimes())
    # Extra names/IPs of the serving certificate (k3s's --tls-san), beside 127.0.0.1/localhost.
    tls_sans: tuple[str, ...] = ()
    # k3s's --data-dir: the certificates are then k3s's, kept in `<data_dir>/server/tls`
    # as k3s lays them out (auth/certs.py's k3s_tls), and the API server dials kubelets
    # with its kubelet client certificate, verifying them against the server CA; the
    # objects are written to `<data_dir>/server/db/state.json` on stop and read back on
    # start (storage/snapshot.py). None: throwaway certificates and state, in memory.
    data_dir: Path | None = None
    # The host ingress controller's loopback ports (0 = a free port; the bound ones are
    # on `ApiServer.ingress_ports`).
    ingress_http_port: int = 0
    ingress_https_port: int = 0


def _default_runtimes() -> list[PodRuntime]:
    # Imported when a config is made: the hooks build on the kubelet and the controllers' client.
    from preview.sandbox.kubelet.python_runtime import PythonRuntime
    from preview.sandbox.platform.runtime import PlatformRuntime
    from preview.sandbox.vcluster.runtime import VClusterRuntime

    return [VClusterRuntime(), PlatformRuntime(), PythonRuntime()]
