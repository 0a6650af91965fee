"""Restart and failure safety of the real syncer (subprocess): SIGKILL in the middle of a
burst, virtual objects deleted while it is down, a restart; then the chart's Service going
(what `helm uninstall` does) with the syncer stopped, and the host's garbage collector
removing every synced object through its ownerReference."""

from __future__ import annotations

import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from kubernetes import client, config

from preview import naming
from preview.sandbox.runner import Sandbox, ServerConfig
from tests.conftest import wait_for
from tests.syncer.conftest import start_syncer
from tests.syncer.proxy import Proxy

pytestmark = pytest.mark.sandbox
NAME, HOST_NS, NS = "rs", "vc-rs", "burst"
BURST = 500


@pytest.fixture(scope="module")
def clusters(tmp_path_factory: pytest.TempPathFactory
             ) -> Iterator[tuple[Sandbox, Sandbox, client.CoreV1Api, client.CoreV1Api, Path]]:
    with Sandbox(ServerConfig(flavour="host", nodes=5, runtimes=[])) as host, \
            Sandbox(ServerConfig(flavour="virtual")) as virtual, \
            config.new_client_from_config(host.kubeconfig) as host_api, \
            config.new_client_from_config(virtual.kubeconfig) as virtual_api:
        host_core, virtual_core = client.CoreV1Api(host_api), client.CoreV1Api(virtual_api)
        host_core.create_namespace({"metadata": {"name": HOST_NS}})
        # The chart's Service in front of the virtual API: every synced object's owner.
        host_core.create_namespaced_service(HOST_NS, {"metadata": {"name": NAME}, "spec": {
            "ports": [{"port": 443}]}})
        virtual_core.create_namespace({"metadata": {"name": NS}})
        yield host, virtual, host_core, virtual_core, tmp_path_factory.mktemp("rs") / "syncer.log"


def _pod(i: int) -> dict[str, Any]:
    return {"metadata": {"name": f"p-{i:04d}", "labels": {"app": "burst"}},
            "spec": {"automountServiceAccountToken": False,
                     "containers": [{"name": "c", "image": "nginx",
                                     "envFrom": [{"configMapRef": {"name": "settings"}}]}]}}


def _owned(host_core: client.CoreV1Api, kind: str) -> list[Any]:
    lister = getattr(host_core, f"list_namespaced_{kind}")
    selector = f"{naming.MANAGED_BY}=syncer,{naming.VCLUSTER}={NAME}"
    return list(lister(HOST_NS, label_selector=selector).items)


def test_sigkill_mid_burst_then_restart_converges_exactly(clusters: Any) -> None:
    host, virtual, host_core, virtual_core, log = clusters
    args = ("--api-service", NAME, "--events", "--workers", "8")
    virtual_core.create_namespaced_config_map(NS, {"metadata": {"name": "settings"},
                                                   "data": {"a": "1"}})
    first, port = start_syncer(host.kubeconfig, virtual.kubeconfig, HOST_NS, NAME, log, *args)
    with ThreadPoolExecutor(8) as pool:
        creating = [pool.submit(virtual_core.create_namespaced_pod, NS, _pod(i))
                    for i in range(BURST)]
        wait_for(lambda: len(_owned(host_core, "pod")) >= 50, 60,
                 what="the burst to be under way on the host")
        first.send_signal(signal.SIGKILL)  # no chance to clean up or finish anything
        first.wait(10)
        for future in creating:
            future.result()
    # While the syncer is down: 50 virtual pods go (their copies become orphans).
    for i in range(0, BURST, 10):
        virtual_core.delete_namespaced_pod(f"p-{i:04d}", NS, grace_period_seconds=0)
    second, port = start_syncer(host.kubeconfig, virtual.kubeconfig, HOST_NS, NAME, log, *args)
    try:
        wanted = {p.metadata.name: p.metadata.uid
                  for p in virtual_core.list_namespaced_pod(NS).items}
        assert len(wanted) == BURST - BURST // 10

        def converged() -> bool:
            pods = [p for p in _owned(host_core, "pod") if not p.metadata.deletion_timestamp]
            copies = {p.metadata.annotations[naming.VIRTUAL_NAME_ANNOTATION]:
                      p.metadata.annotations[naming.VIRTUAL_UID_ANNOTATION] for p in pods}
            return len(pods) == len(wanted) and copies == wanted
        wait_for(converged, 180, interval=1.0, what="exactly one host pod per virtual pod")
        wait_for(lambda: len(_owned(host_core, "pod")) == len(wanted), 60, interval=1.0,
                 what="the orphans to be gone")
        for pod in _owned(host_core, "pod"):
            assert [r.name for r in pod.metadata.owner_references] == [NAME]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
            metrics = resp.read().decode()
        assert f'preview_syncer_synced_objects{{kind="pods"}} {float(len(wanted))}' in metrics
        assert "preview_syncer_reconcile_seconds_bucket" in metrics
    finally:
        _stop(second)


@pytest.fixture
def fresh_virtual() -> Iterator[tuple[Sandbox, client.CoreV1Api]]:
    """A virtual cluster of its own: a syncer syncs every virtual namespace, so a test
    sharing one with the 500-pod burst would first have to copy all of those."""
    with Sandbox(ServerConfig(flavour="virtual")) as virtual, \
            config.new_client_from_config(virtual.kubeconfig) as api:
        yield virtual, client.CoreV1Api(api)


