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
            env = naming.read_environment(ns)
            if env is None:
                continue
            current = await _current(kube, env.namespace)
            used = usage.total(_ledger(ns), current, moment.timestamp())
            if keep:
                await record(kube, env.namespace, moment)
            try:
                age = (moment - parse_time(env.created_at)).total_seconds()
            except ValueError:
                age = 0.0
            rows.append(report.environment_cost(env.repo, env.pr, env.namespace, env.labels,
                                                used, prices, age))
    return tuple(sorted(rows, key=lambda r: (r.repo, r.pr)))
