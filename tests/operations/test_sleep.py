"""`preview sleep` / `preview wake` on a host sandbox, as a user runs them.

The example app (two replicas) with a persistent control plane: sleep leaves no pod of the
environment on the host — neither the tenant's nor the control plane's — and `preview list`
says `asleep`; wake brings the control plane back with its data (the k3s stand-in keeps its
state in its data directory, on the claim), the Deployment with its two replicas, and the URL
answers again.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from preview import naming
from preview.kube.client import KubeClient
from preview.kube.resources import DAEMONSETS, PODS
from preview.sandbox.runner import Sandbox
from tests.conftest import wait_for
from tests.fakegithub import FakeGitHub
from tests.operations.test_environments import (
    DEPLOYMENTS,
    ROOT,
    SHA1,
    fetch,
    preview,
    up,
    virtual,
)

pytestmark = [pytest.mark.sandbox, pytest.mark.tools]


def persistent_policy(tmp_path: Path) -> Path:
    """A platform policy that keeps every control plane's data on a claim."""
    policy = tmp_path / "policy.yaml"
    policy.write_text("vcluster:\n  persistence:\n    enabled: true\n")
    return policy


def listed_status(sb: Sandbox, repo: str = "example/sleepy") -> str:
    rows = json.loads(preview(sb, "list", "--repo", repo, "-o", "json").stdout)
    return str(rows[0]["status"])


def test_sleep_leaves_no_pod_on_the_host_and_wake_restores_the_replicas(
        sandbox: Sandbox, api_client: client.ApiClient, tmp_path: Path) -> None:
    core = client.CoreV1Api(api_client)
    env = naming.environment_for("example", "sleepy", 7)
    result = up(sandbox, ROOT / "examples" / "app" / "preview.yaml", "example/sleepy", 7, SHA1,
                "--set", "replicaCount=2", "--policy", str(persistent_policy(tmp_path)))
    assert result["status"] == "ready", result
    assert len(core.list_namespaced_pod(env.namespace).items) == 3  # control plane + 2

    slept = json.loads(preview(sandbox, "sleep", "--repo", "example/sleepy", "--pr", "7",
                               "-o", "json").stdout)
    assert [(r["state"], r["changed"]) for r in slept] == [("asleep", True)]
    assert "deployment/default/app" in slept[0]["workloads"]
    assert core.list_namespaced_pod(env.namespace).items == []
    assert listed_status(sandbox) == "asleep"
    claims = core.list_namespaced_persistent_volume_claim(env.namespace).items
    assert [c.status.phase for c in claims] == ["Bound"]  # the data stays
    # again, by a label selector (`-l`, as for many): already asleep, nothing changes
    selector = f"{naming.REPO}={naming.repo_label('example', 'sleepy')}"
    again = json.loads(preview(sandbox, "sleep", "-l", selector, "-o", "json").stdout)
    assert [(r["environment"], r["state"], r["changed"]) for r in again] == [
        ("pr-7", "asleep", False)]

    woken = json.loads(preview(sandbox, "wake", "--repo", "example/sleepy", "--pr", "7",
                               "-o", "json").stdout)
    assert [(r["state"], r["changed"]) for r in woken] == [("ready", True)]
    assert listed_status(sandbox) == "ready"

    async def deployment(kube: KubeClient, _: Path) -> Any:
        return await kube.get(DEPLOYMENTS, "default", "app")
    app = virtual(sandbox, env, deployment)
    assert app["spec"]["replicas"] == 2 and app["status"]["readyReplicas"] == 2
    assert naming.SLEEP_REPLICAS not in (app["metadata"].get("annotations") or {})
    wait_for(lambda: fetch(result["url"], sandbox.ingress_http_port)[0] == 200, timeout=30,
             what="the app to answer after waking")
    preview(sandbox, "down", "--repo", "example/sleepy", "--pr", "7")


