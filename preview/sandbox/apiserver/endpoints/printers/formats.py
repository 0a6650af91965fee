"""The formatting helpers upstream's printers share: ages, label strings, container lists.

Each mirrors the Go function named in its docstring, so that a cell reads as the real server
prints it (`k8s.io/apimachinery/pkg/util/duration`, `labels.FormatLabels`,
`metav1.FormatLabelSelector`, `layoutContainerCells`, `helper.GetAccessModesAsString`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from preview.sandbox.machinery import quantity
from preview.sandbox.machinery.objects import dig, parse_time

Obj = dict[str, Any]


def human_duration(seconds: float) -> str:
    """`duration.HumanDuration`: `45s`, `3m20s`, `2h5m`, `3d4h`, `400d`, `2y10d`."""
    if int(seconds) < -1:
        return "<invalid>"
    if seconds < 0:
        return "0s"
    whole = int(seconds)
    if whole < 120:
        return f"{whole}s"
    minutes = whole // 60
    if minutes < 10:
        rest = whole % 60
        return f"{minutes}m{rest}s" if rest else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = whole // 3600
    if hours < 8:
        rest = minutes % 60
        return f"{hours}h{rest}m" if rest else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        rest = hours % 24
        return f"{hours // 24}d{rest}h" if rest else f"{hours // 24}d"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        days = (hours // 24) % 365
        return f"{hours // 24 // 365}y{days}d" if days else f"{hours // 24 // 365}y"
    return f"{hours // 24 // 365}y"


def seconds_between(start: str, end: str | None = None) -> float:
    """Seconds from `start` to `end` (RFC 3339 timestamps), or to now."""
    until = parse_time(end) if end else dt.datetime.now(dt.UTC)
    return (until - parse_time(start)).total_seconds()


def since(timestamp: str | None) -> str:
    """`translateTimestampSince`: how long ago, `<unknown>` for no time."""
    return human_duration(seconds_between(timestamp)) if timestamp else "<unknown>"


def age(o: Obj) -> str:
    return since(dig(o, "metadata", "creationTimestamp"))


def name(o: Obj) -> str:
    return str(o["metadata"]["name"])


def created_at(o: Obj) -> str:
    """The default table's `Created At`: the timestamp itself, RFC 3339 in UTC."""
    timestamp = dig(o, "metadata", "creationTimestamp")
    return parse_time(timestamp).strftime("%Y-%m-%dT%H:%M:%SZ") if timestamp else ""


def labels_string(labels: dict[str, str] | None) -> str:
    """`labels.FormatLabels`: `a=1,b=2` in key order, `<none>` for none."""
    return ",".join(f"{k}={v}" for k, v in sorted((labels or {}).items())) or "<none>"


def selector_string(selector: dict[str, Any] | None) -> str:
    """`LabelSelectorAsSelector(s).String()`: requirements in key order, `""` for none."""
    if not selector:
        return ""
    parts: list[tuple[str, str]] = [(k, f"{k}={v}") for k, v in
                                    (selector.get("matchLabels") or {}).items()]
    for expr in selector.get("matchExpressions") or []:
        key, op = expr.get("key", ""), expr.get("operator")
        values = ",".join(sorted(expr.get("values") or []))
        text = {"In": f"{key} in ({values})", "NotIn": f"{key} notin ({values})",
                "Exists": key, "DoesNotExist": f"!{key}"}.get(str(op), "")
        parts.append((key, text))
    return ",".join(text for _, text in sorted(parts, key=lambda p: p[0]))


def format_selector(selector: dict[str, Any] | None) -> str:
    """`metav1.FormatLabelSelector`: the selector's string, `<none>` when it selects all."""
    return selector_string(selector) or "<none>"


def containers(o: Obj, *spec_path: str) -> tuple[str, str]:
    """`layoutContainerCells`: the template's container names and images, comma-joined."""
    listed = dig(o, *spec_path, "containers") or []
    return (",".join(str(c.get("name", "")) for c in listed),
            ",".join(str(c.get("image", "")) for c in listed))


def access_modes(modes: list[str] | None) -> str:
    """`helper.GetAccessModesAsString`: `RWO,ROX,RWX,RWOP`, in that order, once each."""
    present = set(modes or [])
    return ",".join(short for mode, short in (
        ("ReadWriteOnce", "RWO"), ("ReadOnlyMany", "ROX"), ("ReadWriteMany", "RWX"),
        ("ReadWriteOncePod", "RWOP")) if mode in present)


def quantity_string(value: Any) -> str:
    """`resource.Quantity.String()`: the canonical form, `0` for a missing quantity."""
    if value is None or value == "":
        return "0"
    try:
        return quantity.canonical(value)
    except ValueError:
        return str(value)


def more(items: list[str], total: int, limit: int = 3, sep: str = ",") -> str:
    """Upstream's `x + N more...` for lists cut at `limit` (`listWithMoreString`)."""
    text = sep.join(items[:limit])
    return f"{text} + {total - limit} more..." if total > limit else text


def bool_word(value: Any) -> str:
    """`printBoolPtr`: `True`, `False`, or `<unset>` for no value."""
    if value is None:
        return "<unset>"
    return "True" if value else "False"
