"""One set of options for every command (preview/cli/options.py): `-v`, `--kube-context`,
`-o json` and `--timeout 10m` on each, durations read one way, a KUBECONFIG that does not
exist said as such, a host that never answers cut off by --timeout — run against the sandbox, through click's own runner."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest
import yaml
from click.testing import CliRunner, Result

from preview.cli import main as cli
from preview.errors import PreviewError
from tests.conftest import Sandbox

# Every command a platform engineer runs against a host, and whether it takes --timeout (all
# do: the ones that wait bound the wait, the others getting their answer from the host;
# docs/up.md, "Options every command has").
COMMANDS: dict[str, bool] = {
    "up": True, "down": True, "list": True, "kubeconfig": True, "gc": True,
    "vcluster create": True, "vcluster connect": True, "vcluster list": True,
    "vcluster delete": True, "sleep": True, "wake": True, "cost": True,
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
    ("list", [], "timeout", 60), ("list", ["--timeout", "10m"], "timeout", 600),
    ("kubeconfig", ["--timeout", "2m"], "timeout", 120),
    ("cost", ["--timeout", "90"], "timeout", 90),
    ("vcluster list", ["--timeout", "10m"], "timeout", 600),
    ("vcluster connect", ["x", "--timeout", "30s"], "timeout", 30),
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


@pytest.fixture
def silent_host(tmp_path: Path) -> Iterator[Path]:
    """A kubeconfig whose API server accepts connections and never answers: a loopback
    socket that listens (the kernel completes the handshake) and never reads."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        port = server.getsockname()[1]
        path = tmp_path / "silent.kubeconfig"
        path.write_text(yaml.safe_dump({
            "apiVersion": "v1", "kind": "Config", "current-context": "silent",
            "clusters": [{"name": "silent",
                          "cluster": {"server": f"http://127.0.0.1:{port}"}}],
            "users": [{"name": "silent", "user": {"token": "not-a-secret"}}],
            "contexts": [{"name": "silent",
                          "context": {"cluster": "silent", "user": "silent"}}]}))
        yield path


@pytest.mark.parametrize(("args", "waiting_for"), [
    (["list"], "the host cluster to list the environments"),
    (["cost"], "the host cluster's pods and claims"),
    (["vcluster", "list"], "the host cluster to list the virtual clusters"),
    (["vcluster", "connect", "team-a"], "virtual cluster team-a's kubeconfig"),
    (["kubeconfig", "--repo", "octo-org/app", "--pr", "7", "--tunnel"],
     "PR 7's kubeconfig and tunnel"),
])
def test_a_host_that_never_answers_is_cut_off_by_the_timeout(
        silent_host: Path, args: list[str], waiting_for: str) -> None:
    tail = ["--", "true"] if args[0] == "vcluster" and args[1] == "connect" else []
    result = CliRunner().invoke(cli, [*args, "--kubeconfig", str(silent_host),
                                      "--timeout", "1", *tail])
    assert isinstance(result.exception, PreviewError), result.output
    assert result.exception.exit_code == 1
    assert f"--timeout 1s ran out while waiting for {waiting_for}" in str(result.exception)


def test_kubeconfig_that_times_out_writes_no_file(silent_host: Path, tmp_path: Path) -> None:
    target = tmp_path / "pr-7.kubeconfig"
    result = CliRunner().invoke(cli, ["kubeconfig", "--repo", "octo-org/app", "--pr", "7",
                                      "--file", str(target), "--kubeconfig", str(silent_host),
                                      "--timeout", "1"])
    assert isinstance(result.exception, PreviewError), result.output
    assert "--timeout 1s ran out while waiting for the host cluster for PR 7's kubeconfig" \
        in str(result.exception)
    assert not target.exists()