def test_the_pull_request_hears_asleep_and_ready_only_with_a_token(
        sandbox: Sandbox, tmp_path: Path) -> None:
    """The sticky comment and the deployment status follow sleep and wake (with the cost so
    far, the policy having rates) when GITHUB_TOKEN is given; without one the environment
    sleeps all the same and the result says the pull request was not told."""
    policy = tmp_path / "policy.yaml"
    policy.write_text("vcluster:\n  persistence:\n    enabled: true\n"
                      "cost:\n  currency: EUR\n  cpuHour: 1000\n  memoryGiBHour: 1000\n")
    base = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "GH_"))}
    pr = ["--repo", "example/told", "--pr", "10"]

    def run(*args: str, token: bool) -> dict[str, Any]:
        env = {**base, "GITHUB_TOKEN": "ghp_told", "GITHUB_API_URL": fake.url} if token \
            else base
        done = subprocess.run([sys.executable, "-m", "preview", *args, "--kubeconfig",
                               sandbox.kubeconfig, "-o", "json"], capture_output=True,
                              text=True, timeout=240, env=env)
        assert done.returncode == 0, done.stderr + done.stdout
        parsed = json.loads(done.stdout)
        return dict(parsed[0] if isinstance(parsed, list) else parsed)

    def comment() -> str:
        [body] = [c["body"] for c in fake.comments("example/told", 10)]
        return str(body)

    def latest_status() -> dict[str, Any]:
        [deployment] = fake.deployments("example/told")
        return dict(deployment["_statuses"][-1])

    with FakeGitHub() as fake:
        fake.add_token("ghp_told", login="preview-bot")
        fake.add_repo("example/told")
        fake.add_pull("example/told", 10, head_sha=SHA1)
        result = run("up", "--config", str(ROOT / "examples" / "app" / "preview.yaml"), *pr,
                     "--sha", SHA1, "--policy", str(policy), token=True)
        assert result["status"] == "ready", result
        assert result["cost"].endswith(" EUR so far"), result  # the first hour: no day rate
        assert "is ready" in comment() and "| Cost | " in comment()
        assert latest_status()["state"] == "success"

        slept = run("sleep", *pr, "--policy", str(policy), token=False)
        assert (slept["state"], slept["pull_request"]) == ("asleep", "not told (no GitHub token)")
        assert "is ready" in comment()  # nobody told it
        woken = run("wake", *pr, "--policy", str(policy), token=True)
        assert (woken["state"], woken["pull_request"]) == ("ready", "told")
        assert latest_status()["description"] == "preview environment ready (woken up)"

        slept = run("sleep", *pr, "--policy", str(policy), token=True)
        assert (slept["state"], slept["pull_request"]) == ("asleep", "told")
        assert "is asleep" in comment() and "preview wake --repo example/told --pr 10" in comment()
        assert "Cost: " in comment() and "EUR so far" in comment()
        status = latest_status()
        assert status["state"] == "success"  # `inactive` would show it destroyed
        assert status["description"].startswith("asleep since ")
        assert status["environment_url"] == result["url"]
    preview(sandbox, "down", *pr)


