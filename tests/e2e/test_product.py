"""The product check of workflows/e2e-kind.yml (tests/e2e/product.py), run against the host
sandbox: the same script, so the workflow's steps cannot rot unseen between runs on GitHub.

The sandbox's ingress serves on a loopback port (the URL carries it); the workflow's kind
cluster serves on 127.0.0.1:80. The script runs as the workflow runs it, a process of its
own, with `install: skip` (preview, helm and kubectl on PATH; tests/test_action_runner.py
checks the installation). That the workflow runs this script: tests/test_workflows.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from preview.sandbox.runner import Sandbox
from preview.tools import find_tool
from tests.e2e.runner import ROOT

pytestmark = [pytest.mark.sandbox, pytest.mark.tools]
REPO, PR = "example/app", 23  # a number no other test of the session uses


def product(sandbox: Sandbox, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    bins = [str(ROOT / ".venv" / "bin"), *{str(find_tool(t).parent) for t in ("helm", "kubectl")}]
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "INPUT_"))}
    environ["PATH"] = os.pathsep.join([*bins, environ.get("PATH", "")])
    return subprocess.run(
        [sys.executable, "-m", "tests.e2e.product", "--kubeconfig", str(sandbox.kubeconfig),
         "--ingress-address", f"127.0.0.1:{sandbox.ingress_http_port}", "--repo", REPO,
         "--pr", str(PR), "--work", str(tmp_path / "work"), *extra],
        cwd=ROOT, env=environ, capture_output=True, text=True, timeout=600)


def test_the_workflows_product_check_passes_on_the_sandbox(sandbox: Sandbox,
                                                            tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    # The workflow's policy: the syncer image it built and loaded onto the nodes.
    policy.write_text(yaml.safe_dump({"repositories": [REPO],
                                      "syncer": {"image": "preview-vcluster-syncer:e2e",
                                                 "imagePullPolicy": "IfNotPresent"}}))
    try:
        result = product(sandbox, tmp_path, "--policy", str(policy))
    finally:
        _down(sandbox)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    for seen in ("pull_request opened", "answers through the ingress",
                 "kubectl logs through the virtual cluster", "kubectl exec through the",
                 "pull_request synchronize", "upgraded in place: helm revision 2",
                 "pull_request closed", "torn down: nothing of", "the product check passed"):
        assert seen in out, f"{seen!r} missing:\n{out}"
    assert "Traceback" not in result.stderr, result.stderr


def _down(sandbox: Sandbox) -> None:
    """A failed check leaves the environment for inspection; the session's sandbox is shared."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "INPUT_"))}
    subprocess.run([sys.executable, "-m", "preview", "down", "--repo", REPO, "--pr", str(PR),
                    "--kubeconfig", str(sandbox.kubeconfig)], env=environ,
                   capture_output=True, text=True, timeout=300, check=False)
