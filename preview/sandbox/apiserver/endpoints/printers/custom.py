"""Columns of custom resources: their CRD version's `additionalPrinterColumns`.

As the apiextensions server's table convertor (`registry/customresource/tableconvertor`): a
`Name` column, then each printer column evaluated by its JSONPath against the object; a
version without printer columns gets `Age` (`.metadata.creationTimestamp`, type `date`).
"""

from __future__ import annotations

import re
from typing import Any

from preview.sandbox.apiserver.endpoints.printers.columns import NAME, Column
from preview.sandbox.apiserver.endpoints.printers.formats import seconds_between, since
from preview.sandbox.machinery.resources import PrinterColumn

AGE_COLUMN = PrinterColumn("Age", "date", "", 0, ".metadata.creationTimestamp")
_STEP = re.compile(r"""\.\.?([A-Za-z0-9_$-]+)|\[\s*(?:'([^']*)'|"([^"]*)"|(-?\d+)|(\*)|"""
                   r"""\?\(\s*@\.([\w.-]+)\s*(==|!=)\s*(?:'([^']*)'|"([^"]*)"|([\w.-]+))\s*\))\s*\]""")


def _steps(path: str) -> list[tuple[str, Any]]:
    """A JSONPath (`.status.conditions[?(@.type=="Ready")].status`) as steps; {} allowed."""
    path = path.strip()
    if path.startswith("{") and path.endswith("}"):
        path = path[1:-1]
    path = path.removeprefix("$")
    steps: list[tuple[str, Any]] = []
    pos = 0
    while pos < len(path):
        m = _STEP.match(path, pos)
        if m is None:
            raise ValueError(f"unsupported JSONPath {path!r}")
        field, quoted1, quoted2, index, star, key, op, v1, v2, v3 = m.groups()
        if field is not None or quoted1 is not None or quoted2 is not None:
            steps.append(("field", field if field is not None else quoted1
                          if quoted1 is not None else quoted2))
        elif index is not None:
            steps.append(("index", int(index)))
        elif star is not None:
            steps.append(("all", None))
        else:
            wanted = next(v for v in (v1, v2, v3) if v is not None)
            steps.append(("filter", (key.split("."), op, wanted)))
        pos = m.end()
    return steps


def _filter_value(item: Any, keys: list[str]) -> Any:
    for key in keys:
        if not isinstance(item, dict):
            return None
        item = item.get(key)
    return item


def find(obj: Any, path: str) -> list[Any]:
    """The values `path` selects in `obj` (several through `[*]` or a filter)."""
    values = [obj]
    for kind, arg in _steps(path):
        found: list[Any] = []
        for v in values:
            if (kind == "field" and isinstance(v, dict) and arg in v) or (
                    kind == "index" and isinstance(v, list) and -len(v) <= arg < len(v)):
                found.append(v[arg])
            elif kind == "all" and isinstance(v, list | dict):
                found.extend(v if isinstance(v, list) else v.values())
            elif kind == "filter" and isinstance(v, list):
                keys, op, wanted = arg
                wanted = wanted.strip("'\"")
                found.extend(i for i in v if (str(_filter_value(i, keys)) == wanted) is
                             (op == "=="))
        values = found
    return values


def go_text(value: Any) -> str:
    """How Go's `fmt.Fprint` renders a decoded JSON value (the JSONPath printer's text)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "<nil>"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e21 else repr(value)
    if isinstance(value, list):
        return "[" + " ".join(go_text(v) for v in value) + "]"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{go_text(value[k])}" for k in sorted(value)) + "]"
    return str(value)


def cell_value(column_type: str, value: Any) -> Any:
    """`cellForJSONValue`: the value as the column's type, None (`<none>`) when it is not."""
    if value is None:
        return None
    if column_type == "string":
        return go_text(value)
    if column_type == "integer" and isinstance(value, int | float) \
            and not isinstance(value, bool):
        return int(value)
    if column_type == "number" and isinstance(value, int | float) \
            and not isinstance(value, bool):
        return float(value)
    if column_type == "boolean" and isinstance(value, bool):
        return value
    if column_type == "date" and isinstance(value, str):
        try:
            seconds_between(value)
        except ValueError:
            return "<invalid>"
        return since(value)
    return None


def _cell(printer: PrinterColumn) -> Any:
    def cell(o: dict[str, Any]) -> Any:
        try:
            found = find(o, printer.json_path)
        except ValueError:
            return None
        return cell_value(printer.type, found[0]) if found else None
    return cell


def columns(printers: tuple[PrinterColumn, ...]) -> tuple[Column, ...]:
    """The table columns of a custom resource version."""
    return (NAME, *(Column(pc.name, pc.type, pc.priority, _cell(pc), pc.format)
                    for pc in printers or (AGE_COLUMN,)))
