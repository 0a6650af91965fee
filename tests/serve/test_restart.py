"""`preview serve` killed in the middle of a create (SIGKILL to its whole process group, as
a node losing the pod would) and started again: the next create takes over the dead
holder's Lease once it expires (`--lease-duration`, short here) and finishes the
environment."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client

from preview import naming
from preview.sandbox.oidc import OidcIssuer
from preview.sandbox.runner import Sandbox
from tests.conftest import wait_for
from tests.operations.test_environments import SHA1, fetch
from tests.serve import healthy
from tests.serve.test_app import example_bundle, free_port

pytestmark = [pytest.mark.sandbox, pytest.mark.tools]
AUDIENCE = "preview-restart"
REPO, PR = "example/restart", 81
LEASE_SECONDS = 6


@pytest.fixture(scope="module")
def issuer() -> Iterator[OidcIssuer]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    running = asyncio.run_coroutine_threadsafe(OidcIssuer(audience=AUDIENCE).start(),
                                               loop).result(30)
    try:
        yield running
    finally:
        asyncio.run_coroutine_threadsafe(running.stop(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


class Server:
    """One `preview serve` process, in a process group of its own (its helm children too)."""

    def __init__(self, sandbox: Sandbox, issuer: OidcIssuer, workdir: Path, port: int) -> None:
        policy = workdir / "policy.yaml"
        policy.write_text(json.dumps({"repositories": ["example/*"],
                                      "api": {"issuer": issuer.url, "audience": AUDIENCE}}))
        ca = workdir / "issuer-ca.pem"
        ca.write_bytes(issuer.ca_pem)
        self.url = f"http://127.0.0.1:{port}"
        self.log = (workdir / "serve.log").open("a")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "preview", "serve", "--policy", str(policy), "--issuer-ca",
             str(ca), "--listen", f"127.0.0.1:{port}", "--kubeconfig", sandbox.kubeconfig,
             "--workdir", str(workdir / "bundles"), "--lease-duration", str(LEASE_SECONDS)],
            stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        wait_for(self.healthy, timeout=60, what="preview serve to answer")

    def healthy(self) -> bool:
        return healthy(self.url)

    def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        self.log.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=120)
        self.log.close()

    def create(self, token: str) -> urllib.request.Request:
        return urllib.request.Request(
            f"{self.url}/v1/environments/{REPO}/{PR}?sha={SHA1}", data=example_bundle(),
            method="PUT", headers={"Authorization": f"Bearer {token}",
                                   "Content-Type": "application/gzip"})


def test_a_create_killed_midway_is_finished_by_the_next_one(
        sandbox: Sandbox, issuer: OidcIssuer, api_client: client.ApiClient,
        tmp_path: Path) -> None:
    env = naming.environment_for("example", "restart", PR)
    port = free_port()
    first = Server(sandbox, issuer, tmp_path, port)
    seen: list[str] = []
    try:
        token = issuer.mint(issuer.claims(REPO, pr=PR))
        with urllib.request.urlopen(first.create(token), timeout=300) as response:
            for raw in response:
                line = json.loads(raw)
                seen.append(str(line))
                # The virtual cluster's chart is being installed: helm is running.
                if "installing chart in" in str(line.get("progress", "")):
                    first.kill()
                    break
        assert first.process.returncode == -signal.SIGKILL, seen
    finally:
        first.stop()
    leases = client.CoordinationV1Api(api_client)
    held = leases.read_namespaced_lease("preview-vcluster-lock", env.namespace)
    assert "via preview serve" in held.spec.holder_identity  # the dead run's, not released
    assert held.spec.lease_duration_seconds == LEASE_SECONDS

    second = Server(sandbox, issuer, tmp_path, port)
    try:
        token = issuer.mint(issuer.claims(REPO, pr=PR))
        with urllib.request.urlopen(second.create(token), timeout=600) as response:
            lines = [json.loads(raw) for raw in response]
        result = lines[-1].get("result")
        assert result is not None and result["status"] == "ready", lines[-3:]
        status, body = fetch(result["url"], sandbox.ingress_http_port)
        assert status == 200, body
        # The Lease is released; the environment is one, complete.
        with pytest.raises(client.ApiException):
            leases.read_namespaced_lease("preview-vcluster-lock", env.namespace)
        down = urllib.request.Request(f"{second.url}/v1/environments/{REPO}/{PR}",
                                      method="DELETE",
                                      headers={"Authorization": f"Bearer "
                                               f"{issuer.mint(issuer.claims(REPO, pr=PR))}"})
        with urllib.request.urlopen(down, timeout=300) as response:
            assert "result" in json.loads(list(response)[-1])
    finally:
        second.stop()
