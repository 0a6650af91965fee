"""`preview up / list / kubeconfig / down` end to end, as a user runs them, on a host sandbox.

The host sandbox runs the vcluster control plane and the example app for real (its ingress
controller serves HTTP on loopback), helm is the real binary, and every command runs as a
subprocess of `python -m preview`, so exit codes and printed text are what a user sees.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from preview import naming
from preview.kube.client import KubeClient, Resource
from preview.kube.connection import from_kubeconfig
from preview.kube.host import HostCluster
from preview.operations import kubeconfig as kubeconfig_operation
from preview.sandbox.runner import Sandbox
from tests.conftest import tool_runner, wait_for
from tests.kube.test_exec_plugin import (
    LATER,
    PAST,
    exec_kubeconfig,
    runs,
    service_account_token,
    stamp,
)
from tests.test_templating import HOSTILE

pytestmark = [pytest.mark.sandbox, pytest.mark.tools]
ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "examples" / "app" / "preview.yaml"
STATEFUL = ROOT / "examples" / "stateful" / "preview.yaml"
SHA1, SHA2 = "1a2b3c4d" * 5, "5e6f7a8b" * 5
DEPLOYMENTS = Resource("apps", "v1", "deployments", "Deployment")


def preview(sb: Sandbox, *args: str, code: int = 0, kubeconfig: Path | str | None = None,
            timeout: float = 240) -> subprocess.CompletedProcess[str]:
    """Run `preview ARGS --kubeconfig …` and check its exit code."""
    result = subprocess.run(
        [sys.executable, "-m", "preview", *args, "--kubeconfig", str(kubeconfig or sb.kubeconfig)],
        capture_output=True, text=True, timeout=timeout)
    assert result.returncode == code, (f"preview {' '.join(args)} exited {result.returncode}, "
                                       f"not {code}:\n{result.stderr}{result.stdout}")
    assert "Traceback" not in result.stderr, result.stderr
    return result


def up(sb: Sandbox, config: Path, repo: str, pr: int, sha: str, *extra: str, code: int = 0,
       kubeconfig: Path | None = None) -> dict[str, Any]:
    result = preview(sb, "up", "--config", str(config), "--repo", repo, "--pr", str(pr),
                     "--sha", sha, "-o", "json", *extra, code=code, kubeconfig=kubeconfig)
    parsed: dict[str, Any] = json.loads(result.stdout)
    return parsed


def namespace_of(core: client.CoreV1Api, name: str) -> Any:
    try:
        return core.read_namespace(name)
    except ApiException as e:
        if e.status == 404:
            return None
        raise


def fetch(url: str, ingress_port: int) -> tuple[int, str]:
    """GET through the sandbox's ingress: the address in the Ingress status, the URL's Host."""
    host = url.split("://", 1)[1].split("/", 1)[0]
    request = urllib.request.Request(f"http://127.0.0.1:{ingress_port}/",
                                     headers={"Host": host})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, response.read().decode()


def virtual(sb: Sandbox, env: naming.Environment, fn: Any) -> Any:
    """Run `fn(kube, kubeconfig_path)` against the environment's virtual cluster.

    The tunnel serves on this event loop: `fn` runs blocking tools in a thread
    (`asyncio.to_thread`), or nothing would answer them.
    """
    async def main() -> Any:
        host = HostCluster.from_kubeconfig(sb.kubeconfig)
        output = Path(sb.kubeconfig).parent / f"{env.namespace}.kubeconfig"
        async with kubeconfig_operation.tunnel(host, env, output) as path, \
                KubeClient(from_kubeconfig(path)) as kube:
            return await fn(kube, path)
    return asyncio.run(main())


def helm_revisions(sb: Sandbox, env: naming.Environment, release: str = "app") -> list[str]:
    """`helm history` statuses of the app's release inside the virtual cluster."""
    async def history(_: KubeClient, path: Path) -> list[str]:
        helm = tool_runner("helm", str(path), 60)
        out = (await asyncio.to_thread(helm, "history", release, "-n", "default", "-o",
                                       "json")).stdout
        return [row["status"] for row in json.loads(out)]
    result: list[str] = virtual(sb, env, history)
    return result


