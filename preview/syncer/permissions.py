"""The host permissions the syncer needs: exactly these, in its own namespace only.

Computed from what each part declares — every synced kind's `rules()` (kinds/), the Events
it reads (kinds/events.py), what the syncer itself does (below) — so a kind that starts to do
something on the host says so where it does it. The chart's Role renders the same rules and
its ClusterRole for real nodes the REAL_NODE_RULES (tests/charts/test_vcluster_chart.py keeps
them equal), so what the syncer does and what it is allowed to do cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from preview.syncer.engine.kind import WRITE, HostRule
from preview.syncer.kinds import KINDS, events, nodes

# The syncer itself, whatever it syncs: it publishes the virtual cluster's kubeconfig as a
# Secret (kubeconfig.py) and reads its API Service to own every copy (main.py).
SYNCER_RULES = (HostRule("", ("secrets",), ("get", "create", "update")),
                HostRule("", ("services",), ("get",)))


def role_rules(rules: Iterable[HostRule]) -> list[dict[str, Any]]:
    """Rules as a Role's `rules`: each resource's verbs united, then resources with the same
    group and verbs in one rule, in the order first named (pure)."""
    verbs: dict[tuple[str, str], set[str]] = {}
    for rule in rules:
        for resource in rule.resources:
            verbs.setdefault((rule.group, resource), set()).update(rule.verbs)
    grouped: dict[tuple[str, tuple[str, ...]], list[str]] = {}
    for (group, resource), names in verbs.items():
        ordered = (*(v for v in WRITE if v in names), *sorted(names - set(WRITE)))
        grouped.setdefault((group, ordered), []).append(resource)
    return [{"apiGroups": [group], "resources": resources, "verbs": list(ordered)}
            for (group, ordered), resources in grouped.items()]


HOST_RULES: list[dict[str, Any]] = role_rules(
    [*(r for kind in KINDS.values() for r in kind.rules()), *events.HOST_RULES, *SYNCER_RULES])
# `--node-sync real` only, cluster-wide (nodes are not namespaced).
REAL_NODE_RULES: list[dict[str, Any]] = role_rules(nodes.REAL_NODE_RULES)
