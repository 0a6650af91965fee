"""The sandbox's `kubectl get` columns are upstream's, kind for kind.

`fixtures/printers-v<major>.<minor>.json` holds the column definitions of the real server's
printers (`pkg/printers/internalversion/printers.go`), read by tests/tools/printers_fixture.py
at the release the sandbox reports; no network at test time.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from preview.sandbox.apiserver.endpoints.discovery import KUBE_VERSION
from preview.sandbox.apiserver.endpoints.printers.table import columns_of
from preview.sandbox.machinery.resources import BUILTIN, REVIEW_GROUPS, ResourceType
from tests.tools.printers_fixture import parse

FIXTURE = Path(__file__).parent / "fixtures" / f"printers-v{KUBE_VERSION[0]}.{KUBE_VERSION[1]}.json"
# Tables that do not come from printers.go: kube-aggregator's APIService table, and the
# default table (`rest.NewDefaultTableConvertor`) of storages registered without a printer.
_AGGREGATOR = {"APIService": [("Name", "string", "name", 0), ("Service", "string", "", 0),
                              ("Available", "string", "", 0), ("Age", "string", "", 0)]}
_DEFAULT = [("Name", "string", "name", 0), ("Created At", "date", "", 0)]
_WITHOUT_PRINTER = {"LimitRange", "Role", "ClusterRole", "CustomResourceDefinition"}


def _upstream() -> dict[str, list[tuple[str, str, str, int]]]:
    kinds: dict[str, list[dict[str, Any]]] = json.loads(FIXTURE.read_text())["kinds"]
    return {kind: [(c["name"], c["type"], c["format"], c["priority"]) for c in columns]
            for kind, columns in kinds.items()}


def upstream_columns(kind: str) -> list[tuple[str, str, str, int]]:
    """(name, type, format, priority) of each column the real server prints for `kind`."""
    return _upstream().get(kind) or _AGGREGATOR.get(kind) or _DEFAULT


def served() -> list[ResourceType]:
    """The built-in kinds a client can list."""
    return [t for t in BUILTIN if t.group not in REVIEW_GROUPS]


def test_the_fixture_is_for_the_version_the_sandbox_reports() -> None:
    assert json.loads(FIXTURE.read_text())["kubernetes"] == f"v{KUBE_VERSION[0]}.{KUBE_VERSION[1]}"


@pytest.mark.parametrize("rt", served(), ids=lambda t: f"{t.kind}.{t.group or 'core'}")
def test_columns_match_upstream(rt: ResourceType) -> None:
    expected = upstream_columns(rt.kind)
    ours = [(c.name, c.type, c.format, c.priority) for c in columns_of(rt)]
    assert ours == expected


def test_only_the_kinds_upstream_prints_by_default_fall_back_to_the_default_table() -> None:
    upstream = _upstream()
    defaulted = {t.kind for t in served() if t.kind not in upstream and t.kind not in _AGGREGATOR}
    assert defaulted == _WITHOUT_PRINTER


_SAMPLE = '''
func AddHandlers(h printers.PrintHandler) {
\tfooColumnDefinitions := []metav1.TableColumnDefinition{
\t\t{Name: "Name", Type: "string", Format: "name", Description: metav1.ObjectMeta{}.SwaggerDoc()["name"]},
\t\t{Name: "Up-to-date", Type: "integer", Description: "How many, (really)."},
\t}
\tfooColumnDefinitions = append(fooColumnDefinitions, []metav1.TableColumnDefinition{
\t\t{Name: "Node", Type: "string", Priority: 1, Description: apiv1.PodSpec{}.SwaggerDoc()["nodeName"]},
\t}...)
\t_ = h.TableHandler(fooColumnDefinitions, printFoo)
\t_ = h.TableHandler(fooColumnDefinitions, printFooList)
}

func printFoo(obj *apps.Foo, options printers.GenerateOptions) ([]metav1.TableRow, error) {
func printFooList(list *apps.FooList, options printers.GenerateOptions) ([]metav1.TableRow, error) {
'''


def test_the_fixture_tool_reads_printers_go() -> None:
    assert parse(_SAMPLE) == {"Foo": [
        {"name": "Name", "type": "string", "format": "name", "priority": 0},
        {"name": "Up-to-date", "type": "integer", "format": "", "priority": 0},
        {"name": "Node", "type": "string", "format": "", "priority": 1}]}
