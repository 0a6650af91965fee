"""Plain data of virtual clusters: identity, what `create`/`delete` report, list rows."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from preview import naming
from preview.errors import PreviewError

Progress = Callable[[str], None]
# Labels on every object of the chart (app.kubernetes.io/*) and on namespaces we create.
PART_OF = naming.MANAGED_BY_VALUE
NAMESPACE_MANAGED_BY = naming.MANAGED_BY
NAMESPACE_VCLUSTER = naming.VCLUSTER
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
# The name is also the name of Services (NAME, NAME-headless, NAME-dns): DNS-1035 labels,
# which must start with a letter.
_DNS_1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
MAX_NAME = 52  # the StatefulSet's pod `NAME-0` and the Service must fit 63; helm allows 53


def check_name(name: str, what: str = "virtual cluster name") -> str:
    """A DNS-1035 label of at most 52 characters, or a PreviewError naming the fix."""
    if not name or len(name) > MAX_NAME or not _DNS_1035.match(name):
        raise PreviewError(f"{what} {name!r} is not valid: it names Services, which need a "
                           "DNS-1035 label",
                           f"use at most {MAX_NAME} lower-case letters, digits and '-', starting "
                           "with a letter and ending with a letter or digit")
    return name


def check_namespace(namespace: str) -> str:
    if not namespace or len(namespace) > 63 or not _DNS_LABEL.match(namespace):
        raise PreviewError(f"namespace {namespace!r} is not valid",
                           "use at most 63 lower-case letters, digits and '-'")
    return namespace


def kubeconfig_secret(name: str) -> str:
    return f"vc-{name}"


def chart_path() -> Path:
    """The `charts/vcluster` shipped with this package (or $PREVIEW_VCLUSTER_CHART).

    In a checkout `preview/charts` links to the top-level `charts/`; wheels carry a copy.
    """
    override = os.environ.get("PREVIEW_VCLUSTER_CHART")
    path = Path(override) if override else \
        Path(__file__).resolve().parents[1] / "charts" / "vcluster"
    if not (path / "Chart.yaml").is_file():
        raise PreviewError(f"the vcluster chart is not at {path}",
                           "reinstall preview-vcluster, or set PREVIEW_VCLUSTER_CHART to the "
                           "chart's directory")
    return path


@dataclass(frozen=True)
class VCluster:
    """One virtual cluster as found on the host."""

    name: str
    namespace: str
    ready: bool
    status: str  # Running | Starting | Paused | Failed
    created: str  # creationTimestamp of its StatefulSet
    age_seconds: int
    labels: dict[str, str] = field(default_factory=dict)  # owner labels of its namespace
    release: str = ""  # helm's status of its release (deployed, failed, pending-install…)
    revision: int = 0
    chart: str = ""  # chart-version of its release


@dataclass(frozen=True)
class CreateResult:
    name: str
    namespace: str
    revision: int
    service_cidr: str
    kubeconfig_secret: str
    seconds: float
    created_namespace: bool
    upgraded: bool = False
    changes: tuple[str, ...] = ()  # "key: before -> after" of an upgrade


@dataclass(frozen=True)
class DeleteResult:
    name: str
    namespace: str
    uninstalled: bool
    namespace_deleted: bool
    leftovers: tuple[str, ...]  # "kind/name" of objects with our labels still present
    seconds: float
