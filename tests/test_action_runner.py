"""action.yml run the way a GitHub runner runs a composite action's steps, against the sandbox.

Each step's `env:` gets its `${{ inputs.X }}`, `${{ github.action_path }}` and
`${{ github.token }}` expressions substituted (the runner evaluates them; the scripts never see
an expression), the script runs with `bash --noprofile --norc -eo pipefail` (the runner's
`shell: bash`), directories appended to `$GITHUB_PATH` are put on `PATH` for later steps, and
every step gets its own `$GITHUB_OUTPUT`. The `uses:` steps (actions/cache) are skipped, as on
a runner without a cache service: the environment is then reused only from the tool cache.
The first run creates a fresh venv and installs this checkout into it with pip (from the
configured index or local wheels), and, as helm is not on the PATH given, installs helm and
kubectl too; so this is slow: one test. A second run finds it all installed.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from preview import naming
from preview.sandbox.runner import Sandbox
from tests.e2e.runner import ROOT, Step, pull_request_event, read_outputs
from tests.fakegithub import FakeGitHub

pytestmark = [pytest.mark.sandbox, pytest.mark.tools]
ACTION = yaml.safe_load((ROOT / "action.yml").read_text())
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
TOKEN = "ghs_actions_token"
SHA = "9c8b7a6d" * 5


def evaluate(value: str, inputs: dict[str, str], context: dict[str, str],
             steps: dict[str, dict[str, str]] | None = None) -> str:
    """The runner's expression evaluation, for the expressions action.yml may use."""
    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name.startswith("inputs."):
            return inputs[name.removeprefix("inputs.")]
        if name.startswith("steps."):
            step, _, output = name.removeprefix("steps.").partition(".outputs.")
            return (steps or {}).get(step, {}).get(output, "")  # a skipped step has none
        return context[name]
    return EXPRESSION.sub(one, value)


def action_inputs(given: dict[str, str], context: dict[str, str]) -> dict[str, str]:
    """Every input: the given value, else its default (defaults may be expressions)."""
    values = {}
    for name, spec in ACTION["inputs"].items():
        if name in given:
            values[name] = given[name]
        elif spec.get("required"):
            raise AssertionError(f"required input {name} not given")
        else:
            values[name] = evaluate(str(spec.get("default", "")), {}, context)
    return values


def run_steps(step_files: Step, environ: dict[str, str], inputs: dict[str, str],
              context: dict[str, str]) -> dict[str, dict[str, str]]:
    """Run the composite's steps in order; returns each step id's outputs."""
    github_path = step_files.directory / "github_path"
    github_path.touch()
    outputs: dict[str, dict[str, str]] = {}
    for index, step in enumerate(ACTION["runs"]["steps"]):
        if "uses" in step:
            assert step["uses"].startswith("actions/cache/"), step["name"]
            continue
        assert step["shell"] == "bash", step["name"]
        output_file = step_files.directory / f"output-{index}"
        output_file.touch()
        added = [line for line in github_path.read_text().splitlines() if line.strip()]
        env = {**environ,
               "PATH": os.pathsep.join([*reversed(added), environ["PATH"]]),
               "GITHUB_PATH": str(github_path), "GITHUB_OUTPUT": str(output_file),
               "GITHUB_ACTION_PATH": context["github.action_path"],
               **{k: evaluate(str(v), inputs, context, outputs)
                  for k, v in (step.get("env") or {}).items()}}
        script = step_files.directory / f"step-{index}.sh"
        script.write_text(step["run"])
        result = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail",
                                 str(script)], env=env, cwd=ROOT, capture_output=True,
                                text=True, timeout=900)
        assert result.returncode == 0, (f"step {step['name']!r} exited {result.returncode}\n"
                                        f"{result.stdout}\n{result.stderr}")
        if "id" in step:
            outputs[step["id"]] = read_outputs(output_file.read_text())
    return outputs


