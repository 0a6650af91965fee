"""The ClusterRole aggregation controller (`pkg/controller/clusterroleaggregation`).

A ClusterRole with an `aggregationRule` gets the rules of every ClusterRole its selectors
match: `admin`, `edit` and `view` grow when a chart adds a role labelled
`rbac.authorization.k8s.io/aggregate-to-edit: "true"`, and shrink when it goes.
"""

from __future__ import annotations

from typing import Any

from preview.control import WorkQueue
from preview.sandbox.apiserver.auth.bootstrap_policy import aggregated_rules
from preview.sandbox.controllers import ControllerContext


class ClusterRoleAggregator:
    def __init__(self, ctx: ControllerContext) -> None:
        self.client = ctx.client
        self.roles = ctx.informers.informer("rbac.authorization.k8s.io", "v1", "clusterroles")
        self.queue: WorkQueue[str] = WorkQueue()
        self.roles.add_handler(self._on_role)

    def _on_role(self, kind: str, role: dict[str, Any], old: dict[str, Any] | None) -> None:
        # Any change may alter what some aggregated role selects: look at all of them.
        for other in self.roles.list():
            if other.get("aggregationRule"):
                self.queue.add(other["metadata"]["name"])

    async def run(self) -> None:
        await self.queue.run(self.sync)

    async def sync(self, name: str) -> float | None:
        role = self.roles.get("", name)
        if role is None or not role.get("aggregationRule"):
            return None
        rules = aggregated_rules(role, self.roles.list())
        if rules != (role.get("rules") or []):
            await self.client.merge_patch(self.roles.rt, "", name, {"rules": rules})
        return None
