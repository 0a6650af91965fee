"""Cells of the workload kinds: Deployments, ReplicaSets, StatefulSets, DaemonSets, Jobs,
CronJobs, ReplicationControllers, HorizontalPodAutoscalers, PodDisruptionBudgets, PodTemplates
and ControllerRevisions, as upstream's `print<Kind>` functions compute them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from preview.sandbox.apiserver.endpoints.printers.formats import (
    Obj,
    containers,
    format_selector,
    human_duration,
    labels_string,
    quantity_string,
    seconds_between,
    selector_string,
    since,
)
from preview.sandbox.machinery.objects import dig

Cell = Callable[[Obj], Any]


def field(*path: str, default: Any = None) -> Cell:
    """A cell that is one field of the object (`default` when absent)."""
    return lambda o: dig(o, *path) if dig(o, *path) is not None else default


def count(*path: str) -> Cell:
    """An integer cell: a number field, 0 when absent (Go's zero value)."""
    return lambda o: int(dig(o, *path) or 0)


def length(*path: str) -> Cell:
    """An integer cell: how many entries a list or map field holds."""
    return lambda o: len(dig(o, *path) or [])


def ready_of_desired(o: Obj) -> str:
    """`2/3`: ready replicas of the desired (Deployment, StatefulSet)."""
    return f"{int(dig(o, 'status', 'readyReplicas') or 0)}/{int(dig(o, 'spec', 'replicas') or 0)}"


def template_containers(*spec: str) -> Cell:
    return lambda o: containers(o, *spec)[0]


def template_images(*spec: str) -> Cell:
    return lambda o: containers(o, *spec)[1]


def selector(*path: str) -> Cell:
    """`metav1.FormatLabelSelector` of a label selector field."""
    return lambda o: format_selector(dig(o, *path))


def deployment_selector(o: Obj) -> str:
    """A Deployment prints its selector's string as is (no `<none>`)."""
    return selector_string(dig(o, "spec", "selector"))


def label_map(*path: str) -> Cell:
    """`labels.FormatLabels` of a map field (a ReplicationController's selector…)."""
    return lambda o: labels_string(dig(o, *path))


# -- jobs -----------------------------------------------------------------------------------------
def _job_condition(o: Obj, kind: str) -> bool:
    for c in dig(o, "status", "conditions") or []:
        if c.get("type") == kind:
            return bool(c.get("status") == "True")
    return False


def job_status(o: Obj) -> str:
    if _job_condition(o, "Complete"):
        return "Complete"
    if _job_condition(o, "Failed"):
        return "Failed"
    if dig(o, "metadata", "deletionTimestamp"):
        return "Terminating"
    if _job_condition(o, "Suspended"):
        return "Suspended"
    if _job_condition(o, "FailureTarget"):
        return "FailureTarget"
    return "Running"


def job_completions(o: Obj) -> str:
    """`1/3` of the completions, or `0/1 of 4` for a work queue run 4 wide."""
    succeeded = int(dig(o, "status", "succeeded") or 0)
    completions = dig(o, "spec", "completions")
    if completions is not None:
        return f"{succeeded}/{completions}"
    parallelism = int(dig(o, "spec", "parallelism") or 0)
    return f"{succeeded}/1 of {parallelism}" if parallelism > 1 else f"{succeeded}/1"


def job_duration(o: Obj) -> str:
    """From start to completion, or to now while it runs; empty before it starts."""
    start = dig(o, "status", "startTime")
    if not start:
        return ""
    return human_duration(seconds_between(start, dig(o, "status", "completionTime")))


def cronjob_last_schedule(o: Obj) -> str:
    last = dig(o, "status", "lastScheduleTime")
    return since(last) if last else "<none>"


# -- autoscalers, budgets, revisions ------------------------------------------------------------
def _average_value(source: dict[str, Any], status: dict[str, Any] | None, suffix: str) -> str:
    now = ((status or {}).get("current") or {}).get("averageValue")
    wanted = (source.get("target") or {}).get("averageValue")
    return f"{quantity_string(now) if now else '<unknown>'}/{quantity_string(wanted)}{suffix}"


def _resource(source: dict[str, Any], status: dict[str, Any] | None) -> str:
    target = source.get("target") or {}
    if target.get("averageValue") is not None:
        return f"{source.get('name')}: {_average_value(source, status, '')}"
    now = ((status or {}).get("current") or {}).get("averageUtilization")
    wanted = target.get("averageUtilization")
    return (f"{source.get('name')}: {'<unknown>' if now is None else f'{now}%'}/"
            f"{'<auto>' if wanted is None else f'{wanted}%'}")


def _object(source: dict[str, Any], status: dict[str, Any] | None) -> str:
    """Object and External metrics: an average (`(avg)`) or a value."""
    if (source.get("target") or {}).get("averageValue") is not None:
        return _average_value(source, status, " (avg)")
    now = quantity_string(((status or {}).get("current") or {}).get("value")) \
        if status is not None else "<unknown>"
    return f"{now}/{quantity_string((source.get('target') or {}).get('value'))}"


_METRICS = {"Resource": ("resource", _resource),
            "ContainerResource": ("containerResource", _resource),
            "Pods": ("pods", lambda src, st: _average_value(src, st, "")),
            "Object": ("object", _object), "External": ("external", _object)}


def hpa_targets(o: Obj) -> str:
    """`formatHPAMetrics`: `cpu: 40%/80%, memory: <unknown>/1Gi + 1 more...`."""
    specs = dig(o, "spec", "metrics") or []
    if not specs:
        return "<none>"
    statuses = dig(o, "status", "currentMetrics") or []
    out = []
    for i, spec in enumerate(specs):
        key, text = _METRICS.get(str(spec.get("type")), ("", None))
        if text is None:
            out.append("<unknown type>")
            continue
        status = statuses[i].get(key) if i < len(statuses) else None
        out.append(text(spec.get(key) or {}, status))
    return ", ".join(out[:2]) + (f" + {len(out) - 2} more..." if len(out) > 2 else "")


def hpa_reference(o: Obj) -> str:
    ref = dig(o, "spec", "scaleTargetRef") or {}
    return f"{ref.get('kind', '')}/{ref.get('name', '')}"


def hpa_min_pods(o: Obj) -> str:
    value = dig(o, "spec", "minReplicas")
    return "<unset>" if value is None else str(value)


def int_or_na(*path: str) -> Cell:
    """A PodDisruptionBudget's bound: its IntOrString, `N/A` when unset."""
    return lambda o: "N/A" if dig(o, *path) is None else str(dig(o, *path))


def revision_controller(o: Obj) -> str:
    """`statefulset.apps/web`: the controlling owner, `<none>` without one."""
    for ref in dig(o, "metadata", "ownerReferences") or []:
        if ref.get("controller"):
            group = str(ref.get("apiVersion", "")).rpartition("/")[0]
            kind = f"{ref.get('kind', '')}.{group}" if group else str(ref.get("kind", ""))
            return f"{kind.lower()}/{ref.get('name', '')}" if kind else str(ref.get("name"))
    return "<none>"
