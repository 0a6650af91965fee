"""One set of options for every command (preview/cli/options.py): `-v`, `--kube-context`,
`-o json` on each, `--timeout 10m` on each that waits, durations read one way, a KUBECONFIG
that does not exist said as such — run against the sandbox, through click's own runner."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
import pytest
import yaml
from click.testing import CliRunner, Result

from preview.cli import main as cli
from preview.errors import PreviewError
from tests.conftest import Sandbox

# Every command a platform engineer runs against a host, and whether it waits for something
# (then it takes --timeout; docs/up.md, "Options every command has").
COMMANDS: dict[str, bool] = {
    "up": True, "down": True, "list": False, "kubeconfig": False, "gc": True,
    "vcluster create": True, "vcluster connect": False, "vcluster list": False,
    "vcluster delete": True, "sleep": True, "wake": True, "cost": False,
}


def command(path: str) -> click.Command:
    found: Any = cli
    for name in path.split():
        found = found.commands[name]
    return found  # type: ignore[no-any-return]


def options(path: str) -> set[str]:
    return {opt for param in command(path).params for opt in (*param.opts, *param.secondary_opts)}


@pytest.mark.parametrize("path", COMMANDS)
def test_every_command_has_the_shared_options(path: str) -> None:
    found = options(path)
    assert {"-v", "--verbose", "--kubeconfig", "--context", "--kube-context", "-o",
            "--output"} <= found
    assert ("--timeout" in found) == COMMANDS[path]
    output = next(p for p in command(path).params if "-o" in p.opts)
    assert command(path).make_context(path, ["-o", "json", *_required(path)]).params[
        output.name or ""] == "json"


def _required(path: str) -> list[str]:
    return ["team-a"] if path in ("vcluster create", "vcluster connect",
                                  "vcluster delete") else []


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def _context(sandbox: Sandbox) -> str:
    return str(yaml.safe_load(Path(sandbox.kubeconfig).read_text())["current-context"])


@pytest.mark.sandbox
def test_each_command_runs_with_v_kube_context_json_and_a_timeout_in_minutes(
        sandbox: Sandbox) -> None:
    host = ["-v", "--kubeconfig", str(sandbox.kubeconfig), "--kube-context", _context(sandbox),
            "-o", "json"]
    listed = run("list", *host)
    assert listed.exit_code == 0, listed.output
    assert isinstance(json.loads(listed.stdout), list)
    gone = run("down", "--repo", "octo-org/nothing-here", "--pr", "7", "--timeout", "10m",
               *host)
    assert gone.exit_code == 0, gone.output
    assert json.loads(gone.stdout)["existed"] is False
    collected = run("gc", "--dry-run", "--older-than", "90", "--timeout", "10m",
                    "--repo", "octo-org/nothing-here", *host, env={"GITHUB_TOKEN": ""})
    assert collected.exit_code == 0, collected.output
    assert json.loads(collected.stdout)["environments"] == []
    vclusters = run("vcluster", "list", *host)
    assert vclusters.exit_code == 0 and isinstance(json.loads(vclusters.stdout), list)
    deleted = run("vcluster", "delete", "no-such-vc", "--ignore-not-found", "--timeout", "10m",
                  *host)
    assert deleted.exit_code == 0, deleted.output


@pytest.mark.parametrize(("path", "args", "name", "seconds"), [
    ("down", ["--timeout", "10m"], "timeout", 600), ("down", ["--timeout", "90"], "timeout", 90),
    ("gc", ["--older-than", "90"], "grace", 90), ("gc", ["--older-than", "2h"], "grace", 7200),
    ("gc", ["--timeout", "10m"], "timeout", 600),
    ("vcluster create", ["x", "--timeout", "1h30m"], "timeout", 5400),
    ("vcluster delete", ["x", "--timeout", "45"], "timeout", 45),
])
def test_durations_are_read_one_way(path: str, args: list[str], name: str,
                                    seconds: int) -> None:
    assert command(path).make_context(path, args).params[name] == seconds


def test_a_duration_that_is_not_one_is_a_usage_error_with_the_hint() -> None:
    refused = run("down", "--repo", "a/b", "--pr", "1", "--timeout", "10 minutes")
    assert refused.exit_code == 2
    assert "'10 minutes' is not a duration" in refused.output
    assert "30s, 90m, 36h, 7d" in refused.output


@pytest.mark.parametrize("args", [["list"], ["down", "--repo", "a/b", "--pr", "1"],
                                  ["vcluster", "list"]])
def test_a_kubeconfig_that_does_not_exist_is_said_as_such(args: list[str],
                                                          tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "config"
    from_env = CliRunner().invoke(cli, args, env={"KUBECONFIG": str(missing)})
    assert isinstance(from_env.exception, PreviewError)
    assert f"KUBECONFIG: {missing} does not exist" in str(from_env.exception)
    flag = CliRunner().invoke(cli, [*args, "--kubeconfig", str(missing)])
    assert f"kubeconfig {missing} does not exist" in str(flag.exception)


@pytest.mark.sandbox
def test_kubeconfig_writes_with_file_and_still_takes_the_old_output_path(
        sandbox: Sandbox, tmp_path: Path) -> None:
    """The old `--output PATH` is read as `--file PATH`, with a warning; the command then
    goes on to look for the environment (there is none: its own error, not a usage one)."""
    old = CliRunner().invoke(cli, ["kubeconfig", "--repo", "octo-org/nothing-here", "--pr", "7",
                                   "--output", str(tmp_path / "pr-7.kubeconfig"),
                                   "--kubeconfig", str(sandbox.kubeconfig)])
    assert "--output is the format (yaml, json) now; write the file with --file" in old.stderr
    assert "Usage:" not in old.output and isinstance(old.exception, PreviewError)
    params = command("kubeconfig").make_context("kubeconfig", ["-o", "json", "--file", "x"]
                                                ).params
    assert (params["output"], params["file"]) == ("json", Path("x"))
