"""charts/preview-platform's ClusterRoles are enough: `preview up`, `down`, `gc` and `sleep
--idle` run on a host sandbox as the chart's own ServiceAccounts, with tokens the sandbox
issued them.

The sandbox's RBAC authorizer is real, so a verb missing from a rule is a 403 here. Its
escalation check on Roles is not (docs/sandbox.md): that one is covered by
test_platform_chart.py's comparison with the syncer's rules.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import signal
import socket
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client

from preview import naming
from preview.kube.connection import SERVICE_ACCOUNT_DIR
from preview.sandbox.runner import Sandbox
from tests.charts.test_vcluster_chart import helm
from tests.conftest import tool_runner, wait_for
from tests.gc.hostenvs import Spec, make, rfc3339

pytestmark = [pytest.mark.sandbox, pytest.mark.tools]
ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "preview-platform"
APP = ROOT / "examples" / "app" / "preview.yaml"
RELEASE, NAMESPACE = "rbac-check", "preview-platform-rbac"
NAME = f"{RELEASE}-preview-platform"


def as_account(sb: Sandbox, core: client.CoreV1Api, account: str, directory: Path) -> Path:
    """A kubeconfig for the sandbox whose user is `account`'s token, nothing else."""
    token = core.create_namespaced_service_account_token(
        account, NAMESPACE, {"spec": {"expirationSeconds": 3600}}).status.token
    doc: dict[str, Any] = yaml.safe_load(Path(sb.kubeconfig).read_text())
    doc["users"] = [{"name": account, "user": {"token": token}}]
    for ctx in doc["contexts"]:
        ctx["context"]["user"] = account
    path = directory / f"{account}.kubeconfig"
    path.write_text(yaml.safe_dump(doc))
    path.chmod(0o600)
    return path


@pytest.fixture(scope="module")
def accounts(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory
             ) -> tuple[Path, Path, Path]:
    """The chart's ServiceAccounts, ClusterRoles and bindings on the sandbox (nothing else:
    the pods would run the image); kubeconfigs of the API's, the GC's and the sleep pass's
    account."""
    rendered = helm("template", RELEASE, str(CHART), "--namespace", NAMESPACE,
                    "--show-only", "templates/serviceaccount.yaml",
                    "--show-only", "templates/rbac.yaml", "--show-only", "templates/gc-rbac.yaml",
                    "--show-only", "templates/sleep-rbac.yaml")
    assert rendered.returncode == 0, rendered.stderr
    kubectl = tool_runner("kubectl", sandbox.kubeconfig, 60)
    kubectl("create", "namespace", NAMESPACE)
    kubectl("apply", "-f", "-", input=rendered.stdout)
    directory = tmp_path_factory.mktemp("platform-rbac")
    with client.ApiClient(_admin(sandbox)) as api:
        core = client.CoreV1Api(api)
        return (as_account(sandbox, core, NAME, directory),
                as_account(sandbox, core, f"{NAME}-gc", directory),
                as_account(sandbox, core, f"{NAME}-sleep", directory))


def _admin(sb: Sandbox) -> client.Configuration:
    from kubernetes import config

    configuration = client.Configuration()
    config.load_kube_config(sb.kubeconfig, client_configuration=configuration)
    return configuration