def test_example_up_idempotent_upgrade_down(sandbox: Sandbox,
                                             api_client: client.ApiClient) -> None:
    core = client.CoreV1Api(api_client)
    env = naming.environment_for("example", "app", 1)
    first = up(sandbox, APP, "example/app", 1, SHA1)
    assert first["status"] == "ready", first
    assert first["url"] == f"http://pr-1-app.localhost:{sandbox.ingress_http_port}"
    assert list(first["phases"]) == ["check", "lock", "namespace", "vcluster", "connect",
                                     "deploy", "wait", "health"]
    ns = core.read_namespace(env.namespace)
    assert naming.namespace_labels(env).items() <= ns.metadata.labels.items()
    notes = ns.metadata.annotations
    assert notes[naming.HEAD_SHA] == SHA1 and notes[naming.URL] == first["url"]
    assert notes[naming.EXPIRES_AT] == first["expires_at"]
    status, page = fetch(first["url"], sandbox.ingress_http_port)
    assert status == 200 and SHA1[:7] in page and "#1" in page

    async def ready(kube: KubeClient, _: Path) -> Any:
        return (await kube.get(DEPLOYMENTS, "default", "app"))["status"]
    assert virtual(sandbox, env, ready).get("readyReplicas") == 1
    vcluster_history = tool_runner("helm", sandbox.kubeconfig, 60)(
        "history", env.vcluster, "-n", env.namespace, "-o", "json").stdout

    again = up(sandbox, APP, "example/app", 1, SHA1)
    assert again["status"] == "ready" and again["url"] == first["url"]
    assert helm_revisions(sandbox, env) == ["deployed"]  # no new revision of the app
    assert tool_runner("helm", sandbox.kubeconfig, 60)(
        "history", env.vcluster, "-n", env.namespace, "-o", "json").stdout == vcluster_history
    assert core.read_namespace(env.namespace).metadata.annotations[naming.CREATED_AT] == \
        notes[naming.CREATED_AT]
    listed = json.loads(preview(sandbox, "list", "--repo", "example/app", "-o", "json").stdout)
    assert [(row["pr"], row["head_sha"], row["status"]) for row in listed] == \
        [(1, SHA1, "ready")]

    upgraded = up(sandbox, APP, "example/app", 1, SHA2)
    assert upgraded["status"] == "ready" and upgraded["head_sha"] == SHA2
    assert helm_revisions(sandbox, env) == ["superseded", "deployed"]
    assert core.read_namespace(env.namespace).metadata.annotations[naming.HEAD_SHA] == SHA2
    wait_for(lambda: SHA2[:7] in fetch(first["url"], sandbox.ingress_http_port)[1],
             timeout=30, what="the page of the new commit")
    table = preview(sandbox, "list").stdout
    assert "example/app" in table and SHA2[:7] in table and "ready" in table

    gone = preview(sandbox, "down", "--repo", "example/app", "--pr", "1")
    assert f"environment pr-1 ({env.namespace}) is gone" in gone.stdout
    assert namespace_of(core, env.namespace) is None
    again_gone = preview(sandbox, "down", "--repo", "example/app", "--pr", "1")
    assert "nothing to tear down" in again_gone.stdout


def test_stateful_chart_up_and_down_leaves_no_volume(sandbox: Sandbox,
                                                     api_client: client.ApiClient) -> None:
    core = client.CoreV1Api(api_client)
    env = naming.environment_for("example", "files", 2)
    result = up(sandbox, STATEFUL, "example/files", 2, SHA1)
    assert result["status"] == "ready" and "health" not in result["phases"]
    claims = core.list_namespaced_persistent_volume_claim(env.namespace).items
    assert len(claims) == 2 and all(c.status.phase == "Bound" for c in claims)
    volumes = {c.spec.volume_name for c in claims}
    down = json.loads(preview(sandbox, "down", "--repo", "example/files", "--pr", "2", "-o",
                              "json").stdout)
    assert down == {"environment": "pr-2", "namespace": env.namespace, "existed": True,
                    "seconds": down["seconds"], "waited_for": ""}
    assert namespace_of(core, env.namespace) is None
    wait_for(lambda: not volumes & {v.metadata.name for v in
                                    core.list_persistent_volume().items},
             timeout=30, what="the claims' volumes to be deleted")


def test_unpullable_image_fails_with_a_summary_and_leaves_the_environment(
        sandbox: Sandbox, api_client: client.ApiClient) -> None:
    core = client.CoreV1Api(api_client)
    env = naming.environment_for("example", "app", 3)
    result = preview(sandbox, "up", "--config", str(APP), "--repo", "example/app", "--pr", "3",
                     "--sha", SHA1, "--set", "image.repository=registry.example/does-not-exist",
                     "--timeout", "90", code=1)
    text = result.stdout
    assert "FAILED" in text and ("ImagePullBackOff" in text or "ErrImagePull" in text)
    assert "pod app-" in text and "does-not-exist" in text
    assert "Failed to pull image" in text  # the event's own text
    assert result.stdout.count("pod app-") < 6  # one summary, not the pods twice over
    assert namespace_of(core, env.namespace) is not None  # left for inspection
    preview(sandbox, "down", "--repo", "example/app", "--pr", "3")


