"""A host sandbox looks like a kind cluster: CoreDNS, critical priority classes, bookmarks."""

from __future__ import annotations

import time

import pytest
from kubernetes import client

from preview.sandbox.runner import Sandbox
from tests.conftest import KubectlRunner, wait_for
from tests.sandbox.test_watch import raw_watch

pytestmark = pytest.mark.sandbox


def test_coredns_runs_in_kube_system(kubectl: KubectlRunner, apps: client.AppsV1Api,
                                     core: client.CoreV1Api) -> None:
    service = core.read_namespaced_service("kube-dns", "kube-system")
    assert service.spec.cluster_ip == "10.96.0.10"
    assert [(p.name, p.port, p.protocol) for p in service.spec.ports] == [
        ("dns", 53, "UDP"), ("dns-tcp", 53, "TCP"), ("metrics", 9153, "TCP")]
    wait_for(lambda: (apps.read_namespaced_deployment("coredns", "kube-system").status
                      .ready_replicas or 0) == 2, 15, what="coredns ready")
    out = kubectl("get", "pods", "-n", "kube-system", "-l", "k8s-app=kube-dns").stdout
    rows = [line.split() for line in out.splitlines()[1:]]
    assert len(rows) == 2 and all(r[1:3] == ["1/1", "Running"] for r in rows), out
    assert "Corefile" in core.read_namespaced_config_map("coredns", "kube-system").data
    classes = kubectl("get", "priorityclasses", "-o", "name").stdout.split()
    assert "priorityclass.scheduling.k8s.io/system-cluster-critical" in classes


def test_watch_bookmarks_come_about_once_a_minute(sandbox: Sandbox,
                                                  core: client.CoreV1Api) -> None:
    rv = core.list_namespaced_secret("default").metadata.resource_version
    started = time.monotonic()
    events = list(raw_watch(sandbox, f"/api/v1/namespaces/default/secrets?watch=1"
                                     f"&resourceVersion={rv}&allowWatchBookmarks=true"
                                     f"&timeoutSeconds=2"))
    assert time.monotonic() - started >= 1.5
    assert [e for e in events if e["type"] == "BOOKMARK"] == []
    assert sandbox.config.bookmark_interval == 60.0
