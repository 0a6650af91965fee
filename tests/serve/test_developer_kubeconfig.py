"""A developer's kubeconfig through the API: `preview kubeconfig --api` logs in with the
developer's GitHub token (a strict fake GitHub over HTTP says who it is and their role), and
the kubeconfig holds a ServiceAccount token *inside* the virtual cluster — it lists the
app's pods with the real kubectl, reads nothing on the host, and stops working once it
expires (the virtual cluster's token clock is moved on, see auth/tokens.py)."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from preview import naming
from preview.kube.host import HostCluster
from preview.operations import kubeconfig as kubeconfig_operation
from preview.sandbox.apiserver.auth.tokens import CLOCK_FILE_ENV
from preview.sandbox.runner import Sandbox
from tests.conftest import wait_for
from tests.fakegithub.server import FakeGitHub
from tests.operations.test_environments import SHA1, up
from tests.serve import healthy
from tests.serve.test_app import free_port

pytestmark = [pytest.mark.sandbox, pytest.mark.tools]
ROOT = Path(__file__).resolve().parents[2]
REPO, PR = "example/devs", 71
EXPIRY = 600  # the policy's developers.tokenExpiry (10m: the API server's shortest)


@dataclass
class DevPlatform:
    api_url: str
    github: FakeGitHub
    log: Path
    clock: Path  # the virtual cluster's token clock: seconds ahead of the wall clock
    env: naming.Environment


def _token_clock(tmp: Path) -> Iterator[Path]:
    clock = tmp / "clock"
    clock.write_text("0")
    os.environ[CLOCK_FILE_ENV] = str(clock)
    try:
        yield clock
    finally:
        os.environ.pop(CLOCK_FILE_ENV, None)


@pytest.fixture(scope="module")
def dev_platform(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory,
                 kubectl_path: str) -> Iterator[DevPlatform]:
    workdir = tmp_path_factory.mktemp("devs")
    clocks = _token_clock(workdir)
    clock = next(clocks)
    github = FakeGitHub()
    github.add_repo(REPO, private=True)
    github.add_token("alice-token", "alice", user_id=11)
    github.add_token("rita-token", "rita", user_id=12)
    github.add_token("actions-token")  # an Actions token: GET /user is 403 for it
    github.set_role(REPO, "alice", "write")
    github.set_role(REPO, "rita", "read")
    policy = workdir / "policy.yaml"
    policy.write_text(json.dumps({
        "repositories": ["example/*"],
        # No workflow logs in here: the OIDC issuer is never asked.
        "api": {"issuer": "https://issuer.invalid", "audience": "preview-devs"},
        "developers": {"githubApiUrl": github.url, "exposure": "service",
                       "tokenExpiry": f"{EXPIRY}s"}}))
    port = free_port()
    log = workdir / "serve.log"
    env = naming.environment_for("example", "devs", PR)
    with github, log.open("w") as out:
        # The environment, made as a workflow would; its virtual cluster starts now, with
        # the token clock above.
        result = up(sandbox, ROOT / "examples" / "app" / "preview.yaml", REPO, PR, SHA1)
        assert result["status"] == "ready", result
        server = subprocess.Popen(
            [sys.executable, "-m", "preview", "serve", "--policy", str(policy), "--listen",
             f"127.0.0.1:{port}", "--kubeconfig", sandbox.kubeconfig, "--workdir",
             str(workdir / "bundles")], stdout=out, stderr=subprocess.STDOUT)
        api_url = f"http://127.0.0.1:{port}"

        try:
            wait_for(lambda: healthy(api_url), timeout=60, what="preview serve to answer")
            yield DevPlatform(api_url, github, log, clock, env)
        finally:
            server.terminate()
            server.wait(timeout=60)
            subprocess.run([sys.executable, "-m", "preview", "down", "--repo", REPO, "--pr",
                            str(PR), "--kubeconfig", sandbox.kubeconfig],
                           capture_output=True, timeout=240, check=False)
            next(clocks, None)


def get_kubeconfig(platform: DevPlatform, token: str | None, *args: str,
                   code: int = 0) -> subprocess.CompletedProcess[str]:
    """`preview kubeconfig --api` as a developer runs it: no host kubeconfig anywhere."""
    environ = {k: v for k, v in os.environ.items()
               if not k.startswith(("GITHUB_", "KUBECONFIG", "PREVIEW_"))}
    environ["PATH"] = "/nonexistent"  # no `gh` to fall back on
    if token is not None:
        environ["GITHUB_TOKEN"] = token
    result = subprocess.run([sys.executable, "-m", "preview", "kubeconfig", "--api",
                             platform.api_url, "--repo", REPO, "--pr", str(PR), *args],
                            env=environ, capture_output=True, text=True, timeout=300)
    assert result.returncode == code, (result.returncode, result.stderr, result.stdout)
    assert "Traceback" not in result.stderr
    return result


def claims_of(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    parsed: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return parsed


def kubectl_with(kubectl_path: str, kubeconfig: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([kubectl_path, "--kubeconfig", str(kubeconfig), *args],
                          capture_output=True, text=True, timeout=60)


def through_tunnel(sandbox: Sandbox, env: naming.Environment, returned: dict[str, Any],
                   kubectl_path: str, path: Path, *commands: tuple[str, ...]
                   ) -> list[subprocess.CompletedProcess[str]]:
    """Run kubectl commands with the developer's kubeconfig, its server swapped for a tunnel
    to the virtual API: the network path the policy's exposure gives a developer (a
    LoadBalancer or Ingress the sandbox cannot route to). Credential and CA stay as
    returned; the tunnel carries bytes only."""
    async def main() -> list[subprocess.CompletedProcess[str]]:
        host = HostCluster.from_kubeconfig(sandbox.kubeconfig)
        tunnel_file = path.with_name("tunnel.kubeconfig")
        async with kubeconfig_operation.tunnel(host, env, tunnel_file) as tunnel:
            server = yaml.safe_load(tunnel.read_text())["clusters"][0]["cluster"]["server"]
            mine = json.loads(json.dumps(returned))
            cluster = mine["clusters"][0]["cluster"]
            cluster["server"] = server
            cluster.pop("tls-server-name", None)  # k3s's certificate names 127.0.0.1
            path.write_text(yaml.safe_dump(mine))
            return [await asyncio.to_thread(kubectl_with, kubectl_path, path, *c)
                    for c in commands]
    return asyncio.run(main())


def test_a_writer_gets_a_kubeconfig_inside_the_virtual_cluster_until_it_expires(
        dev_platform: DevPlatform, sandbox: Sandbox, kubectl_path: str,
        tmp_path: Path) -> None:
    output = tmp_path / "pr.kubeconfig"
    before = time.time()
    result = get_kubeconfig(dev_platform, "alice-token", "--file", str(output))
    assert "alice-token" not in result.stderr + result.stdout
    assert oct(output.stat().st_mode & 0o777) == "0o600"
    returned = yaml.safe_load(output.read_text())
    [user] = returned["users"]
    assert set(user["user"]) == {"token"}  # no client certificate, no admin token
    token = user["user"]["token"]
    claims = claims_of(token)
    assert claims["sub"] == "system:serviceaccount:kube-system:preview-developer-alice"
    assert before + EXPIRY - 5 <= claims["exp"] <= time.time() + EXPIRY + 5
    assert "edit" in result.stderr and "alice" in result.stderr

    listed, secrets_of_the_host_role, roles = through_tunnel(
        sandbox, dev_platform.env, returned, kubectl_path, tmp_path / "used.kubeconfig",
        ("get", "pods", "-n", "default", "-o", "name"),
        ("auth", "can-i", "create", "deployments", "-n", "default"),
        ("get", "clusterroles"))
    assert listed.returncode == 0, listed.stderr
    assert "pod/" in listed.stdout  # the example app's pods, in the virtual cluster
    assert secrets_of_the_host_role.stdout.strip() == "yes"  # edit
    assert roles.returncode != 0 and "Forbidden" in roles.stderr  # edit, not admin

    # The same token on the host API: unknown there, nothing readable.
    host_kubeconfig = tmp_path / "host-with-dev-token.kubeconfig"
    sandbox.write_kubeconfig(host_kubeconfig, token)
    for what in (("get", "pods", "-A"), ("get", "namespaces"),
                 ("get", "secrets", "-n", dev_platform.env.namespace)):
        host = kubectl_with(kubectl_path, host_kubeconfig, *what)
        assert host.returncode != 0 and "Unauthorized" in host.stderr, (what, host.stderr)

    # Expiry: the virtual cluster's token clock moves past it; the kubeconfig stops working.
    dev_platform.clock.write_text(str(EXPIRY + 60))
    try:
        [expired] = through_tunnel(sandbox, dev_platform.env, returned, kubectl_path,
                                   tmp_path / "expired.kubeconfig",
                                   ("get", "pods", "-n", "default"))
    finally:
        dev_platform.clock.write_text("0")
    assert expired.returncode != 0 and "must be logged in" in expired.stderr, expired.stderr

    audit = [json.loads(line.split(": ", 1)[1]) for line in
             dev_platform.log.read_text().splitlines() if "preview.serve.audit" in line]
    assert any(a["audit"] == "kubeconfig" and a["actor"] == "alice" and a["outcome"] == "issued"
               for a in audit), audit


def test_a_reader_gets_403_and_a_bad_or_absent_token_401(dev_platform: DevPlatform) -> None:
    reader = get_kubeconfig(dev_platform, "rita-token", code=2)
    assert "(403)" in reader.stderr and "rita has read access" in reader.stderr
    assert "developers.minimumPermission" in reader.stderr
    forged = get_kubeconfig(dev_platform, "forged-token", code=2)
    assert "(401)" in forged.stderr and "Bad credentials" in forged.stderr
    actions = get_kubeconfig(dev_platform, "actions-token", code=2)
    assert "(401)" in actions.stderr and "not a person's" in actions.stderr
    absent = get_kubeconfig(dev_platform, None, code=2)
    assert "needs your GitHub token" in absent.stderr
    request = urllib.request.Request(
        f"{dev_platform.api_url}/v1/environments/{REPO}/{PR}/kubeconfig", method="POST")
    try:
        urllib.request.urlopen(request, timeout=30)
        raise AssertionError("no token was accepted")
    except urllib.error.HTTPError as e:
        assert e.code == 401
    # Nobody else got an account in the virtual cluster.
    audit = dev_platform.log.read_text()
    assert "rita-token" not in audit and "forged-token" not in audit
