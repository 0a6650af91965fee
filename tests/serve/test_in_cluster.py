"""`charts/preview-platform` installed on the host sandbox with the real helm: the sandbox's
kubelet runs its `preview serve` pod (`preview/sandbox/platform/`) as the chart's
ServiceAccount, with the chart's policy ConfigMap and issuer CA mounted, Ready from its
/readyz. `preview up --api` and `down --api`, as the action runs them in API mode with a
token of the local OIDC issuer, reach it through a `kubectl port-forward` to its Service.

So the chart's RBAC is tried for real: a rule the API needs and the ClusterRole lacks is a
Forbidden from the sandbox's authorizer, and the environment is not created."""

from __future__ import annotations

import asyncio
import json
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
from tests.operations.test_environments import SHA1
from tests.serve import healthy

pytestmark = [pytest.mark.sandbox, pytest.mark.tools]
ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "preview-platform"
AUDIENCE = "preview-sandbox-in-cluster"
NAMESPACE, RELEASE = "preview-platform", "platform"
NAME = f"{RELEASE}-preview-platform"  # the chart's fullname for this release
T = TypeVar("T")


@dataclass
class InCluster:
    """The chart's API reached through a port-forward, and the Actions runtime's endpoint."""

    api_url: str
    runtime: ActionsRuntime
    kubectl: KubectlRunner


def _forwarded_port(process: subprocess.Popen[str]) -> int:
    """The local port `kubectl port-forward` says it listens on (its first stdout line)."""
    assert process.stdout is not None
    line = process.stdout.readline()
    found = re.search(r"Forwarding from 127\.0\.0\.1:(\d+)", line)
    assert found, f"kubectl port-forward said {line!r}"
    return int(found.group(1))


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
    values = tmp_path_factory.mktemp("platform") / "values.yaml"
    values.write_text(yaml.safe_dump({
        "policy": {"repositories": ["example/*"],
                   "api": {"issuer": issuer.url, "audience": AUDIENCE}},
        "issuerCA": {"configMap": "oidc-issuer-ca", "key": "ca.crt"},
        "api": {"terminationGracePeriodSeconds": 30}}))
    kubectl("create", "namespace", NAMESPACE)
    kubectl("create", "configmap", "oidc-issuer-ca", "-n", NAMESPACE,
            f"--from-file=ca.crt={issuer.ca_file}")
    forward: subprocess.Popen[str] | None = None
    try:
        # --wait: helm itself waits for the Deployment to be ready (its pod's /readyz).
        helm("install", RELEASE, str(CHART), "-n", NAMESPACE, "-f", str(values), "--wait",
             "--timeout", "4m")
        forward = subprocess.Popen(
            [str(find_tool("kubectl")), "--kubeconfig", sandbox.kubeconfig, "port-forward",
             "-n", NAMESPACE, f"service/{NAME}", ":80"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        api_url = f"http://127.0.0.1:{_forwarded_port(forward)}"
        wait_for(lambda: healthy(api_url), timeout=30, what="the API through the forward")
        yield InCluster(api_url, runtime, kubectl)
    finally:
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


def preview_api(platform: InCluster, *args: str, repo: str, pr: int
                ) -> subprocess.CompletedProcess[str]:
    """`preview ARGS --api URL` as the action runs it on a pull_request job: no host
    credential at all, the job's OIDC token from the Actions runtime's endpoint."""
    environ = {k: v for k, v in os.environ.items()
               if not k.startswith(("GITHUB_", "ACTIONS_", "KUBECONFIG"))}
    environ.update(ACTIONS_ID_TOKEN_REQUEST_URL=platform.runtime.url(repo, pr),
                   ACTIONS_ID_TOKEN_REQUEST_TOKEN=platform.runtime.secret)
    result = subprocess.run([sys.executable, "-m", "preview", *args, "--api", platform.api_url,
                             "--audience", AUDIENCE], env=environ, capture_output=True,
                            text=True, timeout=300, cwd=ROOT)
    assert result.returncode == 0, (result.returncode, result.stderr, result.stdout)
    return result


def test_up_and_down_through_the_api_the_chart_runs(in_cluster: InCluster, sandbox: Sandbox,
                                                    api_client: client.ApiClient) -> None:
    core = client.CoreV1Api(api_client)
    env = naming.environment_for("example", "app", 71)
    up = preview_api(in_cluster, "up", "--config", str(ROOT / "examples" / "app" /
                                                      "preview.yaml"),
                     "--repo", "example/app", "--pr", "71", "--sha", SHA1, "-o", "json",
                     repo="example/app", pr=71)
    result = json.loads(up.stdout)
    assert result["status"] == "ready", (result, up.stderr)
    assert result["url"] == f"http://pr-71-app.localhost:{sandbox.ingress_http_port}"
    assert "checking the chart" in up.stderr  # the API's progress, streamed
    namespace = core.read_namespace(env.namespace)
    assert namespace.metadata.labels[naming.MANAGED_BY] == naming.MANAGED_BY_VALUE
    # The API made it, as its own ServiceAccount: its audit line is in the pod's log.
    logs = in_cluster.kubectl("logs", "-n", NAMESPACE, f"deployment/{NAME}").stdout
    assert any('"audit": "create"' in line and '"repository": "example/app"' in line
               for line in logs.splitlines()), logs
    down = preview_api(in_cluster, "down", "--repo", "example/app", "--pr", "71",
                       repo="example/app", pr=71)
    assert "is gone" in down.stdout
    wait_for(lambda: env.namespace not in {n.metadata.name for n in core.list_namespace().items},
             timeout=60, what="the environment's namespace to go")
