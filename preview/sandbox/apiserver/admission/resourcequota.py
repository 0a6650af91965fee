"""The ResourceQuota admission plugin: creates that would exceed a quota are refused (403).

As `plugin/pkg/admission/resourcequota`, but the usage is computed from the store at
admission time rather than read from `status.used`: the event loop makes the check and the
write one atomic step, so concurrent creates can never overshoot a quota.
"""

from __future__ import annotations

from typing import Any

from preview.sandbox.apiserver.admission import quota
from preview.sandbox.apiserver.storage.store import Store
from preview.sandbox.machinery.resources import ResourceType
from preview.sandbox.machinery.status import forbidden, qualified

_QUOTAS = ("", "resourcequotas")


class ResourceQuotaAdmission:
    def __init__(self, store: Store) -> None:
        self.store = store

    def __call__(self, rt: ResourceType, obj: dict[str, Any], dry_run: bool) -> None:
        if not rt.namespaced:
            return
        namespace = obj["metadata"].get("namespace", "")
        quotas = self.store.list(_QUOTAS, namespace)
        if not quotas:
            return
        group, resource = rt.storage
        name = obj["metadata"].get("name", "")
        for q in quotas:
            hard = quota.hard_of(q)
            if not quota.covered(group, resource, hard) or \
                    not quota.matches_scopes(q, group, resource, obj):
                continue
            refused = f'{qualified(rt.resource, rt.group)} "{name}" is forbidden: '
            if (group, resource) == ("", "pods"):
                missing = quota.missing_compute(obj.get("spec") or {}, hard)
                if missing:
                    raise forbidden(f"{refused}failed quota: {q['metadata']['name']}: {missing}",
                                    rt.resource, rt.group, name)
            delta = {k: v for k, v in quota.object_usage(group, resource, obj).items()
                     if k in hard}
            if not delta:
                continue
            used = quota.usage(q, self._objects(namespace, hard))
            over = quota.exceeded(hard, used, delta)
            if over:
                raise forbidden(
                    f"{refused}exceeded quota: {q['metadata']['name']}, "
                    f"requested: {quota.pretty({k: delta[k] for k in over})}, "
                    f"used: {quota.pretty({k: used[k] for k in over})}, "
                    f"limited: {quota.pretty({k: hard[k] for k in over})}",
                    rt.resource, rt.group, name)

    def _objects(self, namespace: str,
                 hard: quota.ResourceList) -> dict[tuple[str, str], list[dict[str, Any]]]:
        storages = {s for s in (quota.resources_of(n) for n in hard) if s is not None}
        return {s: self.store.list(s, namespace) for s in storages}
