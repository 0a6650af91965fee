"""action.yml run the way a GitHub runner runs a composite action's steps
(tests/e2e/composite.py), against the sandbox.

The first run creates a fresh venv and installs this checkout into it with pip (from the
configured index or local wheels), and, as helm is not on the PATH given, installs helm and
kubectl too; so this is slow: one test. A second run finds it all installed.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from preview import naming
from preview.sandbox.runner import Sandbox
from tests.e2e.composite import StepFailed, action_inputs, run_steps
from tests.e2e.runner import ROOT, Step, pull_request_event
from tests.fakegithub import FakeGitHub

pytestmark = [pytest.mark.sandbox, pytest.mark.tools]
TOKEN = "ghs_actions_token"
SHA = "9c8b7a6d" * 5


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
        again = run_steps(Step.create(tmp_path / "again", {}), environ, inputs, context,
                      install_only=True)
        assert again["locate"]["ready"] == "true" and again["locate"]["root"] == str(root)
        assert again["install"]["installed"] == "false"


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
    steps = run_steps(files, environ, inputs, context, install_only=True)
    assert steps["locate"] == {"mode": "skip", "preview": str(bin_dir / "preview")}
    assert steps["install"] == {}
    assert not (Path(environ["RUNNER_TEMP"]) / "preview-vcluster").exists()


def test_install_skip_without_preview_says_what_is_missing(tmp_path: Path) -> None:
    context = {"github.action_path": str(ROOT), "github.token": TOKEN}
    inputs = action_inputs({"kubeconfig": "", "install": "skip"}, context)
    files = Step.create(tmp_path, {})
    environ = {**files.environ("http://127.0.0.1:9", "octo/runner"), "PATH": "/usr/bin:/bin"}
    with pytest.raises(StepFailed, match="install: skip needs preview on PATH"):
        run_steps(files, environ, inputs, context, install_only=True)


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