def test_the_composite_action_installs_itself_and_brings_a_pull_request_up(
        sandbox: Sandbox, tmp_path: Path) -> None:
    repo, number = "octo/runner", 21
    env = naming.environment_for("octo", "runner", number)
    with FakeGitHub() as fake:
        fake.add_token(TOKEN)
        fake.add_repo(repo)
        fake.add_pull(repo, number, head_sha=SHA)
        files = Step.create(tmp_path, pull_request_event("opened", repo, number, SHA))
        environ = files.environ(fake.url, repo)
        # No helm on this PATH: the install step must fetch helm and kubectl itself.
        environ["PATH"] = os.pathsep.join(["/usr/local/bin", "/usr/bin", "/bin",
                                           *_python_dirs()])
        environ.pop("PREVIEW_TOOLS_DIR", None)
        environ["RUNNER_TOOL_CACHE"] = str(tmp_path / "toolcache")
        environ["RUNNER_OS"], environ["RUNNER_ARCH"] = "Linux", "X64"
        context = {"github.action_path": str(ROOT), "github.token": TOKEN}
        inputs = action_inputs({"kubeconfig": Path(sandbox.kubeconfig).read_text(),
                                "config": "examples/app/preview.yaml"}, context)
        try:
            steps = run_steps(files, environ, inputs, context)
            outputs = steps["run"]
        finally:
            _down(sandbox, repo, number)
        root = Path(steps["locate"]["root"])
        assert root.parent == tmp_path / "toolcache" / "preview-vcluster"
        assert steps["locate"]["key"].startswith("preview-vcluster-Linux-X64-py3.")
        assert steps["locate"]["ready"] == "false" and steps["install"]["installed"] == "true"
        # A venv of its own, not the runner's, and helm and kubectl beside it.
        assert steps["locate"]["preview"] == str(root / "venv" / "bin" / "preview")
        assert (root / "venv" / "bin" / "preview").is_file()
        assert steps["install"]["tools"] == str(root / "tools" / "bin")
        assert (root / "tools" / "bin" / "helm").is_file()
        assert (root / "tools" / "bin" / "kubectl").is_file()
        assert outputs["status"] == "ready"
        assert outputs["namespace"] == env.namespace and outputs["vcluster"] == env.vcluster
        assert outputs["url"] == f"http://pr-21-runner.localhost:{sandbox.ingress_http_port}"
        assert "preview kubeconfig" in outputs["kubeconfig"]
        [comment] = fake.comments(repo, number)
        assert "is ready" in comment["body"]

        # The next job on this runner: everything is found in the tool cache, nothing installed.
        again = run_install_steps(Step.create(tmp_path / "again", {}), environ, inputs, context)
        assert again["locate"]["ready"] == "true" and again["locate"]["root"] == str(root)
        assert again["install"]["installed"] == "false"


def run_install_steps(step_files: Step, environ: dict[str, str], inputs: dict[str, str],
                      context: dict[str, str]) -> dict[str, dict[str, str]]:
    """The steps before `preview action` runs (the installation) with the same runner."""
    steps = ACTION["runs"]["steps"]
    try:
        ACTION["runs"]["steps"] = steps[:-1]
        return run_steps(step_files, environ, inputs, context)
    finally:
        ACTION["runs"]["steps"] = steps


def test_install_skip_uses_what_is_on_the_path(tmp_path: Path) -> None:
    """`install: skip`: the preview, helm and kubectl on PATH, nothing created."""
    context = {"github.action_path": str(ROOT), "github.token": TOKEN}
    inputs = action_inputs({"kubeconfig": "", "install": "skip"}, context)
    files = Step.create(tmp_path, {})
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("preview", "helm", "kubectl"):
        (bin_dir / tool).write_text("#!/bin/sh\n")
        (bin_dir / tool).chmod(0o755)
    environ = {**files.environ("http://127.0.0.1:9", "octo/runner"),
               "PATH": os.pathsep.join([str(bin_dir), "/usr/bin", "/bin"])}
    steps = run_install_steps(files, environ, inputs, context)
    assert steps["locate"] == {"mode": "skip", "preview": str(bin_dir / "preview")}
    assert steps["install"] == {}
    assert not (Path(environ["RUNNER_TEMP"]) / "preview-vcluster").exists()


def test_install_skip_without_preview_says_what_is_missing(tmp_path: Path) -> None:
    context = {"github.action_path": str(ROOT), "github.token": TOKEN}
    inputs = action_inputs({"kubeconfig": "", "install": "skip"}, context)
    files = Step.create(tmp_path, {})
    environ = {**files.environ("http://127.0.0.1:9", "octo/runner"), "PATH": "/usr/bin:/bin"}
    with pytest.raises(AssertionError, match="install: skip needs preview on PATH"):
        run_install_steps(files, environ, inputs, context)


def _python_dirs() -> list[str]:
    """Where the machine's python3 (3.11+) lives, as on a runner image's PATH."""
    import shutil
    found = shutil.which("python3", path=os.environ.get("PATH", "").replace(
        str(ROOT / ".venv" / "bin"), ""))
    return [str(Path(found).parent)] if found else []


def _down(sandbox: Sandbox, repo: str, number: int) -> Any:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "INPUT_"))}
    return subprocess.run([str(ROOT / ".venv" / "bin" / "python"), "-m", "preview", "down",
                           "--repo", repo, "--pr", str(number), "--kubeconfig",
                           str(sandbox.kubeconfig)], env=environ, capture_output=True,
                          text=True, timeout=300)
