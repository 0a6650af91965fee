"""Node selector terms (`component-helpers/scheduling/corev1/nodeaffinity`), pure.

Required terms are ORed, the expressions and fields inside a term ANDed; a term with
neither matches nothing. `matchFields` supports `metadata.name` only, as the real helper.
"""

from __future__ import annotations

from typing import Any


def _int(value: str) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def requirement_matches(expr: dict[str, Any], values_by_key: dict[str, str]) -> bool:
    key, op = expr.get("key", ""), expr.get("operator", "")
    values = [str(v) for v in expr.get("values") or []]
    has = key in values_by_key
    value = values_by_key.get(key, "")
    if op == "In":
        return has and value in values
    if op == "NotIn":
        return not has or value not in values
    if op == "Exists":
        return has
    if op == "DoesNotExist":
        return not has
    if op in ("Gt", "Lt"):
        if not has or len(values) != 1:
            return False
        mine, bound = _int(value), _int(values[0])
        if mine is None or bound is None:
            return False
        return mine > bound if op == "Gt" else mine < bound
    return False


def term_matches(term: dict[str, Any], node: dict[str, Any]) -> bool:
    exprs = term.get("matchExpressions") or []
    fields = term.get("matchFields") or []
    if not exprs and not fields:
        return False
    labels = node["metadata"].get("labels") or {}
    if not all(requirement_matches(e, labels) for e in exprs):
        return False
    node_fields = {"metadata.name": node["metadata"]["name"]}
    return all(f.get("key") == "metadata.name" and requirement_matches(f, node_fields)
               for f in fields)


def matches_required_affinity(affinity: dict[str, Any] | None, node: dict[str, Any]) -> bool:
    required = ((affinity or {}).get("nodeAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution")
    if not required:
        return True
    return any(term_matches(t, node) for t in required.get("nodeSelectorTerms") or [])


def preferred_affinity_weight(affinity: dict[str, Any] | None, node: dict[str, Any]) -> int:
    """The summed weights of the preferred terms the node matches (NodeAffinity's score)."""
    preferred = ((affinity or {}).get("nodeAffinity") or {}).get(
        "preferredDuringSchedulingIgnoredDuringExecution") or []
    return sum(int(p.get("weight") or 0) for p in preferred
               if term_matches(p.get("preference") or {}, node))
