"""The Kubernetes object schemas embedded in the charts' `values.schema.json`.

Values such as `controlPlane.affinity` or `k3s.resources` are Kubernetes objects; each chart's
schema validates them with the strict (no unknown fields) JSON schemas of the oldest
Kubernetes version the chart supports, as shipped by the `kubernetes-validate` package. This
module computes them (pure), so the tests can check the embedded copies are current, and
`python -m tests.charts.k8s_schema` rewrites them after the list or the version changes.
"""

from __future__ import annotations

import json
import sys
from importlib import resources
from pathlib import Path
from typing import Any

CHARTS = Path(__file__).resolve().parents[2] / "charts"
SCHEMA = CHARTS / "vcluster" / "values.schema.json"
SCHEMAS = (SCHEMA, CHARTS / "preview-platform" / "values.schema.json")
OLDEST = "1.30.0"
ROOTS = ("io.k8s.api.core.v1.Affinity", "io.k8s.api.core.v1.EnvVar",
         "io.k8s.api.core.v1.PodSecurityContext", "io.k8s.api.core.v1.ResourceRequirements",
         "io.k8s.api.core.v1.SecurityContext", "io.k8s.api.core.v1.Toleration")
_PREFIX = "io.k8s."
_QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"
_REF = "#/$defs/"


def upstream_definitions(version: str = OLDEST) -> dict[str, Any]:
    """Every strict definition of `version` from kubernetes-validate's bundled schemas."""
    path = resources.files("kubernetes_validate").joinpath(
        f"kubernetes-json-schema/v{version}-local-strict/_definitions.json")
    defs: dict[str, Any] = json.loads(path.read_text())["$defs"]
    return defs


def _strip(node: Any) -> Any:
    """Without descriptions and x-kubernetes-* hints; Quantity refs go to the chart's own."""
    if isinstance(node, dict):
        if node.get("$ref") == _REF + _QUANTITY:
            return {"$ref": _REF + "quantity"}
        return {k: _strip(v) for k, v in node.items()
                if k != "description" and not k.startswith("x-kubernetes-")}
    if isinstance(node, list):
        return [_strip(v) for v in node]
    return node


def _refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"][len(_REF):]} if str(node.get("$ref", "")).startswith(_REF) else set()
        for value in node.values():
            found |= _refs(value)
        return found
    if isinstance(node, list):
        return set().union(*(_refs(v) for v in node)) if node else set()
    return set()


def closure(upstream: dict[str, Any], roots: tuple[str, ...] = ROOTS) -> dict[str, Any]:
    """`roots` and every definition they reference, ready to embed under `$defs`."""
    out: dict[str, Any] = {}
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in out or not name.startswith(_PREFIX) or name == _QUANTITY:
            continue
        out[name] = _strip(upstream[name])
        todo.extend(sorted(_refs(out[name])))
    return dict(sorted(out.items()))


def embedded(schema: dict[str, Any]) -> dict[str, Any]:
    """The Kubernetes definitions currently in the chart's schema."""
    return {k: v for k, v in schema["$defs"].items() if k.startswith(_PREFIX)}


def rewrite(path: Path = SCHEMA) -> None:
    schema = json.loads(path.read_text())
    own = {k: v for k, v in schema["$defs"].items() if not k.startswith(_PREFIX)}
    schema["$defs"] = {**own, **closure(upstream_definitions())}
    path.write_text(json.dumps(schema, indent=2) + "\n")


if __name__ == "__main__":
    for schema_path in SCHEMAS:
        rewrite(schema_path)
    sys.exit(0)