def test_a_daemonset_is_off_the_host_while_asleep_and_back_as_it_was(
        sandbox: Sandbox, api_client: client.ApiClient, tmp_path: Path) -> None:
    """A DaemonSet has no replicas: sleep points its template at no node, so the virtual
    controller deletes its pods and the syncer their host copies; wake restores the
    template exactly and its pods come back."""
    core = client.CoreV1Api(api_client)
    env = naming.environment_for("example", "daemon", 12)
    pr = ["--repo", "example/daemon", "--pr", "12"]
    result = up(sandbox, ROOT / "examples" / "app" / "preview.yaml", "example/daemon", 12, SHA1,
                "--policy", str(persistent_policy(tmp_path)))
    assert result["status"] == "ready", result
    labels = {"app": "log-agent"}

    async def add_daemonset(kube: KubeClient, _: Path) -> Any:
        return await kube.create(DAEMONSETS, "default", {
            "metadata": {"name": "log-agent"},
            "spec": {"selector": {"matchLabels": labels}, "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "agent", "image": "busybox:1.36"}]}}}})
    virtual(sandbox, env, add_daemonset)

    def agents() -> list[Any]:
        return [p for p in core.list_namespaced_pod(env.namespace).items
                if (p.metadata.annotations or {}).get(naming.VIRTUAL_NAME_ANNOTATION, "")
                .startswith("log-agent-")]
    wait_for(lambda: len(agents()) >= 1, timeout=60, what="the DaemonSet's pod on the host")

    slept = json.loads(preview(sandbox, "sleep", *pr, "-o", "json").stdout)
    assert "daemonset/default/log-agent" in slept[0]["workloads"]
    assert core.list_namespaced_pod(env.namespace).items == []

    preview(sandbox, "wake", *pr)
    wait_for(lambda: len(agents()) >= 1, timeout=60, what="the DaemonSet's pod back")

    async def daemonset(kube: KubeClient, _: Path) -> Any:
        return await kube.get(DAEMONSETS, "default", "log-agent")
    woken = virtual(sandbox, env, daemonset)
    assert not woken["spec"]["template"]["spec"].get("nodeSelector")  # as it was: none
    assert naming.SLEEP_NODE_SELECTOR not in (woken["metadata"].get("annotations") or {})
    preview(sandbox, "down", *pr)


def test_sleep_refuses_an_environment_with_a_bare_pod_and_changes_nothing(
        sandbox: Sandbox, api_client: client.ApiClient, tmp_path: Path) -> None:
    """A pod no workload controls could only be deleted, and nothing would bring it back on
    wake: sleep names it and stops before touching anything."""
    core = client.CoreV1Api(api_client)
    env = naming.environment_for("example", "bare", 11)
    result = up(sandbox, ROOT / "examples" / "app" / "preview.yaml", "example/bare", 11, SHA1,
                "--policy", str(persistent_policy(tmp_path)))
    assert result["status"] == "ready", result

    async def add_bare_pod(kube: KubeClient, _: Path) -> Any:
        return await kube.create(PODS, "default", {
            "metadata": {"name": "debug-shell"},
            "spec": {"containers": [{"name": "shell", "image": "busybox:1.36"}]}})
    virtual(sandbox, env, add_bare_pod)
    wait_for(lambda: len(core.list_namespaced_pod(env.namespace).items) == 3, timeout=60,
             what="the bare pod's host copy")  # control plane, the app, the bare pod

    refused = preview(sandbox, "sleep", "--repo", "example/bare", "--pr", "11", code=2)
    assert "bare pods): default/debug-shell" in refused.stderr, refused.stderr
    assert "nothing was changed" in refused.stderr
    assert len(core.list_namespaced_pod(env.namespace).items) == 3
    assert listed_status(sandbox, "example/bare") == "ready"
    # The scheduled pass keeps it, saying why, and does not fail (exit 0) for it.
    idle = tmp_path / "idle.yaml"
    idle.write_text("vcluster:\n  persistence:\n    enabled: true\nsleepAfter: 1s\n")
    [kept] = json.loads(preview(sandbox, "sleep", "--idle", "--policy", str(idle), "-l",
                                f"{naming.REPO}=example.bare", "-o", "json").stdout)
    assert kept["action"] == "kept", kept
    assert kept["reason"].startswith(f"cannot sleep: environment {env.name} runs pods that no "
                                      "workload controls"), kept

    async def app(kube: KubeClient, _: Path) -> Any:
        return await kube.get(DEPLOYMENTS, "default", "app")
    deployment = virtual(sandbox, env, app)
    assert deployment["spec"]["replicas"] == 1
    assert naming.SLEEP_REPLICAS not in (deployment["metadata"].get("annotations") or {})
    preview(sandbox, "down", "--repo", "example/bare", "--pr", "11")


def test_sleep_refuses_a_control_plane_without_persistent_data(sandbox: Sandbox) -> None:
    result = up(sandbox, ROOT / "examples" / "app" / "preview.yaml", "example/awake", 8, SHA1)
    assert result["status"] == "ready", result
    refused = preview(sandbox, "sleep", "--repo", "example/awake", "--pr", "8", code=2)
    assert "persistence.enabled is false" in refused.stderr
    assert "vcluster: {persistence: {enabled: true}}" in refused.stderr  # the fix
    preview(sandbox, "down", "--repo", "example/awake", "--pr", "8")


def idle_pass(sb: Sandbox, policy: Path) -> dict[str, dict[str, str]]:
    out = preview(sb, "sleep", "--idle", "--policy", str(policy), "-l",
                  f"{naming.REPO}=example.idle", "-o", "json").stdout
    return {o["namespace"]: o for o in json.loads(out)}


def test_an_idle_environment_sleeps_after_sleep_after_unless_kept_and_a_push_wakes_it(
        sandbox: Sandbox, api_client: client.ApiClient, tmp_path: Path) -> None:
    core = client.CoreV1Api(api_client)
    env = naming.environment_for("example", "idle", 9)
    policy = tmp_path / "policy.yaml"
    policy.write_text("vcluster:\n  persistence:\n    enabled: true\nsleepAfter: 1s\n"
                      "keepAwakeLabel: keep-awake\n")
    config = ROOT / "examples" / "app" / "preview.yaml"
    assert up(sandbox, config, "example/idle", 9, SHA1, "--policy", str(policy))["status"] \
        == "ready"
    core.patch_namespace(env.namespace, {"metadata": {"labels": {"keep-awake": "true"}}})
    # Kept: however long it has been idle, the label keeps it awake.
    kept = wait_for(lambda: (o := idle_pass(sandbox, policy)[env.namespace])["action"] == "kept"
                    and "active" not in o["reason"] and o, timeout=60, interval=1,
                    what="an idle pass past sleepAfter")
    assert kept["reason"] == "labelled keep-awake=true"
    assert len(core.list_namespaced_pod(env.namespace).items) == 2
    assert listed_status(sandbox, "example/idle") == "ready"

    core.patch_namespace(env.namespace, {"metadata": {"labels": {"keep-awake": None}}})
    slept = idle_pass(sandbox, policy)[env.namespace]  # idle for more than 1s already
    assert slept["action"] == "slept" and "no activity for" in slept["reason"], slept
    assert core.list_namespaced_pod(env.namespace).items == []
    assert listed_status(sandbox, "example/idle") == "asleep"
    assert idle_pass(sandbox, policy)[env.namespace]["action"] == "kept"  # asleep already

    # A push wakes it first, then upgrades it as usual.
    woken = up(sandbox, config, "example/idle", 9, SHA1, "--policy", str(policy))
    assert woken["status"] == "ready", woken
    assert listed_status(sandbox, "example/idle") == "ready"
    assert len(core.list_namespaced_pod(env.namespace).items) == 2
    preview(sandbox, "down", "--repo", "example/idle", "--pr", "9")
