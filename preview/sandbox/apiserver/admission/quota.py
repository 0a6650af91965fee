"""What objects cost against a ResourceQuota: the quota evaluators, pure.

From `pkg/quota/v1/evaluator/core`: a pod costs `pods`, its requests and limits (the sum of
its containers, or its largest init container if larger) unless it has finished; a service
costs `services`, `services.loadbalancers`, `services.nodeports`; a claim costs
`persistentvolumeclaims` and `requests.storage`, also per storage class; any object costs
`count/<resource>.<group>`. Both the admission plugin (reading the store) and the quota
controller (reading informers) compute usage with these functions, so they agree.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from preview.sandbox.machinery.quantity import Quantity, QuantityError, parse, zero

ResourceList = dict[str, Quantity]
# Quota names for compute resources; "cpu" and "memory" mean their requests.
COMPUTE = ("requests.cpu", "requests.memory", "limits.cpu", "limits.memory", "cpu", "memory",
           "requests.ephemeral-storage", "limits.ephemeral-storage", "ephemeral-storage")
# Resources a container must state once a quota covers them (the pod evaluator's Constraints).
MUST_SPECIFY = ("cpu", "memory", "limits.cpu", "limits.memory", "requests.cpu",
                "requests.memory")
# The legacy object-count names and the resource each one counts.
LEGACY_COUNTS = {"pods": ("", "pods"), "services": ("", "services"),
                 "persistentvolumeclaims": ("", "persistentvolumeclaims"),
                 "configmaps": ("", "configmaps"), "secrets": ("", "secrets"),
                 "replicationcontrollers": ("", "replicationcontrollers"),
                 "resourcequotas": ("", "resourcequotas")}
_STORAGE_CLASS_SUFFIX = ".storageclass.storage.k8s.io/"


def count_name(group: str, resource: str) -> str:
    """`count/deployments.apps`, `count/pods`: the generic object-count name."""
    return f"count/{resource}.{group}" if group else f"count/{resource}"


def hard_of(quota: dict[str, Any]) -> ResourceList:
    return {k: parse(v) for k, v in ((quota.get("spec") or {}).get("hard") or {}).items()
            if _parses(v)}


def _parses(value: Any) -> bool:
    try:
        parse(value)
        return True
    except QuantityError:
        return False


def _q(value: Any) -> Quantity | None:
    try:
        return parse(value)
    except QuantityError:
        return None


def pod_is_terminal(pod: dict[str, Any]) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


def _resource_sum(spec: dict[str, Any], kind: str, name: str) -> Quantity | None:
    """Sum over containers of requests/limits[name], maxed with each init container's."""
    total: Quantity | None = None
    for c in spec.get("containers") or []:
        v = _q(((c.get("resources") or {}).get(kind) or {}).get(name))
        if v is not None:
            total = v if total is None else total + v
    for c in spec.get("initContainers") or []:
        v = _q(((c.get("resources") or {}).get(kind) or {}).get(name))
        if v is not None and (total is None or v > total):
            total = v
    return total


def pod_usage(pod: dict[str, Any]) -> ResourceList:
    if pod_is_terminal(pod):
        return {}
    spec = pod.get("spec") or {}
    usage: ResourceList = {"pods": parse(1), count_name("", "pods"): parse(1)}
    for res in ("cpu", "memory", "ephemeral-storage"):
        requested = _resource_sum(spec, "requests", res)
        if requested is not None:
            usage[f"requests.{res}"] = requested
            usage[res] = requested
        limited = _resource_sum(spec, "limits", res)
        if limited is not None:
            usage[f"limits.{res}"] = limited
    return usage


def service_usage(svc: dict[str, Any]) -> ResourceList:
    spec = svc.get("spec") or {}
    usage: ResourceList = {"services": parse(1), count_name("", "services"): parse(1)}
    svc_type = spec.get("type", "ClusterIP")
    if svc_type == "LoadBalancer":
        usage["services.loadbalancers"] = parse(1)
    if svc_type == "NodePort" or (svc_type == "LoadBalancer"
                                  and spec.get("allocateLoadBalancerNodePorts", True)):
        usage["services.nodeports"] = parse(len(spec.get("ports") or []))
    return usage


def pvc_usage(pvc: dict[str, Any]) -> ResourceList:
    spec = pvc.get("spec") or {}
    usage: ResourceList = {"persistentvolumeclaims": parse(1),
                           count_name("", "persistentvolumeclaims"): parse(1)}
    storage = _q(((spec.get("resources") or {}).get("requests") or {}).get("storage"))
    if storage is not None:
        usage["requests.storage"] = storage
    cls = spec.get("storageClassName")
    if cls:
        prefix = cls + _STORAGE_CLASS_SUFFIX
        usage[prefix + "persistentvolumeclaims"] = parse(1)
        if storage is not None:
            usage[prefix + "requests.storage"] = storage
    return usage