def test_host_api_outage_heals_by_itself(clusters: Any, fresh_virtual: Any,
                                         tmp_path: Path) -> None:
    host, _, host_core, _, log = clusters
    virtual, virtual_core = fresh_virtual
    name, host_ns, ns = "out", "vc-out", "outage"
    host_core.create_namespace({"metadata": {"name": host_ns}})
    virtual_core.create_namespace({"metadata": {"name": ns}})
    kubeconfig = yaml.safe_load(Path(host.kubeconfig).read_text())
    server = urlsplit(kubeconfig["clusters"][0]["cluster"]["server"])
    with Proxy(int(server.port or 443)) as proxy:
        kubeconfig["clusters"][0]["cluster"]["server"] = f"https://127.0.0.1:{proxy.port}"
        through = tmp_path / "host-through-proxy.kubeconfig"
        through.write_text(yaml.safe_dump(kubeconfig))
        proc, port = start_syncer(str(through), virtual.kubeconfig, host_ns, name, log)
        try:
            def host_copies() -> dict[str, str]:
                pods = host_core.list_namespaced_pod(
                    host_ns, label_selector=f"{naming.VCLUSTER}={name}").items
                return {p.metadata.annotations[naming.VIRTUAL_NAME_ANNOTATION]:
                        p.metadata.annotations[naming.VIRTUAL_UID_ANNOTATION]
                        for p in pods if not p.metadata.deletion_timestamp}

            def virtual_pods() -> dict[str, str]:
                return {p.metadata.name: p.metadata.uid
                        for p in virtual_core.list_namespaced_pod(ns).items}
            for i in range(10):
                virtual_core.create_namespaced_pod(ns, _plain(f"before-{i}"))
            wait_for(lambda: host_copies() == virtual_pods(), 180, interval=0.5,
                     what="the pods before the outage")
            proxy.down()
            started = time.monotonic()
            for i in range(10):  # while the host API is unreachable
                virtual_core.create_namespaced_pod(ns, _plain(f"during-{i}"))
            for i in range(0, 10, 2):
                virtual_core.delete_namespaced_pod(f"before-{i}", ns, grace_period_seconds=0)
            time.sleep(max(0.0, 30 - (time.monotonic() - started)))  # the outage lasts 30 s
            assert proc.poll() is None, "the syncer must ride out the outage"
            proxy.up()
            wanted = virtual_pods()
            assert len(wanted) == 15
            wait_for(lambda: host_copies() == wanted, 180, interval=0.5,
                     what="the host to catch up after the outage, nothing lost or doubled")
            def watch_restarts() -> float:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics",
                                            timeout=5) as resp:
                    metrics = resp.read().decode()
                restarts = [line for line in metrics.splitlines() if line.startswith(
                    'preview_syncer_watch_restarts_total{resource="pods",side="host"}')]
                return float(restarts[0].split()[-1]) if restarts else 0.0

            wait_for(lambda: watch_restarts() >= 1, 60, interval=0.5,
                     what="the host pod watch to count its restart")
        finally:
            _stop(proc)


def _plain(name: str) -> dict[str, Any]:
    return {"metadata": {"name": name}, "spec": {
        "automountServiceAccountToken": False, "containers": [{"name": "c", "image": "nginx"}]}}


def test_uninstall_with_the_syncer_stopped_leaves_nothing(clusters: Any,
                                                         fresh_virtual: Any) -> None:
    host, _, host_core, _, log = clusters
    virtual, virtual_core = fresh_virtual
    proc, _ = start_syncer(host.kubeconfig, virtual.kubeconfig, HOST_NS, NAME, log,
                           "--api-service", NAME)
    try:
        _fill_and_uninstall(host_core, virtual_core, proc)
    finally:
        if proc.poll() is None:
            proc.kill()


def _fill_and_uninstall(host_core: client.CoreV1Api, virtual_core: client.CoreV1Api,
                        proc: subprocess.Popen[bytes]) -> None:
    virtual_core.create_namespace({"metadata": {"name": "gc"}})
    virtual_core.create_namespaced_config_map("gc", {"metadata": {"name": "settings"},
                                                     "data": {"a": "1"}})
    virtual_core.create_namespaced_pod("gc", {**_pod(1), "spec": {
        **_pod(1)["spec"], "automountServiceAccountToken": True}})
    virtual_core.create_namespaced_service("gc", {"metadata": {"name": "web"}, "spec": {
        "selector": {"app": "burst"}, "ports": [{"port": 80}]}})
    wait_for(lambda: _owned(host_core, "service") and _owned(host_core, "config_map")
             and _owned(host_core, "secret") and _owned(host_core, "pod"), 30,
             what="synced pods, Services, ConfigMaps and token Secrets")
    _stop(proc, signal.SIGKILL)
    assert _owned(host_core, "pod")
    host_core.delete_namespaced_service(NAME, HOST_NS)  # what `helm uninstall` removes
    for kind in ("pod", "service", "config_map", "secret"):
        wait_for(lambda kind=kind: not _owned(host_core, kind), 120, interval=0.5,
                 what=f"the garbage collector to remove every synced {kind}")


def _stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    proc.send_signal(sig)
    try:
        code = proc.wait(15)
        assert code == (0 if sig == signal.SIGTERM else -sig)  # SIGTERM: a clean exit
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
