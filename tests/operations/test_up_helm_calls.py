"""`preview up` plans the virtual cluster's release once: the real helm binary, behind a
wrapper on `PREVIEW_HELM` that logs each invocation's arguments, is run for charts/vcluster
exactly once to render, once for `helm status` and once for `helm history` per `up`, and
never for `helm get values`."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from preview import naming
from preview.sandbox.runner import Sandbox
from preview.tools import find_tool
from tests.operations.test_environments import APP, SHA1, preview, up

pytestmark = [pytest.mark.sandbox, pytest.mark.tools]


def helm_logging_to(log: Path, where: Path) -> Path:
    """A `helm` that appends its arguments (tab-separated, one write per call) to `log`,
    then runs the real one."""
    wrapper = where / "helm"
    wrapper.write_text("#!/bin/sh\n"
                       'line=$(printf "%s\\t" "$@")\n'
                       f'printf "%s\\n" "$line" >> "{log}"\n'
                       f'exec "{find_tool("helm")}" "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    return wrapper


def vcluster_calls(log: Path, env: naming.Environment) -> dict[str, int]:
    """How many times each helm command ran for the virtual cluster's release (its host
    namespace on the command line), and how many times charts/vcluster was rendered."""
    counts: dict[str, int] = {}
    for line in log.read_text().splitlines():
        args = line.rstrip("\t").split("\t")
        if args[0] == "template" and any(a.rstrip("/").endswith("charts/vcluster")
                                         for a in args):
            counts["render"] = counts.get("render", 0) + 1
        elif env.namespace in args and env.vcluster in args:
            command = " ".join(args[:2]) if args[0] == "get" else args[0]
            counts[command] = counts.get(command, 0) + 1
    return counts


def test_one_render_one_status_and_one_history_of_the_vcluster_per_up(
        sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = tmp_path / "helm.log"
    monkeypatch.setenv("PREVIEW_HELM", str(helm_logging_to(log, tmp_path)))
    env = naming.environment_for("helm", "count", 3)
    try:
        log.write_text("")
        first = up(sandbox, APP, "helm/count", 3, SHA1)
        assert first["status"] == "ready", first
        assert vcluster_calls(log, env) == {"render": 1, "history": 1, "status": 1,
                                            "upgrade": 1}

        log.write_text("")  # the same commit again: nothing to install
        again = up(sandbox, APP, "helm/count", 3, SHA1)
        assert again["status"] == "ready", again
        assert vcluster_calls(log, env) == {"render": 1, "history": 1, "status": 1}
    finally:
        preview(sandbox, "down", "--repo", "helm/count", "--pr", "3")
