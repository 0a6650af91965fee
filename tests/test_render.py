"""CLI rendering helpers (pure)."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass

from preview import helm, render


@dataclass(frozen=True)
class Row:
    name: str
    items: tuple[str, ...]


def test_table_aligns_columns() -> None:
    out = render.table(("name", "status"), [("a", "Running"), ("longer", "x")])
    assert out.splitlines() == ["NAME     STATUS", "a        Running", "longer   x"]


def test_dump_dataclasses() -> None:
    assert json.loads(render.dump([Row("a", ("x",))], "json")) == [{"name": "a",
                                                                     "items": ["x"]}]
    assert render.dump(Row("a", ()), "yaml").startswith("name: a")


def test_age_like_kubectl() -> None:
    assert [render.age(s) for s in (5, 90, 7200, 3 * 86400)] == ["5s", "1m", "2h", "3d"]


def test_progress_plain_lines_outside_a_terminal() -> None:
    stream = io.StringIO()
    printer = render.ProgressPrinter(stream, interactive=False)
    printer("waiting")
    printer.done("ready")
    lines = stream.getvalue().splitlines()
    assert lines[0].endswith("] waiting") and lines[1] == "ready"


def test_set_values_like_helm() -> None:
    values: dict = {}
    helm.set_value(values, "isolation.quota.pods=50")
    helm.set_value(values, "sync.nodes=real")
    helm.set_value(values, "isolation.quota.enabled=true")
    assert values == {"isolation": {"quota": {"pods": 50, "enabled": True}},
                      "sync": {"nodes": "real"}}


def test_set_null_removes_a_default_like_helm() -> None:
    values: dict = {}
    helm.set_value(values, "isolation.quota.nodePorts=null")
    assert values == {"isolation": {"quota": {"nodePorts": None}}}
