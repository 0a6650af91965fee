"""The platform policy applied to what a pull request asks for (pure: data in, data out).

`check_vcluster` and `check_request` return one line per problem (empty: allowed), so
every refusal is known before anything is created; `vcluster_values` builds the values
of charts/vcluster from the pull request's checked `vcluster:` and the policy, the
policy's last: what it decides, no `preview.yaml` can undo.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from preview.durations import format_duration
from preview.helm import merge_values
from preview.policy import quantity
from preview.policy.model import DOCS, NEVER_FROM_PULL_REQUEST, POD_SECURITY_LEVELS, Policy

_COUNTS = {"pods": "pods", "services": "services",
           "persistentVolumeClaims": "persistent_volume_claims",
           "loadBalancers": "load_balancers", "nodePorts": "node_ports"}
_RESOURCE_KINDS = ("requests", "limits")


def check_vcluster(policy: Policy, values: Mapping[str, Any], label: str) -> list[str]:
    """Why the pull request's `vcluster:` (rendered) is refused, one line per key."""
    problems: list[str] = []
    allowed = policy.pull_request.vcluster_keys
    for key, value in _leaves(values):
        where = f"{label}: vcluster.{key}"
        if _under(key, NEVER_FROM_PULL_REQUEST):
            problems.append(f"{where}: set by the platform policy, not by the pull request "
                            f"(the platform's policy file: {DOCS})")
        elif not _under(key, allowed):
            problems.append(f"{where}: not a key a pull request may set (the platform "
                            f"policy's pullRequest.vclusterKeys: {', '.join(allowed)}; "
                            f"{DOCS})")
        else:
            problems += [f"{where}: {why}" for why in _value_problems(policy, key, value)]
    return problems


def check_request(policy: Policy, *, repo: str, chart: tuple[str, str], ttl_seconds: int,
                  ttl_where: str, timeouts: Mapping[str, int], timeout_where: str,
                  host: str, url_where: str) -> list[str]:
    """Why the rest of the request is refused: repository, chart source, caps, host."""
    problems: list[str] = []
    if not policy.allows_repository(repo):
        problems.append(f"repository {repo}: the platform policy does not preview it "
                        f"(repositories: {', '.join(policy.repositories)})")
    kind, ref = chart
    sources = policy.charts
    if kind == "path" and not sources.local:
        problems.append(f"chart {ref}: a local chart is not allowed by the platform policy "
                        "(charts.local: false); use a chart from an allowed registry")
    elif kind == "oci" and not _matches(ref, sources.oci):
        problems.append(f"chart {ref}: not an OCI reference the platform policy allows "
                        f"(charts.oci: {', '.join(sources.oci) or 'none'})")
    elif kind == "repo" and not _matches(ref, sources.repositories):
        problems.append(f"chart repository {ref}: not allowed by the platform policy "
                        f"(charts.repositories: {', '.join(sources.repositories) or 'none'})")
    caps = policy.caps
    if ttl_seconds > caps.ttl:
        problems.append(f"{ttl_where}: {format_duration(ttl_seconds)} is above the platform "
                        f"policy's cap {format_duration(caps.ttl)} (caps.ttl)")
    over = {name: seconds for name, seconds in sorted(timeouts.items())
            if seconds > caps.timeout}
    if timeout_where.startswith("--") and over:  # one flag sets all three
        over = {"": max(over.values())}
    for name, seconds in over.items():
        where = f"{timeout_where}.{name}" if name else timeout_where
        problems.append(f"{where}: {format_duration(seconds)} is above the platform policy's cap "
                        f"{format_duration(caps.timeout)} (caps.timeout)")
    domains = policy.ingress.domains
    if domains and not any(host == d or host.endswith("." + d) for d in domains):
        problems.append(f"{url_where}: host {host!r} is outside the platform policy's "
                        f"domains ({', '.join(domains)}; ingress.domains)")
    return problems


def vcluster_values(policy: Policy, requested: Mapping[str, Any], host: str,
                    labels: Mapping[str, str] | None = None) -> dict[str, Any]:
    """charts/vcluster's values: ours < the pull request's (checked) < the policy's."""
    values: dict[str, Any] = {}
    if labels:
        values["sync"] = {"extraLabels": dict(labels)}
    values = merge_values(values, requested)
    isolation = values.setdefault("isolation", {})
    isolation.setdefault("ingress", {})["allowedHosts"] = \
        [host, *policy.ingress.extra_allowed_hosts]
    asked = isolation.get("podSecurity") or policy.pod_security.minimum
    if asked in POD_SECURITY_LEVELS:  # anything else is the chart schema's to refuse
        isolation["podSecurity"] = max(asked, policy.pod_security.minimum,
                                       key=POD_SECURITY_LEVELS.index)
    quota = policy.caps.quota.model_dump(by_alias=True, exclude_unset=True)
    if quota:  # the policy's caps, where the pull request asked for no less
        isolation["quota"] = merge_values(quota, isolation.get("quota") or {})
    syncer = policy.syncer
    if syncer.image:
        values = merge_values(values, {"syncer": {"image": syncer.image,
                                            "imagePullPolicy": syncer.image_pull_policy}})
    if syncer.image_pull_secrets:
        values = merge_values(values, {"controlPlane": {"imagePullSecrets": [
            {"name": name} for name in syncer.image_pull_secrets]}})
    return merge_values(values, policy.vcluster)