def object_usage(group: str, resource: str, obj: dict[str, Any]) -> ResourceList:
    """What one object of `group/resource` costs."""
    if group == "":
        if resource == "pods":
            return pod_usage(obj)
        if resource == "services":
            return service_usage(obj)
        if resource == "persistentvolumeclaims":
            return pvc_usage(obj)
    usage = {count_name(group, resource): parse(1)}
    if group == "" and resource in LEGACY_COUNTS:
        usage[resource] = parse(1)
    return usage


def covered(group: str, resource: str, hard: Iterable[str]) -> bool:
    """Whether a quota with these hard names tracks objects of `group/resource`."""
    names = set(hard)
    if count_name(group, resource) in names:
        return True
    if group != "":
        return False
    if resource in LEGACY_COUNTS and resource in names:
        return True
    if resource == "pods":
        return bool(names & set(COMPUTE))
    if resource == "services":
        return bool(names & {"services.loadbalancers", "services.nodeports"})
    if resource == "persistentvolumeclaims":
        return "requests.storage" in names or any(_STORAGE_CLASS_SUFFIX in n for n in names)
    return False


def resources_of(name: str) -> tuple[str, str] | None:
    """The (group, resource) a quota name counts, for the generic and legacy names."""
    if name in LEGACY_COUNTS:
        return LEGACY_COUNTS[name]
    if name.startswith("count/"):
        rest = name.removeprefix("count/")
        resource, _, group = rest.partition(".")
        return group, resource
    if name in COMPUTE:
        return "", "pods"
    if name in ("services.loadbalancers", "services.nodeports"):
        return "", "services"
    if name == "requests.storage" or _STORAGE_CLASS_SUFFIX in name:
        return "", "persistentvolumeclaims"
    return None


def matches_scopes(quota: dict[str, Any], group: str, resource: str,
                   obj: dict[str, Any]) -> bool:
    """The quota's scopes (BestEffort, NotBestEffort, Terminating, NotTerminating) admit obj."""
    scopes = (quota.get("spec") or {}).get("scopes") or []
    if not scopes:
        return True
    if (group, resource) != ("", "pods"):
        return False  # scoped quotas track pods only
    spec = obj.get("spec") or {}
    best_effort = not any((c.get("resources") or {}).get("requests")
                          or (c.get("resources") or {}).get("limits")
                          for c in (spec.get("containers") or []) + (spec.get("initContainers") or []))
    terminating = spec.get("activeDeadlineSeconds") is not None
    checks = {"BestEffort": best_effort, "NotBestEffort": not best_effort,
              "Terminating": terminating, "NotTerminating": not terminating}
    return all(checks.get(s, True) for s in scopes)


def add(a: ResourceList, b: ResourceList) -> ResourceList:
    out = dict(a)
    for k, v in b.items():
        out[k] = out[k] + v if k in out else v
    return out


def usage(quota: dict[str, Any], objects: dict[tuple[str, str], list[dict[str, Any]]]) -> ResourceList:
    """`status.used` of a quota, given the namespace's objects by (group, resource)."""
    hard = hard_of(quota)
    used: ResourceList = {name: zero(q) for name, q in hard.items()}
    for (group, resource), objs in objects.items():
        for obj in objs:
            if not matches_scopes(quota, group, resource, obj):
                continue
            for name, q in object_usage(group, resource, obj).items():
                if name in used:
                    used[name] = used[name] + q
    return used


def missing_compute(pod_spec: dict[str, Any], hard: Iterable[str]) -> str:
    """'must specify limits.cpu for: c' when a compute quota needs what containers omit."""
    required = sorted(set(hard) & set(MUST_SPECIFY))
    missing: dict[str, list[str]] = {}
    for field in ("containers", "initContainers"):
        for c in pod_spec.get(field) or []:
            res = c.get("resources") or {}
            for name in required:
                kind, _, base = name.rpartition(".")
                if (kind or "requests") == "limits":
                    present = base in (res.get("limits") or {})
                else:
                    # A limit implies the request (API defaulting copies limits into requests).
                    present = base in (res.get("requests") or {}) or base in (res.get("limits")
                                                                              or {})
                if not present:
                    missing.setdefault(name, []).append(c.get("name", ""))
    if not missing:
        return ""
    return "must specify " + "; ".join(f"{name} for: {','.join(sorted(set(names)))}"
                                       for name, names in sorted(missing.items()))


def pretty(resources: ResourceList) -> str:
    """`pods=1,requests.cpu=500m`: how the quota plugin prints resource lists."""
    return ",".join(f"{k}={resources[k]}" for k in sorted(resources))


def exceeded(hard: ResourceList, used: ResourceList, delta: ResourceList) -> list[str]:
    """Names whose usage after adding delta goes over hard."""
    return sorted(name for name, q in delta.items()
                  if name in hard and used.get(name, zero()) + q > hard[name])
