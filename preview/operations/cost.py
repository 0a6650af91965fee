"""`preview cost`: every environment's usage so far and its price; the ledger kept on each
namespace (`record`, called by sleep, the GC and `preview cost --record`).

Reads the host pods and claims of each environment's namespace (control plane included) and
the ledger of what is gone (`preview.cost.usage`: accuracy and its limits are there).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from preview import naming
from preview.cost import report, usage
from preview.kube.client import Conflict, KubeClient
from preview.kube.host import HostCluster
from preview.kube.objects import parse_time
from preview.kube.resources import NAMESPACES, PODS, PVCS
from preview.policy import Policy


def rates(policy: Policy) -> report.Rates:
    c = policy.cost
    return report.Rates(c.currency, c.cpu_hour, c.memory_gib_hour, c.storage_gib_month)


async def _current(kube: KubeClient, namespace: str) -> list[usage.Interval]:
    pods = (await kube.list(PODS, namespace)).get("items") or []
    claims = (await kube.list(PVCS, namespace)).get("items") or []
    return usage.intervals(pods, claims)


def _ledger(namespace: dict[str, Any]) -> usage.Ledger:
    return usage.load((namespace["metadata"].get("annotations") or {}).get(naming.USAGE))


async def record(kube: KubeClient, namespace: str, now: dt.datetime | None = None) -> None:
    """Close in the namespace's ledger what went since the last pass, open what is new.

    A merge patch guarded by the namespace's resourceVersion: two passes at once cannot
    both add the same interval (the loser reads again and retries)."""
    for _ in range(5):
        ns = await kube.get(NAMESPACES, None, namespace)
        if ns is None or not naming.is_environment(ns):
            return
        moment = (now or dt.datetime.now(dt.UTC)).timestamp()
        ledger = usage.accumulate(_ledger(ns), await _current(kube, namespace), moment)
        try:
            await kube.patch(NAMESPACES, None, namespace, {"metadata": {
                "resourceVersion": ns["metadata"]["resourceVersion"],
                "annotations": {naming.USAGE: usage.dump(ledger)}}})
            return
        except Conflict:
            continue


async def costs(host: HostCluster, policy: Policy, selector: str = "",
                now: dt.datetime | None = None,
                keep: bool = False) -> tuple[report.EnvironmentCost, ...]:
    """Every environment (matching `selector` too) with its cost so far, oldest first;
    `keep` records each one's ledger as it goes."""
    moment = now or dt.datetime.now(dt.UTC)
    prices = rates(policy)
    wanted = naming.environment_selector() + (f",{selector}" if selector else "")
    rows = []
    async with host.client() as kube:
        listed = await kube.list(NAMESPACES, None, wanted)
        for ns in listed.get("items") or []:
            row = await of_namespace(kube, ns, prices, moment)
            if row is None:
                continue
            if keep:
                await record(kube, row.namespace, moment)
            rows.append(row)
    return tuple(sorted(rows, key=lambda r: (r.repo, r.pr)))


async def so_far(kube: KubeClient, namespace: str, prices: report.Rates,
                 now: dt.datetime | None = None) -> str:
    """The pull request comment's cost of one environment ("1.23 USD so far (0.41 USD a
    day)"); "" when the policy has no rates or `namespace` is no environment."""
    if not report.priced(prices):
        return ""
    ns = await kube.get(NAMESPACES, None, namespace)
    row = await of_namespace(kube, ns, prices, now or dt.datetime.now(dt.UTC)) \
        if ns is not None else None
    return report.line(row) if row is not None else ""


async def of_namespace(kube: KubeClient, ns: dict[str, Any], prices: report.Rates,
                       now: dt.datetime) -> report.EnvironmentCost | None:
    """One environment's cost so far (its namespace `ns` as read); None when `ns` is not an
    environment."""
    env = naming.read_environment(ns)
    if env is None:
        return None
    used = usage.total(_ledger(ns), await _current(kube, env.namespace), now.timestamp())
    try:
        age = (now - parse_time(env.created_at)).total_seconds()
    except ValueError:
        age = 0.0
    return report.environment_cost(env.repo, env.pr, env.namespace, env.labels, used, prices,
                                   age)