def environment_count_problem(policy: Policy, repo_label: str, namespace: str,
                              existing: Mapping[str, str]) -> str | None:
    """Why a new environment may not be created, given the host's environments
    (namespace -> repository label); None when it may, or when it exists already."""
    if namespace in existing:
        return None
    caps = policy.caps.environments
    same = sum(1 for repo in existing.values() if repo == repo_label)
    if caps.per_repository is not None and same >= caps.per_repository:
        return (f"this repository has {same} preview environments; the platform policy "
                f"allows {caps.per_repository} (caps.environments.perRepository)")
    if caps.total is not None and len(existing) >= caps.total:
        return (f"the host holds {len(existing)} preview environments; the platform policy "
                f"allows {caps.total} (caps.environments.total)")
    return None


def _value_problems(policy: Policy, key: str, value: Any) -> list[str]:
    """Caps on the values a pull request may set (key is allowed)."""
    caps = policy.caps
    parts = key.split(".")
    if key == "isolation.podSecurity":
        minimum = policy.pod_security.minimum
        if value not in POD_SECURITY_LEVELS:
            return []  # the chart's schema names the levels
        if POD_SECURITY_LEVELS.index(value) < POD_SECURITY_LEVELS.index(minimum):
            return [f"{value!r} is below the platform policy's minimum {minimum!r} "
                    "(podSecurity.minimum); a pull request may only tighten it"]
        return []
    if key == "sync.allow":
        items = value if isinstance(value, list) else [value]
        return [f"{rule!r} may not be relaxed under the platform policy (sync.relaxable: "
                f"{', '.join(policy.sync.relaxable) or 'none'})"
                for rule in items if rule not in policy.sync.relaxable]
    if parts[:2] == ["sync", "storageClasses"] and len(parts) == 3:
        if value in ("", None) or value in policy.pull_request.storage_classes:
            return []
        return [f"host StorageClass {value!r} is not one the platform policy offers "
                f"(pullRequest.storageClasses: "
                f"{', '.join(policy.pull_request.storage_classes) or 'none'})"]
    if parts[:2] == ["isolation", "quota"]:
        rest = parts[2:]
        if rest == ["enabled"] or not rest:
            return [] if value is True or (not rest and isinstance(value, dict)) else \
                ["the quota is the platform policy's cap and stays on (caps.quota)"]
        if len(rest) == 1 and rest[0] in _COUNTS:
            cap = getattr(caps.quota, _COUNTS[rest[0]])
            return _above(value, Decimal(cap), str(cap), f"caps.quota.{rest[0]}")
        if len(rest) == 2 and rest[0] in _RESOURCE_KINDS:
            group = getattr(caps.quota, rest[0])
            if rest[1] in type(group).model_fields:
                cap_text = getattr(group, rest[1])
                return _above(value, quantity.parse(cap_text), cap_text,
                              f"caps.quota.{rest[0]}.{rest[1]}")
        return []  # not a value of the chart: its schema says so
    if parts[:2] == ["isolation", "limitRange"]:
        if parts[2:] == ["enabled"]:
            return [] if value is True else \
                ["the LimitRange stays on under the platform policy (caps.limitRange)"]
        return _compute(value, parts[-1], caps.limit_range, "caps.limitRange") \
            if len(parts) == 4 else []
    if parts[1:2] == ["resources"] and parts[0] in ("k3s", "syncer") and len(parts) == 4:
        if parts[2] == "requests" and value is None:
            return []
        return _compute(value, parts[-1], caps.control_plane, "caps.controlPlane")
    return []


def _compute(value: Any, resource: str, caps: Any, where: str) -> list[str]:
    if resource not in ("cpu", "memory"):
        return []
    cap_text = getattr(caps, resource)
    return _above(value, quantity.parse(cap_text), cap_text, f"{where}.{resource}")


def _above(value: Any, cap: Decimal, cap_text: str, where: str) -> list[str]:
    if value is None:
        return [f"unlimited is above the platform policy's cap {cap_text} ({where})"]
    try:
        asked = quantity.parse(value)
    except ValueError:
        return []  # the chart's schema explains a malformed value
    if asked > cap:
        return [f"{value} is above the platform policy's cap {cap_text} ({where})"]
    return []


def _leaves(values: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """Dotted keys and their values; an empty mapping says nothing and is skipped."""
    out: list[tuple[str, Any]] = []
    for key, value in values.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out += _leaves(value, f"{dotted}.")
        else:
            out.append((dotted, value))
    return out


def _under(key: str, prefixes: tuple[str, ...]) -> bool:
    return any(key == p or key.startswith(p + ".") for p in prefixes)


def _matches(ref: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(ref, pattern) for pattern in patterns)


