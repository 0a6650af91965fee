"""The LimitRanger admission plugin: default container resources, enforce min/max/ratio.

As `plugin/pkg/admission/limitranger`: for each LimitRange of the namespace, containers
missing a limit or request get the item's `default`/`defaultRequest` (recorded in the
`kubernetes.io/limit-ranger` annotation), then `min`, `max` and `maxLimitRequestRatio` are
checked per Container, per Pod (sums) and per PersistentVolumeClaim; violations are one
403 with the real messages.
"""

from __future__ import annotations

from typing import Any

from preview.sandbox.apiserver.registry import defaults
from preview.sandbox.apiserver.storage.store import Store
from preview.sandbox.machinery.quantity import Quantity, QuantityError, parse
from preview.sandbox.machinery.resources import ResourceType
from preview.sandbox.machinery.status import forbidden

ANNOTATION = "kubernetes.io/limit-ranger"
_LIMIT_RANGES = ("", "limitranges")


def items_of(limit_ranges: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [defaults.limit_range_item(i) for lr in limit_ranges
            for i in (lr.get("spec") or {}).get("limits") or []]


def apply_defaults(pod: dict[str, Any], items: list[dict[str, Any]]) -> None:
    """Fill in missing container requests/limits; note what was set in the annotation."""
    default_limits: dict[str, Any] = {}
    default_requests: dict[str, Any] = {}
    for item in items:
        if item.get("type") == "Container":
            default_limits.update(item.get("default") or {})
            default_requests.update(item.get("defaultRequest") or {})
    if not default_limits and not default_requests:
        return
    notes: list[str] = []
    spec = pod.setdefault("spec", {})
    for field, label in (("containers", "container"), ("initContainers", "init container")):
        for c in spec.get(field) or []:
            res = c.setdefault("resources", {})
            set_requests, set_limits = [], []
            for k, v in default_limits.items():
                if k not in (res.get("limits") or {}):
                    res.setdefault("limits", {})[k] = v
                    set_limits.append(k)
            for k, v in default_requests.items():
                if k not in (res.get("requests") or {}):
                    res.setdefault("requests", {})[k] = v
                    set_requests.append(k)
            if set_requests:
                notes.append(f"{', '.join(sorted(set_requests))} request for {label} {c.get('name', '')}")
            if set_limits:
                notes.append(f"{', '.join(sorted(set_limits))} limit for {label} {c.get('name', '')}")
    if notes:
        annotations = pod.setdefault("metadata", {}).setdefault("annotations", {})
        annotations[ANNOTATION] = "LimitRanger plugin set: " + "; ".join(notes)


def _get(resources: dict[str, Any], name: str) -> Quantity | None:
    try:
        return parse(resources[name]) if name in resources else None
    except QuantityError:
        return None


def _min(kind: str, res: str, enforced: Quantity, req: Quantity | None,
         lim: Quantity | None) -> str:
    if req is None:
        return f"minimum {res} usage per {kind} is {enforced}.  No request is specified"
    if req < enforced:
        return f"minimum {res} usage per {kind} is {enforced}, but request is {req}"
    if lim is not None and lim < enforced:
        return f"minimum {res} usage per {kind} is {enforced}, but limit is {lim}"
    return ""


def _max(kind: str, res: str, enforced: Quantity, req: Quantity | None,
         lim: Quantity | None) -> str:
    if lim is None:
        return f"maximum {res} usage per {kind} is {enforced}.  No limit is specified"
    if lim > enforced:
        return f"maximum {res} usage per {kind} is {enforced}, but limit is {lim}"
    if req is not None and req > enforced:
        return f"maximum {res} usage per {kind} is {enforced}, but request is {req}"
    return ""


def _ratio(kind: str, res: str, enforced: Quantity, req: Quantity | None,
           lim: Quantity | None) -> str:
    if req is None or req.value == 0:
        return (f"{res} max limit to request ratio per {kind} is {enforced}, but no request "
                "is specified or request is 0")
    if lim is None or lim.value == 0:
        return (f"{res} max limit to request ratio per {kind} is {enforced}, but no limit is "
                "specified or limit is 0")
    observed = lim.value / req.value
    if observed > enforced.value:
        return (f"{res} max limit to request ratio per {kind} is {enforced}, but provided "
                f"ratio is {float(observed):f}")
    return ""


def _check(kind: str, item: dict[str, Any], requests: dict[str, Any],
           limits: dict[str, Any]) -> list[str]:
    errors = []
    for field, check in (("min", _min), ("max", _max), ("maxLimitRequestRatio", _ratio)):
        for res, value in sorted((item.get(field) or {}).items()):
            try:
                enforced = parse(value)
            except QuantityError:
                continue
            message = check(kind, res, enforced, _get(requests, res), _get(limits, res))
            if message:
                errors.append(message)
    return errors


def _pod_total(spec: dict[str, Any], kind: str) -> dict[str, Any]:
    totals: dict[str, Quantity] = {}
    for c in spec.get("containers") or []:
        for res, value in ((c.get("resources") or {}).get(kind) or {}).items():
            q = _get({res: value}, res)
            if q is not None:
                totals[res] = totals[res] + q if res in totals else q
    for c in spec.get("initContainers") or []:
        for res, value in ((c.get("resources") or {}).get(kind) or {}).items():
            q = _get({res: value}, res)
            if q is not None and (res not in totals or q > totals[res]):
                totals[res] = q
    return {k: str(v) for k, v in totals.items()}


def pod_violations(pod: dict[str, Any], items: list[dict[str, Any]]) -> list[str]:
    spec = pod.get("spec") or {}
    errors: list[str] = []
    for item in items:
        if item.get("type") == "Container":
            for field in ("containers", "initContainers"):
                for c in spec.get(field) or []:
                    res = c.get("resources") or {}
                    errors += _check("Container", item, res.get("requests") or {},
                                     res.get("limits") or {})
        elif item.get("type") == "Pod":
            errors += _check("Pod", item, _pod_total(spec, "requests"),
                             _pod_total(spec, "limits"))
    return errors


def pvc_violations(pvc: dict[str, Any], items: list[dict[str, Any]]) -> list[str]:
    requests = ((pvc.get("spec") or {}).get("resources") or {}).get("requests") or {}
    errors: list[str] = []
    for item in items:
        if item.get("type") != "PersistentVolumeClaim":
            continue
        for res, value in sorted((item.get("min") or {}).items()):
            req = _get(requests, res)
            enforced = parse(value)
            if req is None:
                errors.append(f"minimum {res} usage per PersistentVolumeClaim is {enforced}.  "
                              "No request is specified")
            elif req < enforced:
                errors.append(f"minimum {res} usage per PersistentVolumeClaim is {enforced}, "
                              f"but request is {req}")
        for res, value in sorted((item.get("max") or {}).items()):
            req = _get(requests, res)
            enforced = parse(value)
            if req is None:
                errors.append(f"maximum {res} usage per PersistentVolumeClaim is {enforced}.  "
                              "No request is specified")
            elif req > enforced:
                errors.append(f"maximum {res} usage per PersistentVolumeClaim is {enforced}, "
                              f"but request is {req}")
    return errors


def aggregate(errors: list[str]) -> str:
    """utilerrors.NewAggregate's message."""
    return errors[0] if len(errors) == 1 else "[" + ", ".join(errors) + "]"


class LimitRangerAdmission:
    def __init__(self, store: Store) -> None:
        self.store = store

    def __call__(self, rt: ResourceType, obj: dict[str, Any], dry_run: bool) -> None:
        if rt.group != "" or rt.kind not in ("Pod", "PersistentVolumeClaim"):
            return
        meta = obj["metadata"]
        ranges = self.store.list(_LIMIT_RANGES, meta.get("namespace", ""))
        if not ranges:
            return
        items = items_of(ranges)
        if rt.kind == "Pod":
            apply_defaults(obj, items)
            # The real server computes the QoS class after admission mutated the pod.
            obj.setdefault("status", {})["qosClass"] = defaults.qos_class(obj.get("spec") or {})
            errors = pod_violations(obj, items)
        else:
            errors = pvc_violations(obj, items)
        if errors:
            raise forbidden(f'{rt.resource} "{meta.get("name", "")}" is forbidden: '
                            f"{aggregate(errors)}", rt.resource, rt.group, meta.get("name", ""))
