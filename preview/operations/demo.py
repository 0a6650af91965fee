"""The demo behind `./dev sandbox`: `up` an example as a pull request, serve, then `down`.

Cluster-agnostic: it takes a `HostCluster` like every operation (the sandbox is started by
`preview/cli/sandbox/`, which alone imports `preview.sandbox`), so the demo is exactly
what `preview up` / `preview down` do for a user.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import subprocess
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from preview import config as configuration
from preview import naming, policy
from preview.errors import PreviewError
from preview.kube.client import AlreadyExists, KubeClient
from preview.kube.host import HostCluster
from preview.kube.portforward import PortForward
from preview.kube.resources import CONFIGMAPS, DEPLOYMENTS, NAMESPACES, PODS
from preview.operations import down, exclusive, up
from preview.pullrequest import PullRequest
from preview.results import DownResult, UpResult
from preview.vcluster.model import Progress

DEMO_OWNER, DEMO_REPO, DEMO_PR = "example", "app", 1
# The sandbox's platform policy: the defaults, with the control plane's data on a claim so
# that the demo can sleep and wake (docs/sleep.md).
DEMO_POLICY_VALUES: dict[str, Any] = {"vcluster": {"persistence": {"enabled": True}}}
DEMO_POLICY = policy.parse(DEMO_POLICY_VALUES, "the sandbox demo's policy")
# `--api`: charts/preview-platform as release `platform` in its own namespace.
PLATFORM_NAMESPACE, PLATFORM_RELEASE = "preview-platform", "platform"
PLATFORM_NAME = f"{PLATFORM_RELEASE}-preview-platform"  # the chart's fullname for the release
PLATFORM_PORT = 8080  # the API container's port (the chart's `--listen=0.0.0.0:8080`)
ISSUER_CA_CONFIGMAP = "oidc-issuer-ca"


@dataclass(frozen=True)
class DemoResult:
    up: UpResult
    down: DownResult


def checkout_head(directory: Path) -> tuple[str, str]:
    """(sha, branch) of the git checkout holding `directory`; a stand-in outside one."""
    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=directory, capture_output=True,
                                  text=True, timeout=10, check=True).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    sha = git("rev-parse", "HEAD")
    branch = git("rev-parse", "--abbrev-ref", "HEAD")
    return (sha if len(sha) == 40 else "0" * 40), (branch if branch not in ("", "HEAD")
                                                   else "main")


def demo_pull_request(example: Path) -> PullRequest:
    """PR #1 of example/app at the checkout's HEAD."""
    sha, branch = checkout_head(example)
    try:
        author = getpass.getuser()
    except (KeyError, OSError):
        author = "developer"
    return PullRequest(owner=DEMO_OWNER, repo=DEMO_REPO, number=DEMO_PR, head_sha=sha,
                       branch=branch, author=author, title="Preview of the example app")


async def demo(host: HostCluster, example: Path, progress: Progress,
               announce: Callable[[UpResult], None], stop: asyncio.Event,
               lock: exclusive.Lock) -> DemoResult:
    """`up` the example at `example` (its preview.yaml), announce, wait for `stop`, `down`
    (each holding the environment's lock as `lock` says)."""
    pr = demo_pull_request(example)
    env = naming.environment_for(pr.owner, pr.repo, pr.number)
    loaded = configuration.load(example / configuration.DEFAULT_FILE, cwd=example)
    rendered = configuration.render(loaded, pr, env, DEMO_POLICY)
    result = await up.up(host, pr, rendered, env, progress, lock=lock)
    announce(result)
    await stop.wait()
    return DemoResult(result, await down.down(host, env, progress, lock=lock))


def platform_chart() -> Path:
    """The `charts/preview-platform` shipped with this package (`preview/charts` links to the
    checkout's `charts/`)."""
    return Path(__file__).resolve().parents[1] / "charts" / "preview-platform"


def platform_values(issuer: str, audience: str) -> dict[str, Any]:
    """The chart's values for the demo: the demo's policy, logins from `issuer` for
    `audience` by repositories of the demo's owner, the issuer's CA from a ConfigMap (pure)."""
    return {"policy": {**DEMO_POLICY_VALUES, "repositories": [f"{DEMO_OWNER}/*"],
                       "api": {"issuer": issuer, "audience": audience}},
            "issuerCA": {"configMap": ISSUER_CA_CONFIGMAP, "key": "ca.crt"},
            "api": {"terminationGracePeriodSeconds": 30}}


@contextlib.asynccontextmanager
async def platform_api(host: HostCluster, values: dict[str, Any], issuer_ca_pem: bytes,
                       progress: Progress, timeout: float = 180.0) -> AsyncIterator[str]:
    """charts/preview-platform installed on `host` (namespace `PLATFORM_NAMESPACE`, the
    issuer's CA as ConfigMap `ISSUER_CA_CONFIGMAP`), its API Ready, and a port-forward to it
    while the block runs: yields the API's local URL. Left installed on the way out (the
    demo's host goes with it)."""
    async with host.client() as kube:
        progress(f"installing {PLATFORM_NAME} (charts/preview-platform) in namespace "
                 f"{PLATFORM_NAMESPACE}")
        for resource, body in (
                (NAMESPACES, {"metadata": {"name": PLATFORM_NAMESPACE}}),
                (CONFIGMAPS, {"metadata": {"name": ISSUER_CA_CONFIGMAP},
                              "data": {"ca.crt": issuer_ca_pem.decode()}})):
            with contextlib.suppress(AlreadyExists):
                namespace = None if resource is NAMESPACES else PLATFORM_NAMESPACE
                await kube.create(resource, namespace, body)
        await host.helm.install_or_upgrade(platform_chart(), PLATFORM_RELEASE,
                                           PLATFORM_NAMESPACE, values)
        progress(f"waiting for deployment {PLATFORM_NAME} to be ready")
        deadline = time.monotonic() + timeout
        while not await _api_pod(kube):
            if time.monotonic() > deadline:
                raise PreviewError(
                    f"deployment {PLATFORM_NAME} was not ready after {timeout:.0f}s",
                    f"see `kubectl -n {PLATFORM_NAMESPACE} describe deployment "
                    f"{PLATFORM_NAME}` and `kubectl -n {PLATFORM_NAMESPACE} logs "
                    f"deployment/{PLATFORM_NAME}`")
            await asyncio.sleep(0.5)

        async def find() -> str | None:
            return await _api_pod(kube)

        async with PortForward(kube, PLATFORM_NAMESPACE, find, PLATFORM_PORT) as tunnel:
            yield f"http://127.0.0.1:{tunnel.local_port}"


async def _api_pod(kube: KubeClient) -> str | None:
    """The name of a Ready pod of the API (as a Service's endpoints would pick), or None."""
    selector = (f"app.kubernetes.io/instance={PLATFORM_RELEASE},"
                "app.kubernetes.io/component=api")
    pods = await kube.list(PODS, PLATFORM_NAMESPACE, label_selector=selector)
    deployment = await kube.get(DEPLOYMENTS, PLATFORM_NAMESPACE, PLATFORM_NAME)
    if not deployment or not (deployment.get("status") or {}).get("readyReplicas"):
        return None
    for pod in pods.get("items") or []:
        conditions = (pod.get("status") or {}).get("conditions") or []
        if pod["metadata"].get("deletionTimestamp") is None and any(
                c.get("type") == "Ready" and c.get("status") == "True" for c in conditions):
            return str(pod["metadata"]["name"])
    return None
