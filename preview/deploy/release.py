"""The user's chart as a Helm release inside the virtual cluster: check, recover, install.

Atomicity, and why not `--rollback-on-failure` (helm v4's `--atomic`): that flag makes helm
wait and, on failure, roll back, which deletes the failing pods before anyone can see why.
The issue wants a failed environment left for inspection, so `install` only applies the
chart (helm marks the revision `failed` when the apply itself fails, and nothing half-applied
is left *pending*), and the caller waits with `wait_ready`, collects diagnostics on failure
and leaves the release as it is. The next `up` upgrades in place from there: helm upgrades a
`failed` release, and one left `pending-*` by an interrupted run is recovered first.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from preview import helm
from preview.deploy.model import ChartRef, Progress, VirtualCluster, resolve_local
from preview.errors import PreviewError

PENDING = ("pending-install", "pending-upgrade", "pending-rollback")
# Revisions a pending one can be rolled back to: they were applied completely once.
SETTLED = ("deployed", "superseded")
INSTALL_ATTEMPTS = 3  # the whole install (history, recover, upgrade) when helm was unreachable


async def check_chart(chart: ChartRef, release: str, namespace: str, values: dict[str, Any],
                      base_dir: Path) -> None:
    """Render the chart without a cluster (`helm template`): template, schema and values
    errors surface here, before any virtual cluster is created (a `PreviewError`, exit 2)."""
    chart = resolve_local(chart, base_dir)
    try:
        await helm.render(chart.ref, release, namespace, values, repo=chart.repo,
                          version=chart.version)
    except PreviewError as e:
        # helm's advice to its own CLI users ("Use --debug flag …") does not apply here
        message = "\n".join(line for line in e.message.splitlines()
                            if line.strip() and not line.startswith("Use --debug")).strip()
        raise PreviewError(f"chart {chart.ref}: {message}",
                           "fix the chart or the values in preview.yaml; nothing was "
                           "deployed") from e


async def install(vc: VirtualCluster, chart: ChartRef, release: str, namespace: str,
                  values: dict[str, Any], timeout_s: float, progress: Progress, *,
                  base_dir: Path | None = None) -> int:
    """`helm upgrade --install --create-namespace` into the virtual cluster; the revision.

    A release left pending by a cancelled run is recovered first. When the release is
    deployed and an upgrade would change nothing (same chart, values and rendered manifest),
    no new revision is made and the current one is returned, so `up` twice is a no-op.
    Local chart paths are relative to `base_dir` (default: the working directory).
    """
    chart = resolve_local(chart, base_dir)
    timeout = f"{max(1, int(timeout_s))}s"
    for attempt in range(1, INSTALL_ATTEMPTS + 1):
        try:
            return await _install(vc, chart, release, namespace, values, timeout, progress)
        except helm.Unreachable as e:
            if attempt == INSTALL_ATTEMPTS:
                raise
            # Whatever helm managed to write before the cluster stopped answering is read
            # again (and a revision it left pending recovered) by the next attempt.
            progress(f"helm did not reach the virtual cluster ({e.message.splitlines()[0]}): "
                     f"trying again ({attempt + 1} of {INSTALL_ATTEMPTS})")
            await asyncio.sleep(2.0 * attempt)
    raise AssertionError("unreachable: the last attempt returns or raises")


async def _install(vc: VirtualCluster, chart: ChartRef, release: str, namespace: str,
                   values: dict[str, Any], timeout: str, progress: Progress) -> int:
    revisions = await vc.helm.history(release, namespace)
    if await recover(vc, release, namespace, revisions, timeout, progress):
        revisions = await vc.helm.history(release, namespace)
    if revisions and revisions[-1].status == "deployed":
        current = await vc.helm.deployed(release, namespace)
        planned = await vc.helm.dry_run_upgrade(chart.ref, release, namespace, values,
                                                repo=chart.repo, version=chart.version)
        if current and unchanged(current, planned, revisions[-1].chart, values):
            progress(f"release {release} is up to date (revision {current['version']})")
            return int(current["version"])
    progress(f"helm upgrade --install {release} ({chart_label(chart)}) in {namespace}")
    revision = await vc.helm.install_or_upgrade(
        chart.ref, release, namespace, values, timeout,
        repo=chart.repo, version=chart.version, create_namespace=True)
    progress(f"release {release} revision {revision} applied")
    return revision


async def recover(vc: VirtualCluster, release: str, namespace: str,
                  revisions: list[helm.Revision], timeout: str, progress: Progress) -> bool:
    """Finish what an interrupted helm left `pending-*`, or helm refuses every later upgrade
    with "another operation (install/upgrade/rollback) is in progress". True if it acted."""
    action = recovery(revisions)
    if action is None:
        return False
    last = revisions[-1]
    if action == 0:
        progress(f"release {release} was left {last.status} by an interrupted run and was "
                 "never deployed: uninstalling it first")
        await vc.helm.uninstall(release, namespace, timeout)
    else:
        progress(f"release {release} was left {last.status} by an interrupted run: rolling "
                 f"back to revision {action} first")
        await vc.helm.rollback(release, namespace, action, timeout)
    return True


def recovery(revisions: list[helm.Revision]) -> int | None:
    """What a release's history needs before an upgrade (pure): None (nothing), 0 (uninstall:
    it never deployed) or the revision to roll back to (the newest that was applied)."""
    if not revisions or revisions[-1].status not in PENDING:
        return None
    settled = [r.number for r in revisions[:-1] if r.status in SETTLED]
    return settled[-1] if settled else 0


def unchanged(current: dict[str, Any], planned: dict[str, Any], current_chart: str,
              values: dict[str, Any]) -> bool:
    """Whether upgrading `current` (helm status JSON) to `planned` (a dry-run's JSON) would
    change nothing: same chart name-version, same user values, same rendered manifest (pure).

    The manifest catches template changes of a local chart whose version did not move. A
    chart that renders differently every time (`randAlphaNum`, `now`, `lookup` of changing
    objects) is simply upgraded every time: a new revision, nothing lost.
    """
    metadata = (planned.get("chart") or {}).get("metadata") or {}
    planned_chart = f"{metadata.get('name', '')}-{metadata.get('version', '')}"
    return (current_chart == planned_chart
            and _canonical(current.get("config") or {}) == _canonical(values)
            and current.get("manifest", "") == planned.get("manifest", ""))


def _canonical(values: dict[str, Any]) -> str:
    return json.dumps(values, sort_keys=True, default=str)


def chart_label(chart: ChartRef) -> str:
    name = f"{chart.repo}/{chart.ref}" if chart.repo else chart.ref
    return f"{name}@{chart.version}" if chart.version else name