def preview(kubeconfig: Path, *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([sys.executable, "-m", "preview", *args, "--kubeconfig",
                             str(kubeconfig)], capture_output=True, text=True, timeout=300,
                            env={"PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin",
                                 "HOME": str(kubeconfig.parent)})
    assert result.returncode == 0, f"preview {' '.join(args)}:\n{result.stderr}{result.stdout}"
    assert "Forbidden" not in result.stderr and "forbidden" not in result.stderr, result.stderr
    return result


def app_uninstalled(result: subprocess.CompletedProcess[str]) -> None:
    """The teardown reached the app inside the virtual cluster (a port-forward): a failure
    there is only a progress line, as the virtual cluster's deletion removes the app too."""
    output = result.stdout + result.stderr
    assert "helm uninstall app" in output and "could not uninstall" not in output, output


def up(kubeconfig: Path, repo: str, pr: int, *args: str) -> dict[str, Any]:
    out = preview(kubeconfig, "up", "--config", str(APP), "--repo", repo, "--pr", str(pr),
                  "--sha", "1a2b3c4d" * 5, "-o", "json", *args).stdout
    result: dict[str, Any] = json.loads(out)
    assert result["status"] == "ready", result
    return result


def test_the_api_account_runs_up_and_down(accounts: tuple[Path, Path, Path],
                                          api_client: client.ApiClient) -> None:
    api, _, _ = accounts
    core = client.CoreV1Api(api_client)
    env = naming.environment_for("platform", "rbac", 1)
    up(api, "platform/rbac", 1)
    assert core.read_namespace(env.namespace).metadata.labels[naming.MANAGED_BY]
    app_uninstalled(preview(api, "down", "--repo", "platform/rbac", "--pr", "1"))
    names = {ns.metadata.name for ns in core.list_namespace().items}
    assert env.namespace not in names


def test_the_gc_account_deletes_what_up_made(accounts: tuple[Path, Path, Path],
                                             api_client: client.ApiClient) -> None:
    """An expired environment made by `up` (the API's account), and a namespace stuck
    Terminating behind a finalizer of ours: the GC's account removes both."""
    api, gc, _ = accounts
    core, apps = client.CoreV1Api(api_client), client.AppsV1Api(api_client)
    env = naming.environment_for("platform", "gc", 2)
    up(api, "platform/gc", 2)
    now = dt.datetime.now(dt.UTC)
    core.patch_namespace(env.namespace, {"metadata": {"annotations": {
        naming.EXPIRES_AT: rfc3339(now - dt.timedelta(hours=1))}}})
    stuck = Spec("platform/gc", 3, healthy=False, stuck=True)
    make(core, apps, stuck, now)
    # No grace: the stuck namespace began its deletion a moment ago.
    result = preview(gc, "-v", "gc", "--repo", "platform/gc", "--older-than", "0s", "-o", "json")
    app_uninstalled(result)
    outcomes = {o["namespace"]: o for o in json.loads(result.stdout)["environments"]}
    for namespace in (env.namespace, stuck.namespace):
        assert outcomes[namespace]["outcome"] == "deleted", outcomes[namespace]

    def gone() -> bool:
        names = {ns.metadata.name for ns in core.list_namespace().items}
        return not {env.namespace, stuck.namespace} & names
    wait_for(gone, timeout=60)


def test_the_sleep_account_puts_an_idle_environment_to_sleep(
        accounts: tuple[Path, Path, Path], api_client: client.ApiClient,
        tmp_path: Path) -> None:
    """The CronJob's `preview sleep --idle` as its own account: an environment `up` made
    (persistent control plane, idle past a 1s sleepAfter) ends with no pod on the host."""
    api, _, sleeper = accounts
    core = client.CoreV1Api(api_client)
    policy = tmp_path / "policy.yaml"
    policy.write_text("vcluster:\n  persistence:\n    enabled: true\nsleepAfter: 1s\n")
    env = naming.environment_for("platform", "sleep", 4)
    up(api, "platform/sleep", 4, "--policy", str(policy))
    selector = f"{naming.REPO}={naming.repo_label('platform', 'sleep')}"
    result = preview(sleeper, "sleep", "--idle", "--policy", str(policy), "-l", selector,
                     "-o", "json")
    assert [(o["namespace"], o["action"]) for o in json.loads(result.stdout)] == [
        (env.namespace, "slept")], result.stderr
    assert core.list_namespaced_pod(env.namespace).items == []
    notes = core.read_namespace(env.namespace).metadata.annotations
    assert notes[naming.ASLEEP_SINCE]
    preview(api, "down", "--repo", "platform/sleep", "--pr", "4")  # asleep: no app to reach


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_api_pod_command_serves_as_its_service_account(
        sandbox: Sandbox, accounts: tuple[Path, Path], tmp_path: Path) -> None:
    """The Deployment's command, arguments, environment and ConfigMap, run here with the pod's
    paths moved under tmp_path and the ServiceAccount's files made from a sandbox token:
    `preview serve` starts, /readyz reaches the host API as that account, SIGTERM stops it."""
    values = ["--set", "policy.repositories={octo-org/*}",
              "--set", "policy.api.audience=https://preview-api.example.com"]
    rendered = helm("template", RELEASE, str(CHART), "--namespace", NAMESPACE, *values)
    assert rendered.returncode == 0, rendered.stderr
    docs = [d for d in yaml.safe_load_all(rendered.stdout) if d]
    data = next(d for d in docs if d["kind"] == "ConfigMap")["data"]
    pod = next(d for d in docs if d["kind"] == "Deployment")["spec"]["template"]["spec"]
    [container] = pod["containers"]
    admin: dict[str, Any] = yaml.safe_load(Path(sandbox.kubeconfig).read_text())
    token = yaml.safe_load(accounts[0].read_text())["users"][0]["user"]["token"]
    sa = tmp_path / "serviceaccount"
    sa.mkdir()
    (sa / "token").write_text(token)
    (sa / "ca.crt").write_bytes(base64.b64decode(
        admin["clusters"][0]["cluster"]["certificate-authority-data"]))
    port = free_port()
    moves = {str(SERVICE_ACCOUNT_DIR): str(sa), "https://kubernetes.default.svc": admin[
        "clusters"][0]["cluster"]["server"], "/etc/preview": str(tmp_path / "config"),
        "/work": str(tmp_path / "work"), "/tmp": str(tmp_path / "tmp"),
        "0.0.0.0:8080": f"127.0.0.1:{port}"}

    pattern = re.compile("|".join(re.escape(k) for k in sorted(moves, key=len, reverse=True)))

    def moved(text: str) -> str:  # one pass: tmp_path itself is under /tmp
        return pattern.sub(lambda m: moves[m.group(0)], text)

    (tmp_path / "config").mkdir()
    (tmp_path / "tmp").mkdir()
    for key, text in data.items():
        (tmp_path / "config" / key).write_text(moved(text))
    assert container["command"] == ["preview"]
    env = {e["name"]: moved(e["value"]) for e in container["env"]}
    env["PATH"] = str(Path(sys.executable).parent) + ":/usr/bin:/bin"
    # What the kubelet gives every pod: the API's Service, and the ServiceAccount's files
    # (moved: PREVIEW_SERVICE_ACCOUNT_DIR is the one seam). No kubeconfig anywhere.
    server = urllib.parse.urlsplit(admin["clusters"][0]["cluster"]["server"])
    env.update(KUBERNETES_SERVICE_HOST=str(server.hostname),
               KUBERNETES_SERVICE_PORT=str(server.port), PREVIEW_SERVICE_ACCOUNT_DIR=str(sa))
    assert "KUBECONFIG" not in env
    process = subprocess.Popen([sys.executable, "-m", "preview", *map(moved, container["args"])],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    try:
        def ready() -> bool:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as r:
                    return bool(r.status == 200)
            except OSError:
                assert process.poll() is None, process.communicate()
                return False
        wait_for(ready, timeout=30)
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "stopping: waiting for running operations" in err
    assert (tmp_path / "work" / "bundles").stat().st_mode & 0o777 == 0o700