def test_template_error_is_bad_input_before_anything_exists(
        sandbox: Sandbox, api_client: client.ApiClient, tmp_path: Path) -> None:
    chart = tmp_path / "chart"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: broken\nversion: 0.1.0\n")
    (chart / "templates" / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Values.name | required "
        "\"name is required\" }}\n")
    config = tmp_path / "preview.yaml"
    config.write_text("chart: {path: ./chart}\ndomain: localhost\n")
    result = preview(sandbox, "up", "--config", str(config), "--repo", "example/broken",
                     "--pr", "4", "--sha", SHA1, code=2)
    assert "name is required" in result.stderr
    env = naming.environment_for("example", "broken", 4)
    assert namespace_of(client.CoreV1Api(api_client), env.namespace) is None


def test_a_chart_linking_outside_the_repository_is_refused_before_anything_exists(
        sandbox: Sandbox, api_client: client.ApiClient, tmp_path: Path) -> None:
    # A pull request's chart whose files/k points at the runner's kubeconfig: helm would
    # put it into a ConfigMap of the pull request's own virtual cluster.
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "examples" / "app", repo)
    (repo / ".git").mkdir()
    (repo / "chart" / "files").mkdir(exist_ok=True)
    (repo / "chart" / "files" / "k").symlink_to(Path(sandbox.kubeconfig))
    result = preview(sandbox, "up", "--config", str(repo / "preview.yaml"), "--repo",
                     "example/linked", "--pr", "31", "--sha", SHA1, code=2)
    assert f"chart.path: files/k is a link to {Path(sandbox.kubeconfig).resolve()}, outside " \
        "the repository" in result.stderr, result.stderr
    assert "client-key-data" not in result.stderr + result.stdout
    env = naming.environment_for("example", "linked", 31)
    assert namespace_of(client.CoreV1Api(api_client), env.namespace) is None


# Runs a command and reports its CPU seconds and peak RSS (its own and any child it waited
# for: the render's worker).
# Peak RSS counts the image a process had before exec, so the command is started from this
# small interpreter, not from the test process (whose size would be counted instead).
_MEASURE = """
import json, os, subprocess, sys, time
started = time.monotonic()
proc = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)
_, status, usage = os.wait4(proc.pid, 0)
print(json.dumps({"code": os.waitstatus_to_exitcode(status),
                  "seconds": time.monotonic() - started,
                  "cpu": usage.ru_utime + usage.ru_stime, "rss": usage.ru_maxrss * 1024}))
"""


def timed_up(sb: Sandbox, config: Path, pr: int) -> tuple[int, str, float, int]:
    """`preview up` refused or not: exit code, stderr, CPU seconds and peak RSS (bytes) of
    the process and of the worker it rendered in."""
    result = subprocess.run(
        [sys.executable, "-c", _MEASURE, sys.executable, "-m", "preview", "up", "--config",
         str(config), "--repo", "example/huge", "--pr", str(pr), "--sha", SHA1,
         "--kubeconfig", str(sb.kubeconfig)], capture_output=True, text=True, timeout=60)
    measured = json.loads(result.stdout)
    return measured["code"], result.stderr, measured["cpu"], measured["rss"]


