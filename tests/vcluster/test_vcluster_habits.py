"""`preview vcluster` as a vcluster or kubectl user runs it: no silent success, no lost
values, no leaked credentials. Everything goes through the CLI as a subprocess, against the
host sandbox with the real helm, and asserts exit codes and the text a user reads.
"""

from __future__ import annotations

import os
import select
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest
import yaml
from kubernetes import client
from kubernetes.client.rest import ApiException

from preview.sandbox.runner import Sandbox
from preview.tools import find_tool
from tests.conftest import KubectlRunner
from tests.vcluster.test_vcluster_cli import labelled_anywhere, preview

pytestmark = [pytest.mark.sandbox, pytest.mark.tools]
EVERY_STATUS = ("--deployed", "--failed", "--pending", "--uninstalling")  # helm 4: no -a
KEEP = "keep"  # the module's virtual cluster, installed with a restricted Pod Security level


def cli(sb: Sandbox, *args: str, command: tuple[str, ...] = (), env: dict[str, str] | None = None,
        timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`preview ARGS --kubeconfig SANDBOX [-- COMMAND]`, not checked."""
    argv = [sys.executable, "-m", "preview", *args, "--kubeconfig", sb.kubeconfig]
    if command:
        argv += ["--", *command]
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env)


def start(sb: Sandbox, *args: str, command: tuple[str, ...] = ()) -> subprocess.Popen[str]:
    """`preview ARGS --kubeconfig SANDBOX [-- COMMAND]` in the background, pipes open."""
    argv = [sys.executable, "-m", "preview", *args, "--kubeconfig", sb.kubeconfig]
    if command:
        argv += ["--", *command]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def read_until(stream: IO[str] | None, marker: str, timeout: float = 60) -> str:
    """What a child wrote to a pipe, up to and including `marker` (fails after `timeout`).

    Reads the file descriptor itself: a buffered readline would hide data from select."""
    assert stream is not None
    seen = ""
    deadline = time.monotonic() + timeout
    while marker not in seen:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([stream.fileno()], [], [], left)[0]:
            raise AssertionError(f"no {marker!r} within {timeout}s; got:\n{seen}")
        chunk = os.read(stream.fileno(), 65536).decode()
        if not chunk:
            raise AssertionError(f"the stream ended before {marker!r}; got:\n{seen}")
        seen += chunk
    return seen


@pytest.fixture(scope="module")
def keep(sandbox: Sandbox) -> Iterator[str]:
    out = cli(sandbox, "vcluster", "create", KEEP, "-n", KEEP, "--set",
              "isolation.podSecurity=restricted")
    assert out.returncode == 0, out.stderr
    # Helm's own "command failed" warnings (a release looked for and not there) stay quiet.
    assert "command failed" not in out.stderr and "WARNING" not in out.stderr
    yield KEEP
    cli(sandbox, "vcluster", "delete", KEEP, "-n", KEEP, "--ignore-not-found")


def test_create_again_refuses_and_upgrade_keeps_the_values(sandbox: Sandbox, keep: str,
                                                           core: client.CoreV1Api,
                                                           helm: KubectlRunner) -> None:
    again = cli(sandbox, "vcluster", "create", keep, "-n", keep)
    assert again.returncode == 1 and "Traceback" not in again.stderr
    assert f"virtual cluster {keep} already exists in namespace {keep}" in again.stderr
    assert "--upgrade" in again.stderr

    upgraded = cli(sandbox, "vcluster", "create", keep, "-n", keep, "--upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    assert f"virtual cluster {keep} upgraded in namespace {keep} (revision 2" in upgraded.stdout
    assert "no value changed" in upgraded.stdout
    assert "kept from the installed release: isolation.podSecurity=restricted" in \
        upgraded.stderr
    labels = core.read_namespace(keep).metadata.labels
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    values = yaml.safe_load(helm("get", "values", keep, "-n", keep, "-o", "yaml").stdout)
    assert values["isolation"]["podSecurity"] == "restricted"

    changed = cli(sandbox, "vcluster", "create", keep, "-n", keep, "--upgrade", "--set",
                  "isolation.quota.pods=40")
    assert changed.returncode == 0, changed.stderr
    assert "isolation.quota.pods: (unset) -> 40" in changed.stdout
    assert core.read_namespace(keep).metadata.labels[
        "pod-security.kubernetes.io/enforce"] == "restricted"


def test_connect_without_namespace_finds_it_and_keeps_the_commands_flags(
        sandbox: Sandbox, keep: str, kubectl_path: str) -> None:
    # `-n` after `--` belongs to kubectl: before, it was taken as our --namespace.
    out = cli(sandbox, "vcluster", "connect", keep, command=(
        kubectl_path, "get", "ns", "default", "-n", "nowhere", "-o", "name"))
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "namespace/default"

    stray = cli(sandbox, "vcluster", "connect", keep, "--print", "kubectl")
    assert stray.returncode == 2 and "goes after `--`" in stray.stderr
    unknown = cli(sandbox, "vcluster", "connect", keep, "--prnt")
    assert unknown.returncode == 2 and "No such option '--prnt'" in unknown.stderr


def test_print_and_write_a_kubeconfig_for_a_given_server(sandbox: Sandbox, keep: str,
                                                         tmp_path: Path) -> None:
    out = cli(sandbox, "vcluster", "connect", keep, "--print", "--server",
              "https://keep.example.com")
    assert out.returncode == 0, out.stderr
    cluster = yaml.safe_load(out.stdout)["clusters"][0]["cluster"]
    assert cluster["server"] == "https://keep.example.com"
    assert cluster["tls-server-name"] == f"{keep}.{keep}.svc"

    target = tmp_path / "sub" / "keep.yaml"
    out = cli(sandbox, "vcluster", "connect", keep, "--kube-config", str(target), "--server",
              "https://10.0.0.1:443")
    assert out.returncode == 0, out.stderr
    assert f"kubeconfig written to {target}" in out.stderr
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert yaml.safe_load(target.read_text())["clusters"][0]["cluster"]["server"] == \
        "https://10.0.0.1:443"


def test_printed_kubeconfig_works_while_the_tunnel_is_open(sandbox: Sandbox, keep: str,
                                                           kubectl_path: str,
                                                           tmp_path: Path) -> None:
    proc = start(sandbox, "vcluster", "connect", keep, "--print")
    try:
        read_until(proc.stderr, "the tunnel is open")
        # stdout was flushed before that line: the whole kubeconfig is there.
        printed = read_until(proc.stdout, "current-context", timeout=5)
        kubeconfig = yaml.safe_load(printed)
        assert kubeconfig["clusters"][0]["cluster"]["server"].startswith("https://127.0.0.1:")
        path = tmp_path / "printed"
        path.write_text(printed)
        used = subprocess.run([kubectl_path, "--kubeconfig", str(path), "get", "ns", "default",
                               "-o", "name"], capture_output=True, text=True, timeout=60)
        assert used.stdout.strip() == "namespace/default", used.stderr
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(30) == 0


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_removes_the_temporary_kubeconfig(sandbox: Sandbox, keep: str,
                                                   kubectl_path: str,
                                                   signum: signal.Signals) -> None:
    proc = start(sandbox, "vcluster", "connect", keep)
    try:
        said = read_until(proc.stderr, "export KUBECONFIG=")
        path = Path(said.split("export KUBECONFIG=", 1)[1].split()[0])
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        used = subprocess.run([kubectl_path, "--kubeconfig", str(path), "get", "ns", "default",
                               "-o", "name"], capture_output=True, text=True, timeout=60)
        assert used.stdout.strip() == "namespace/default", used.stderr
        proc.send_signal(signum)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert not path.exists() and not path.parent.exists()
    assert proc.stderr is not None and "Traceback" not in proc.stderr.read()


def test_sigterm_during_a_command_stops_it_and_cleans_up(sandbox: Sandbox, keep: str) -> None:
    proc = start(sandbox, "vcluster", "connect", keep,
                 command=("sh", "-c", 'echo "$KUBECONFIG"; exec sleep 60'))
    try:
        path = Path(read_until(proc.stdout, "kubeconfig").strip())
        assert path.exists()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 128 + signal.SIGTERM  # as a shell reports it
    finally:
        if proc.poll() is None:
            proc.kill()
    assert not path.exists() and not path.parent.exists()


def test_same_name_in_two_namespaces_must_be_told_apart(sandbox: Sandbox,
                                                        kubectl_path: str) -> None:
    for ns in ("dup-a", "dup-b"):
        preview(sandbox, "vcluster", "create", "dup", "-n", ns)
    try:
        ambiguous = cli(sandbox, "vcluster", "connect", "dup", command=("true",))
        assert ambiguous.returncode == 1
        assert "virtual cluster dup exists in 2 namespaces: dup-a" in ambiguous.stderr
        assert "dup-b" in ambiguous.stderr and "pass -n/--namespace" in ambiguous.stderr
        assert cli(sandbox, "vcluster", "delete", "dup").returncode == 1

        wrong = cli(sandbox, "vcluster", "delete", "dup", "-n", "default")
        assert wrong.returncode == 1
        assert "not found in namespace default (it exists in namespace dup-a, dup-b)" in \
            wrong.stderr

        assert cli(sandbox, "vcluster", "delete", "dup", "-n", "dup-a").returncode == 0
        found = cli(sandbox, "vcluster", "connect", "dup", command=(
            kubectl_path, "get", "ns", "default", "-o", "name"))
        assert found.returncode == 0 and found.stdout.strip() == "namespace/default"
        gone = cli(sandbox, "vcluster", "delete", "dup")
        assert gone.returncode == 0, gone.stderr
        assert "virtual cluster dup and its namespace deleted from dup-b" in gone.stdout
    finally:
        for ns in ("dup-a", "dup-b"):
            cli(sandbox, "vcluster", "delete", "dup", "-n", ns, "--ignore-not-found")


def test_names_kubernetes_would_refuse_are_refused_first(sandbox: Sandbox,
                                                         core: client.CoreV1Api) -> None:
    out = cli(sandbox, "vcluster", "create", "1st")
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert "DNS-1035" in out.stderr and "starting with a letter" in out.stderr
    with pytest.raises(ApiException) as e:
        core.read_namespace("vcluster-1st")
    assert e.value.status == 404


def test_a_failed_install_leaves_nothing_behind(sandbox: Sandbox, core: client.CoreV1Api,
                                                api_client: client.ApiClient,
                                                helm: KubectlRunner) -> None:
    # A namespace whose quota allows no load balancer: the chart's Service is refused after
    # helm created the objects before it.
    core.create_namespace({"metadata": {"name": "no-lb"}})
    core.create_namespaced_resource_quota("no-lb", {
        "metadata": {"name": "no-lb"}, "spec": {"hard": {"services.loadbalancers": "0"}}})
    out = cli(sandbox, "vcluster", "create", "lbfail", "-n", "no-lb", "--expose")
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert "helm could not install lbfail" in out.stderr and "exceeded quota" in out.stderr
    assert "nothing was left behind (release removed)" in out.stderr
    assert labelled_anywhere(api_client, "app.kubernetes.io/instance=lbfail") == []
    assert "lbfail" not in helm("list", "-n", "no-lb", *EVERY_STATUS, "-q").stdout
    assert core.read_namespace("no-lb").status.phase == "Active"  # not ours: kept
    listed = cli(sandbox, "vcluster", "list", "-n", "no-lb")
    assert "lbfail" not in listed.stdout


def test_a_failed_release_is_listed_as_failed_and_can_be_deleted(
        sandbox: Sandbox, core: client.CoreV1Api, helm: KubectlRunner) -> None:
    from preview.vcluster.model import chart_path

    core.create_namespace({"metadata": {"name": "half"}})
    core.create_namespaced_resource_quota("half", {
        "metadata": {"name": "half"}, "spec": {"hard": {"services.loadbalancers": "0"}}})
    # Made by hand (or by an older preview): a release helm marked failed.
    made = helm("install", "half", str(chart_path()), "-n", "half", "--set",
                "service.type=LoadBalancer", check=False)
    assert made.returncode != 0
    try:
        listed = cli(sandbox, "vcluster", "ls", "-A", "-o", "wide")
        assert listed.returncode == 0, listed.stderr
        row = next(line.split() for line in listed.stdout.splitlines()
                   if line.startswith("half "))
        assert row[:3] == ["half", "half", "Failed"]
        assert row[-3:] == ["failed", "1", "vcluster-0.1.0"]
        assert listed.stdout.splitlines()[0].split()[-3:] == ["RELEASE", "REVISION", "CHART"]

        deleted = cli(sandbox, "vcluster", "delete", "half")  # found by its release
        assert deleted.returncode == 0, deleted.stderr
        assert "half" not in helm("list", "-A", *EVERY_STATUS, "-q").stdout
    finally:
        helm("uninstall", "half", "-n", "half", check=False)


def test_verbose_after_the_subcommand_shows_helm(sandbox: Sandbox) -> None:
    quiet = cli(sandbox, "vcluster", "list")
    assert quiet.returncode == 0 and "running command" not in quiet.stderr
    for argv in (("vcluster", "list", "-v"), ("-v", "vcluster", "list")):
        loud = cli(sandbox, *argv)
        assert loud.returncode == 0, loud.stderr
        assert "running command: " in loud.stderr and "helm list" in loud.stderr


@pytest.mark.parametrize("command", ["", "create", "connect", "list", "ls", "delete"])
def test_help_ends_with_examples(command: str) -> None:
    out = subprocess.run([sys.executable, "-m", "preview", "vcluster", *command.split(),
                          "--help"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0
    lines = out.stdout.rstrip().splitlines()
    tail = lines[lines.index("  Examples:"):]
    assert len(tail) > 1 and all(line.startswith("    preview vcluster ") for line in tail[1:])


@pytest.mark.parametrize(("argv", "named"), [
    (("create", "a", "--connect"), "preview vcluster connect NAME"),
    (("create", "a", "--chart-version", "0.20.0"), "PREVIEW_VCLUSTER_CHART"),
    (("create", "a", "--kubernetes-version", "1.31"), "--set k3s.image="),
    (("connect", "a", "--update-current"), "--kube-config PATH"),
    (("connect", "a", "--print-kubeconfig"), "--print --server https://NAME.NS.svc:443"),
])
def test_vcluster_cli_flags_name_the_preview_equivalent(argv: tuple[str, ...],
                                                        named: str) -> None:
    out = subprocess.run([sys.executable, "-m", "preview", "vcluster", *argv],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 2 and "is a flag of " in out.stderr
    assert named in out.stderr and "Traceback" not in out.stderr


def test_connect_false_asks_for_what_create_does_anyway(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-m", "preview", "vcluster", "create", "a",
                          "--connect=false", "--kubeconfig", str(tmp_path / "none")],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 1 and "kubeconfig" in out.stderr and "does not exist" in out.stderr


def test_several_kubeconfig_files_are_merged_like_kubectl(sandbox: Sandbox,
                                                          tmp_path: Path) -> None:
    # The first file names another cluster and no current context; kubectl takes the
    # current context from the second. Helm gets KUBECONFIG as it is and merges alike.
    other = tmp_path / "other"
    other.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "elsewhere", "cluster": {"server": "https://192.0.2.1"}}],
        "users": [], "contexts": []}))
    env = {**os.environ, "KUBECONFIG": os.pathsep.join([str(other), sandbox.kubeconfig])}
    out = subprocess.run([sys.executable, "-m", "preview", "vcluster", "list", "-o", "json"],
                         capture_output=True, text=True, timeout=60, env=env)
    assert out.returncode == 0, out.stderr
    assert "helm" not in out.stderr
    verbose = subprocess.run([sys.executable, "-m", "preview", "vcluster", "list", "-v"],
                             capture_output=True, text=True, timeout=60, env=env)
    assert "command succeeded: " in verbose.stderr and " list " in verbose.stderr
    assert "--kubeconfig" not in verbose.stderr  # helm reads KUBECONFIG itself, all of it
    kubectl = subprocess.run([str(find_tool("kubectl")), "config", "current-context"],
                             capture_output=True, text=True, env=env)
    assert kubectl.returncode == 0  # kubectl agrees there is a current context
