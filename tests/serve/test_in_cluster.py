"""`charts/preview-platform` installed on the host sandbox with the real helm: the sandbox's
kubelet runs its `preview serve` pod (`preview/sandbox/platform/`) as the chart's
ServiceAccount, with the chart's policy ConfigMap and issuer CA mounted, Ready from its
/readyz. The action (`preview action`, its entry point) in API mode, with a token of the
local OIDC issuer, reaches it through a `kubectl port-forward` to its Service, and so does
`preview kubeconfig --api` for a developer, with the policy's `loadbalancer` exposure.

So the chart's RBAC is tried for real: a rule the API needs and the ClusterRole lacks is a
Forbidden from the sandbox's authorizer, and this test fails."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import threading
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml
from kubernetes import client

from preview import naming
from preview.sandbox.oidc import ActionsRuntime, OidcIssuer
from preview.sandbox.runner import Sandbox
from preview.tools import find_tool
from tests.conftest import KubectlRunner, tool_runner, wait_for
from tests.e2e.runner import Step, pull_request_event
from tests.e2e.test_github_flow import TOKEN, make_fake
from tests.fakegithub.server import FakeGitHub
from tests.operations.test_environments import SHA1
from tests.serve import healthy
from tests.serve.test_developer_kubeconfig import through_tunnel

pytestmark = [pytest.mark.sandbox, pytest.mark.tools]
ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "preview-platform"
AUDIENCE = "preview-sandbox-in-cluster"
NAMESPACE, RELEASE = "preview-platform", "platform"
NAME = f"{RELEASE}-preview-platform"  # the chart's fullname for this release
PR = 71
DEVELOPER_TOKEN = "alice-token"
T = TypeVar("T")


@dataclass
class InCluster:
    """The chart's API reached through a port-forward, and the Actions runtime's endpoint."""

    api_url: str
    runtime: ActionsRuntime
    kubectl: KubectlRunner
    github: FakeGitHub


def _forwarded_port(output: Path) -> int | None:
    """The local port `kubectl port-forward` says it listens on, once it said it."""
    found = re.search(r"Forwarding from 127\.0\.0\.1:(\d+)", output.read_text())
    return int(found.group(1)) if found else None


@pytest.fixture(scope="module")
def in_cluster(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory
               ) -> Iterator[InCluster]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    def run(coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, loop).result(30)

    issuer = run(OidcIssuer(audience=AUDIENCE).start())
    runtime = run(ActionsRuntime(issuer).start())
    kubectl = tool_runner("kubectl", sandbox.kubeconfig, 60)
    helm = tool_runner("helm", sandbox.kubeconfig, 300)
    workdir = tmp_path_factory.mktemp("platform")
    values = workdir / "values.yaml"
    # GitHub, for the action's comment and for the developers' logins (the API asks it).
    github = make_fake("example/app", PR, SHA1)
    github.add_token(DEVELOPER_TOKEN, "alice", user_id=11)
    github.set_role("example/app", "alice", "write")
    values.write_text(yaml.safe_dump({
        "policy": {"repositories": ["example/*"],
                   "api": {"issuer": issuer.url, "audience": AUDIENCE},
                   # Developers reach the virtual API at its LoadBalancer Service's address.
                   "developers": {"githubApiUrl": github.url, "exposure": "loadbalancer"},
                   "vcluster": {"service": {"type": "LoadBalancer"}}},
        "issuerCA": {"configMap": "oidc-issuer-ca", "key": "ca.crt"},
        "api": {"terminationGracePeriodSeconds": 30}}))
    forward: subprocess.Popen[bytes] | None = None
    github.__enter__()
    try:
        kubectl("create", "namespace", NAMESPACE)
        kubectl("create", "configmap", "oidc-issuer-ca", "-n", NAMESPACE,
                f"--from-file=ca.crt={issuer.ca_file}")
        # --wait: helm itself waits for the Deployment to be ready (its pod's /readyz).
        helm("install", RELEASE, str(CHART), "-n", NAMESPACE, "-f", str(values), "--wait",
             "--timeout", "4m")
        # Its output to a file: it writes a line per connection, which a pipe nobody reads
        # would hold until it blocks.
        output = workdir / "port-forward.log"
        with output.open("w") as out:
            forward = subprocess.Popen(
                [str(find_tool("kubectl")), "--kubeconfig", sandbox.kubeconfig,
                 "port-forward", "-n", NAMESPACE, f"service/{NAME}", ":80"],
                stdout=out, stderr=subprocess.STDOUT)
        port = wait_for(lambda: _forwarded_port(output) or forward.poll() is not None,
                        timeout=30, what="kubectl port-forward to listen")
        assert forward.poll() is None, output.read_text()
        api_url = f"http://127.0.0.1:{port}"
        wait_for(lambda: healthy(api_url), timeout=30, what="the API through the forward")
        yield InCluster(api_url, runtime, kubectl, github)
    finally:
        github.__exit__(None, None, None)
        if forward is not None:
            forward.terminate()
            forward.wait(timeout=30)
        helm("uninstall", RELEASE, "-n", NAMESPACE, "--wait", "--timeout", "2m", check=False)
        kubectl("delete", "namespace", NAMESPACE, "--wait=false", check=False)
        run(runtime.stop())
        run(issuer.stop())
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


def developer_kubeconfig(platform: InCluster, sandbox: Sandbox, env: naming.Environment,
                         core: client.CoreV1Api, kubectl_path: str, tmp_path: Path) -> None:
    """`preview kubeconfig --api` as a developer with `write` (GitHub says so): the server is
    the virtual API's LoadBalancer address (the policy's exposure), the credential a token
    inside the virtual cluster, and it lists the app's pods (through a tunnel: the sandbox
    cannot route to a load balancer's address)."""
    environ = {k: v for k, v in os.environ.items()
               if not k.startswith(("GITHUB_", "KUBECONFIG", "PREVIEW_", "ACTIONS_"))}
    environ.update(PATH="/nonexistent", GITHUB_TOKEN=DEVELOPER_TOKEN)  # no `gh` to ask
    output = tmp_path / "developer.kubeconfig"
    result = subprocess.run([sys.executable, "-m", "preview", "kubeconfig", "--api",
                             platform.api_url, "--repo", "example/app", "--pr", str(PR),
                             "--file", str(output)], env=environ, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr + result.stdout
    returned = yaml.safe_load(output.read_text())
    service = core.read_namespaced_service(env.vcluster, env.namespace)
    address = service.status.load_balancer.ingress[0].ip
    assert address and returned["clusters"][0]["cluster"]["server"] == f"https://{address}:443"
    [user] = returned["users"]
    assert set(user["user"]) == {"token"}
    [listed] = through_tunnel(sandbox, env, returned, kubectl_path, tmp_path / "used.kubeconfig",
                              ("get", "pods", "-n", "default", "-o", "name"))
    assert listed.returncode == 0 and "pod/" in listed.stdout, listed.stderr


def test_the_action_in_api_mode_creates_and_deletes_through_the_chart(
        in_cluster: InCluster, sandbox: Sandbox, api_client: client.ApiClient,
        kubectl_path: str, tmp_path: Path) -> None:
    """The action's own entry point on pull_request `opened` then `closed`, as in API mode on
    a runner: no host credential, the job's OIDC token from the Actions runtime (GitHub is
    the fake: the comment and outputs as in kubeconfig mode); in between, a developer's
    kubeconfig from the same API."""
    core = client.CoreV1Api(api_client)
    env = naming.environment_for("example", "app", PR)
    fake = in_cluster.github
    opened = Step.create(tmp_path / "opened",
                         pull_request_event("opened", "example/app", PR, SHA1))
    environ = opened.environ(fake.url, "example/app")
    environ.update({"INPUT_API_URL": in_cluster.api_url, "INPUT_AUDIENCE": AUDIENCE,
                    "INPUT_GITHUB_TOKEN": TOKEN, "INPUT_CONFIG": "examples/app/preview.yaml",
                    "ACTIONS_ID_TOKEN_REQUEST_URL": in_cluster.runtime.url("example/app",
                                                                           PR),
                    "ACTIONS_ID_TOKEN_REQUEST_TOKEN": in_cluster.runtime.secret})
    environ.pop("KUBECONFIG", None)
    result = subprocess.run([sys.executable, "-m", "preview", "action"], env=environ,
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr + result.stdout
    assert opened.outputs()["status"] == "ready", result.stderr
    assert opened.outputs()["url"] == f"http://pr-{PR}-app.localhost:" \
        f"{sandbox.ingress_http_port}"
    assert "checking the chart" in result.stdout + result.stderr  # the API's progress
    [comment] = fake.comments("example/app", PR)
    assert "is ready" in comment["body"]
    namespace = core.read_namespace(env.namespace)
    assert namespace.metadata.labels[naming.MANAGED_BY] == naming.MANAGED_BY_VALUE
    # The API in the chart's pod made it: its audit line is in that pod's log.
    logs = in_cluster.kubectl("logs", "-n", NAMESPACE, f"deployment/{NAME}").stdout
    assert any('"audit": "create"' in line and '"repository": "example/app"' in line
               and '"outcome": "ready"' in line for line in logs.splitlines()), logs

    developer_kubeconfig(in_cluster, sandbox, env, core, kubectl_path, tmp_path)

    closed = Step.create(tmp_path / "closed",
                         pull_request_event("closed", "example/app", PR, SHA1,
                                            state="closed"))
    environ.update(GITHUB_EVENT_PATH=str(closed.event_path),
                   GITHUB_OUTPUT=str(closed.output_path))
    result = subprocess.run([sys.executable, "-m", "preview", "action"], env=environ,
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr + result.stdout
    wait_for(lambda: env.namespace not in {n.metadata.name for n in core.list_namespace().items},
             timeout=60, what="the environment's namespace to go")
