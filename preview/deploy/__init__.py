"""The user's chart inside the virtual cluster: check, install, wait, health check, diagnose.

`preview up` calls, in order: `check_chart` (before the virtual cluster exists), `install`,
`wait_ready`, `wait_ingress`, `health_check`; on a `DeployFailed` it reports the attached
`Diagnostics` (for other failures after install it may call `collect_diagnostics` itself)
and leaves the environment for inspection.
"""

from preview.deploy.backend import describe as describe_backend
from preview.deploy.diagnostics import collect_diagnostics
from preview.deploy.health import HealthCheckFailed, health_check
from preview.deploy.ingress import has_tls, wait_ingress
from preview.deploy.model import ChartRef, DeployFailed, IngressAddress, Progress, VirtualCluster
from preview.deploy.readiness import wait_ready
from preview.deploy.release import check_chart, install

__all__ = [
    "ChartRef",
    "DeployFailed",
    "HealthCheckFailed",
    "IngressAddress",
    "Progress",
    "VirtualCluster",
    "check_chart",
    "collect_diagnostics",
    "describe_backend",
    "has_tls",
    "health_check",
    "install",
    "wait_ingress",
    "wait_ready",
]