@pytest.fixture(scope="module")
def refusal_seconds(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> float:
    """The CPU a `preview up` refused for a misspelt variable takes: its start and its
    exit."""
    tmp_path = tmp_path_factory.mktemp("baseline")
    (tmp_path / "chart").mkdir()
    (tmp_path / "chart" / "Chart.yaml").write_text("apiVersion: v2\nname: c\nversion: 0.1.0\n")
    config = tmp_path / "preview.yaml"
    config.write_text("chart: {path: ./chart}\ndomain: localhost\nvalues: {a: '{{ pr.sha }}'}\n")
    runs = [timed_up(sandbox, config, 59) for _ in range(3)]
    assert all(code == 2 for code, *_ in runs), runs
    return sorted(seconds for _, _, seconds, _ in runs)[1]  # the median: the machine is shared


@pytest.mark.parametrize(("pr", "source", "message"),
                         [(60 + i, *case) for i, case in enumerate(HOSTILE.values())],
                         ids=HOSTILE.keys())
def test_a_template_over_budget_is_refused_before_anything_exists(
        sandbox: Sandbox, api_client: client.ApiClient, tmp_path: Path, refusal_seconds: float,
        pr: int, source: str, message: str) -> None:
    (tmp_path / "chart").mkdir()
    (tmp_path / "chart" / "Chart.yaml").write_text("apiVersion: v2\nname: c\nversion: 0.1.0\n")
    config = tmp_path / "preview.yaml"
    # a JSON string is a YAML double-quoted scalar
    config.write_text(f"chart: {{path: ./chart}}\ndomain: localhost\n"
                      f"values: {{app: {{huge: {json.dumps(source)}}}}}\n")
    code, stderr, seconds, rss = timed_up(sandbox, config, pr)
    assert code == 2, stderr
    assert stderr.startswith(f"error: {config}: values.app.huge: {message}"), stderr
    assert "Traceback" not in stderr
    # CPU beyond what any refusal takes (starting an interpreter dominates); a busy loop (or a
    # power) runs for its 2 s. CPU, not wall time: on a busy machine the clock runs while the
    # process waits for a core. The render's own cost is measured closely by
    # tests/test_templating.py.
    assert seconds - refusal_seconds < (3.5 if "in time" in message else 2.0), seconds
    assert rss < 200 * 1024 * 1024, rss
    env = naming.environment_for("example", "huge", pr)
    assert namespace_of(client.CoreV1Api(api_client), env.namespace) is None


@pytest.mark.parametrize(("content", "fragment"), [
    ("chart: {path: ./chart}\ndomain: localhost\nreplicas: 2\n", "replicas"),
    ("chart: {path: ./chart}\ndomain: localhost\nttl: 7 days\n", "ttl"),
    ("chart: {path: ./chart}\ndomain: localhost\ntimeouts: {deploy: soon}\n",
     "timeouts.deploy"),
    ("chart: {path: ./chart}\ndomain: localhost\nvalues: {tag: '{{ pr.sha }}'}\n",
     "values.tag"),
])
def test_bad_preview_yaml_is_one_clear_line_and_creates_nothing(
        sandbox: Sandbox, api_client: client.ApiClient, tmp_path: Path, content: str,
        fragment: str) -> None:
    (tmp_path / "chart").mkdir()
    (tmp_path / "chart" / "Chart.yaml").write_text("apiVersion: v2\nname: c\nversion: 0.1.0\n")
    config = tmp_path / "preview.yaml"
    config.write_text(content)
    result = preview(sandbox, "up", "--config", str(config), "--repo", "example/bad",
                     "--pr", "5", "--sha", SHA1, code=2)
    first = result.stderr.splitlines()[0]
    assert first.startswith("error: ") and fragment in first, result.stderr
    env = naming.environment_for("example", "bad", 5)
    assert namespace_of(client.CoreV1Api(api_client), env.namespace) is None


def test_a_namespace_without_our_labels_is_never_touched(
        sandbox: Sandbox, api_client: client.ApiClient) -> None:
    core = client.CoreV1Api(api_client)
    env = naming.environment_for("example", "app", 6)
    core.create_namespace({"metadata": {"name": env.namespace, "labels": {"team": "x"}}})
    refused = preview(sandbox, "down", "--repo", "example/app", "--pr", "6", code=2)
    assert "not a preview environment" in refused.stderr
    refused = preview(sandbox, "up", "--config", str(APP), "--repo", "example/app", "--pr", "6",
                      "--sha", SHA1, code=2)
    assert "not a preview environment" in refused.stderr
    ns = core.read_namespace(env.namespace)
    assert ns.metadata.deletion_timestamp is None and ns.metadata.labels == {
        "team": "x", "kubernetes.io/metadata.name": env.namespace}
    core.delete_namespace(env.namespace)


def test_killed_helm_upgrade_is_recovered_by_the_next_up(sandbox: Sandbox) -> None:
    env = naming.environment_for("example", "app", 7)
    assert up(sandbox, APP, "example/app", 7, SHA1)["status"] == "ready"

    async def kill_mid_upgrade(_: KubeClient, path: Path) -> list[str]:
        helm = tool_runner("helm", str(path), 60)
        upgrade = subprocess.Popen(
            [*helm_command(path), "upgrade", "app", str(APP.parent / "chart"), "-n", "default",
             "--reuse-values", "--set", "image.repository=does-not-exist", "--wait",
             "--timeout", "5m"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            await asyncio.to_thread(wait_for, lambda: "pending-upgrade" in helm(
                "history", "app", "-n", "default").stdout, 60, 0.2, "a pending upgrade")
        finally:
            upgrade.send_signal(signal.SIGKILL)
            upgrade.wait()
        out = (await asyncio.to_thread(helm, "history", "app", "-n", "default", "-o",
                                       "json")).stdout
        return [row["status"] for row in json.loads(out)]

    assert virtual(sandbox, env, kill_mid_upgrade)[-1] == "pending-upgrade"
    recovered = up(sandbox, APP, "example/app", 7, SHA2)
    assert recovered["status"] == "ready", recovered
    assert helm_revisions(sandbox, env)[-1] == "deployed"
    preview(sandbox, "down", "--repo", "example/app", "--pr", "7")


def helm_command(kubeconfig: Path) -> list[str]:
    from preview.tools import find_tool

    return [str(find_tool("helm")), "--kubeconfig", str(kubeconfig)]


def test_exec_plugin_kubeconfig_for_up_list_down(sandbox: Sandbox, tmp_path: Path) -> None:
    # The first token has expired: our client and helm each run the plugin again.
    path = exec_kubeconfig(sandbox, tmp_path, [("expired-token", stamp(PAST)),
                                               (service_account_token(sandbox), stamp(LATER))])
    result = up(sandbox, APP, "example/app", 8, SHA1, kubeconfig=path)
    assert result["status"] == "ready"
    listed = json.loads(preview(sandbox, "list", "-o", "json", kubeconfig=path).stdout)
    assert any(row["pr"] == 8 for row in listed)
    preview(sandbox, "down", "--repo", "example/app", "--pr", "8", kubeconfig=path)
    assert runs(tmp_path) >= 4  # refreshed after the expired one; helm ran it too


def test_kubeconfig_tunnel_gives_kubectl_the_virtual_cluster(sandbox: Sandbox,
                                                             tmp_path: Path) -> None:
    up(sandbox, APP, "example/app", 9, SHA1)
    # SIGINT as Ctrl-C sends it to a job a shell started in the background (which starts
    # with SIGINT ignored, so Python raises no KeyboardInterrupt), then SIGTERM.
    for stop in (signal.SIGINT, signal.SIGTERM):
        output = tmp_path / f"pr-9-{stop.name}.kubeconfig"
        tunnel = subprocess.Popen(
            [sys.executable, "-m", "preview", "kubeconfig", "--repo", "example/app", "--pr",
             "9", "--tunnel", "--file", str(output), "--kubeconfig", sandbox.kubeconfig],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
        try:
            wait_for(output.exists, timeout=30, what="the kubeconfig file")
            assert output.stat().st_mode & 0o077 == 0
            kubectl = tool_runner("kubectl", str(output), 60)
            pods = kubectl("get", "pods", "-n", "default", "-o", "name").stdout.split()
            assert any(name.startswith("pod/app-") for name in pods)
        finally:
            tunnel.send_signal(stop)
            try:
                _, err = tunnel.communicate(timeout=30)
            finally:
                tunnel.kill()
        assert tunnel.returncode == 0 and "Traceback" not in err, err
        assert "tunnel closed" in err
    printed = preview(sandbox, "kubeconfig", "--repo", "example/app", "--pr", "9",
                      "--server", "https://vc.example.com").stdout
    assert "server: https://vc.example.com" in printed
    preview(sandbox, "down", "--repo", "example/app", "--pr", "9")
    missing = preview(sandbox, "kubeconfig", "--repo", "example/app", "--pr", "9", code=1)
    assert "has no environment" in missing.stderr


def test_usage_errors_exit_2(sandbox: Sandbox) -> None:
    result = preview(sandbox, "down", "--repo", "not a repo", "--pr", "1", code=2)
    assert result.stderr.startswith("error: ")
    result = preview(sandbox, "up", "--config", str(APP), "--repo", "example/app", code=2)
    assert "--pr" in result.stderr and "--sha" in result.stderr
    assert textwrap.dedent(preview(sandbox, "up", "--help").stdout).count("Examples:") == 1


def test_down_finds_the_pull_request_in_the_closed_event(sandbox: Sandbox,
                                                         tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"action": "closed", "pull_request": {
        "number": 11, "state": "closed", "merged": True, "title": "t",
        "head": {"sha": SHA1, "ref": "feature", "repo": {"full_name": "example/app"}},
        "base": {"repo": {"full_name": "example/app"}}, "user": {"login": "octocat"}}}))
    result = subprocess.run(
        [sys.executable, "-m", "preview", "down", "--kubeconfig", sandbox.kubeconfig],
        capture_output=True, text=True, timeout=60,
        env={**os.environ, "GITHUB_EVENT_PATH": str(event), "GITHUB_EVENT_NAME": "pull_request"})
    assert result.returncode == 0, result.stderr
    assert "environment pr-11 does not exist: nothing to tear down" in result.stdout
