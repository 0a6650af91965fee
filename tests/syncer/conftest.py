"""A host sandbox, a virtual-flavour sandbox, and the real syncer between them (subprocess)."""

from __future__ import annotations

import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from kubernetes import client, config

from preview.sandbox.runner import Sandbox, ServerConfig
from tests.conftest import wait_for


@dataclass
class Pair:
    host: Sandbox
    virtual: Sandbox
    host_namespace: str
    vcluster: str
    host_core: client.CoreV1Api
    virtual_core: client.CoreV1Api
    virtual_apps: client.AppsV1Api
    syncer: subprocess.Popen[bytes]
    log: Path
    dns_port: int
    kubelet_port: int
    # k3s's TLS directory the virtual sandbox keeps (its --data-dir + server/tls): the CAs
    # the syncer's kubelet API reads, and the API server's kubelet client certificate.
    k3s_tls: Path


# Ingress hosts the pair's syncer allows: `<one label>.e2e.preview.example.com`.
ALLOWED_DOMAIN = "e2e.preview.example.com"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_syncer(host_kubeconfig: str, virtual_kubeconfig: str, host_namespace: str,
                 name: str, log: Path, *args: str) -> tuple[subprocess.Popen[bytes], int]:
    """The real syncer as a subprocess between two API servers, once it is ready; its port."""
    port = free_port()
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "preview", "-v", "syncer", "--name", name,
             "--host-namespace", host_namespace, "--host-kubeconfig", host_kubeconfig,
             "--virtual-kubeconfig", virtual_kubeconfig, "--port", str(port), *args],
            stdout=out, stderr=subprocess.STDOUT)

    def ready() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"syncer exited:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1):
                return True
        except OSError:
            return False
    try:
        wait_for(ready, 60, what="the syncer to be ready")
    except BaseException:
        # Not left running: a syncer that comes up late would fight the next one started
        # for the same host namespace (and fail the run's leak check).
        proc.kill()
        proc.wait(10)
        raise
    return proc, port


@pytest.fixture(scope="package")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    tmp = tmp_path_factory.mktemp("pair")
    with Sandbox(ServerConfig(flavour="host")) as host, \
            Sandbox(ServerConfig(flavour="virtual", data_dir=tmp / "k3s")) as virtual, \
            config.new_client_from_config(host.kubeconfig) as host_api, \
            config.new_client_from_config(virtual.kubeconfig) as virtual_api:
        host_core = client.CoreV1Api(host_api)
        host_core.create_namespace({"metadata": {"name": "vc-e2e"}})
        port, dns_port, kubelet_port = free_port(), free_port(), free_port()
        k3s_tls = tmp / "k3s" / "server" / "tls"
        log = tmp / "syncer.log"
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "preview", "-v", "syncer", "--name", "e2e",
                 "--host-namespace", "vc-e2e", "--host-kubeconfig", host.kubeconfig,
                 "--virtual-kubeconfig", virtual.kubeconfig, "--port", str(port),
                 "--kubelet-port", str(kubelet_port), "--kubelet-ca-dir", str(k3s_tls),
                 "--advertise-address", "127.0.0.1", "--node-sync", "real",
                 "--dns-port", str(dns_port), "--allowed-host", f"*.{ALLOWED_DOMAIN}"],
                stdout=out, stderr=subprocess.STDOUT)
        try:
            def ready() -> bool:
                if proc.poll() is not None:
                    raise AssertionError(f"syncer exited:\n{log.read_text()}")
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1):
                        return True
                except OSError:
                    return False
            wait_for(ready, 30, what="the syncer to be ready")
            yield Pair(host, virtual, "vc-e2e", "e2e", host_core, client.CoreV1Api(virtual_api),
                       client.AppsV1Api(virtual_api), proc, log, dns_port, kubelet_port,
                       k3s_tls)
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
