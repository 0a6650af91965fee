"""The user's chart inside the virtual cluster: check, install, wait, health check, diagnose.

`preview up` calls, in order: `check_chart` (before the virtual cluster exists), `install`,
`wait_ready`, `wait_ingress`, `health_check`; on a `DeployFailed` it reports the attached
`Diagnostics` (or calls `collect_diagnostics` itself for other failures) and leaves the
environment for inspection.
"""

from preview.deploy.model import ChartRef, DeployFailed, IngressAddress, Progress, VirtualCluster
from preview.deploy.release import check_chart, install

__all__ = [
    "ChartRef",
    "DeployFailed",
    "IngressAddress",
    "Progress",
    "VirtualCluster",
    "check_chart",
    "install",
]
