"""`preview list`: every environment on the host, read back from its namespace's labels.

The namespace is the record (`naming.read_environment`); the virtual cluster's StatefulSet
says whether it runs. Pure `row` does the arithmetic (age, expiry, status) for tests.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from preview import naming
from preview.kube.host import HostCluster
from preview.kube.objects import parse_time
from preview.operations.ownership import NAMESPACES
from preview.vcluster import listing
from preview.vcluster.model import VCluster


@dataclass(frozen=True)
class EnvironmentRow:
    """One environment as `preview list` shows it."""

    repo: str  # owner/name
    pr: int
    environment: str
    namespace: str
    head_sha: str
    url: str
    created_at: str
    expires_at: str
    age_seconds: int
    expires_in_seconds: int | None  # negative once expired; None when unknown
    status: str  # deploying | ready | failed | starting | asleep | expired | terminating | no-vcluster
    reason: str = ""  # why it failed (one sentence, as `up` recorded it)


def row(record: naming.EnvironmentRecord, vcluster: VCluster | None,
        now: dt.datetime) -> EnvironmentRow:
    """The list row of one environment (pure)."""
    age = _seconds_since(record.created_at, now)
    expires_in = -_seconds_since(record.expires_at, now) if record.expires_at else None
    if record.terminating:
        status = "terminating"
    elif expires_in is not None and expires_in <= 0:
        status = "expired"
    elif record.state == "failed":
        status = "failed"  # left up for inspection: its virtual cluster may well run
    elif vcluster is None:
        status = "no-vcluster"
    elif record.asleep_since:
        status = "asleep"
    elif record.state == "deploying":
        status = "deploying"
    else:
        status = "ready" if vcluster.ready else vcluster.status.lower()
    return EnvironmentRow(
        repo=record.repo, pr=record.pr, environment=record.environment,
        namespace=record.namespace, head_sha=record.head_sha, url=record.url,
        created_at=record.created_at, expires_at=record.expires_at,
        age_seconds=max(age, 0), expires_in_seconds=expires_in, status=status,
        reason=record.state_reason if status == "failed" else "")


def _seconds_since(stamp: str, now: dt.datetime) -> int:
    try:
        return int((now - parse_time(stamp)).total_seconds())
    except ValueError:
        return 0


async def list_environments(host: HostCluster, owner: str | None = None,
                            repo: str | None = None,
                            now: dt.datetime | None = None) -> tuple[EnvironmentRow, ...]:
    """Every environment (of `owner/repo` when given), oldest first."""
    now = now or dt.datetime.now(dt.UTC)
    async with host.client() as kube:
        listed = await kube.list(NAMESPACES, None, naming.environment_selector(owner, repo))
        records = [r for r in map(naming.read_environment, listed.get("items") or []) if r]
    found = await listing.list_vclusters(host, None)
    vclusters = {(v.namespace, v.name): v for v in found}
    rows = [row(r, vclusters.get((r.namespace, r.vcluster)), now) for r in records]
    return tuple(sorted(rows, key=lambda r: (r.created_at, r.namespace)))
