"""The DefaultTolerationSeconds admission plugin: pods tolerate a lost node for 300 s.

As `plugin/pkg/admission/defaulttolerationseconds`: a pod that does not already tolerate
the `node.kubernetes.io/not-ready` (or `unreachable`) NoExecute taint — by that key or an
empty one, with effect NoExecute or none — gets `operator: Exists, tolerationSeconds: 300`
for it, so its node's failure evicts it after five minutes.
"""

from __future__ import annotations

from typing import Any

from preview.sandbox.machinery.resources import ResourceType

DEFAULT_SECONDS = 300
TAINTS = ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable")


def _tolerates(tolerations: list[dict[str, Any]], key: str) -> bool:
    return any(t.get("key", "") in (key, "") and t.get("effect", "") in ("NoExecute", "")
               for t in tolerations)


class DefaultTolerationSecondsAdmission:
    def __call__(self, rt: ResourceType, obj: dict[str, Any], dry_run: bool) -> None:
        if (rt.group, rt.kind) != ("", "Pod"):
            return
        spec = obj.setdefault("spec", {})
        tolerations = list(spec.get("tolerations") or [])
        for key in TAINTS:
            if not _tolerates(tolerations, key):
                tolerations.append({"key": key, "operator": "Exists", "effect": "NoExecute",
                                    "tolerationSeconds": DEFAULT_SECONDS})
        spec["tolerations"] = tolerations
