"""Server-side printing: the `meta.k8s.io/v1` Table that `kubectl get` asks for.

kubectl sends `Accept: application/json;as=Table;v=v1;g=meta.k8s.io, application/json` and
prints the server's columns: priority 0 always, priority 1 with `-o wide`; the NAMESPACE
column of `-A` and the `kind/` prefix of `--show-kind` are its own. The real server fills
every column (its printers run with `Wide: true`), and so does this one. Nothing here runs
unless a client asks for a Table.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from preview.sandbox.apiserver.endpoints.printers import custom
from preview.sandbox.apiserver.endpoints.printers.columns import COLUMNS, DEFAULT, Column
from preview.sandbox.apiserver.registry import conversion
from preview.sandbox.machinery.resources import ResourceType


def wants_table(accept: str) -> bool:
    return any("as=Table" in part and "g=meta.k8s.io" in part for part in accept.split(","))


def columns_of(rt: ResourceType) -> tuple[Column, ...]:
    """A kind's columns: its printer's, its CRD's, or the default table's."""
    if rt.custom:
        return custom.columns(rt.printer_columns)
    return COLUMNS.get((rt.group, rt.kind), DEFAULT)


def _definitions(columns: tuple[Column, ...]) -> list[dict[str, Any]]:
    return [{"name": c.name, "type": c.type, "format": c.format, "description": "",
             "priority": c.priority} for c in columns]


def _row(rt: ResourceType, columns: tuple[Column, ...], obj: dict[str, Any],
         include: str) -> dict[str, Any]:
    printed = conversion.to_storage(rt, obj)  # events.k8s.io Events print as core ones
    row: dict[str, Any] = {"cells": [c.cell(printed) for c in columns]}
    if include == "Object":
        row["object"] = obj
    elif include != "None":
        row["object"] = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                         "metadata": obj["metadata"]}
    return row


def table(rt: ResourceType, items: list[dict[str, Any]], meta: dict[str, Any],
          include: str) -> dict[str, Any]:
    columns = columns_of(rt)
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": meta,
            "columnDefinitions": _definitions(columns),
            "rows": [_row(rt, columns, o, include) for o in items]}


def render(rt: ResourceType, obj: dict[str, Any], accept: str,
           query: dict[str, str]) -> dict[str, Any] | None:
    """A Table for a get or list when the client asked for one, else None."""
    if not wants_table(accept):
        return None
    include = query.get("includeObject", "Metadata")
    if "items" in obj and obj.get("kind", "").endswith("List"):
        return table(rt, obj["items"], dict(obj.get("metadata") or {}), include)
    return table(rt, [obj], {"resourceVersion": obj["metadata"].get("resourceVersion", "")},
                 include)


def renderer(rt: ResourceType, accept: str,
             query: dict[str, str]) -> Callable[[dict[str, Any]], dict[str, Any]] | None:
    """For watches: turns each event's object into a one-row Table when asked."""
    if not wants_table(accept):
        return None
    include = query.get("includeObject", "Metadata")
    return lambda obj: table(rt, [obj], {"resourceVersion": obj["metadata"].get(
        "resourceVersion", "")}, include)
