"""`kubectl get` prints the real server's columns for events, endpoints and slices."""

from __future__ import annotations

import pytest
from kubernetes import client

from tests.conftest import KubectlRunner, wait_for
from tests.sandbox.test_kubelet import get, is_ready, make_pod

pytestmark = pytest.mark.sandbox


def test_events_endpoints_and_slices_have_kubectls_columns(
        core: client.CoreV1Api, kubectl: KubectlRunner, namespace: str) -> None:
    make_pod(core, namespace, ports=[{"containerPort": 80}])
    pod = wait_for(lambda: (p := get(core, namespace)) and is_ready(p) and p, 10, what="Ready")
    core.create_namespaced_service(namespace, {
        "metadata": {"name": "web"},
        "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 80}]}})
    ip = pod.status.pod_ip

    def endpoints() -> str:
        out = kubectl("get", "endpoints", "web", "-n", namespace, check=False).stdout
        return out if f"{ip}:80" in out else ""
    lines = wait_for(endpoints, 10, what="endpoints").splitlines()
    assert lines[0].split() == ["NAME", "ENDPOINTS", "AGE"]
    assert lines[1].split()[:2] == ["web", f"{ip}:80"]

    out = kubectl("get", "endpointslices", "-n", namespace, "-l",
                  "kubernetes.io/service-name=web").stdout.splitlines()
    assert out[0].split() == ["NAME", "ADDRESSTYPE", "PORTS", "ENDPOINTS", "AGE"]
    assert out[1].split()[1:4] == ["IPv4", "80", ip]

    out = kubectl("get", "events", "-n", namespace,
                  "--field-selector", "reason=Started").stdout.splitlines()
    assert out[0].split() == ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    assert out[1].split()[1:5] == ["Normal", "Started", "pod/web", "Started"]
    wide = kubectl("get", "events", "-n", namespace, "-o", "wide",
                   "--field-selector", "reason=Started").stdout.splitlines()
    assert wide[0].split() == ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "SUBOBJECT",
                               "SOURCE", "MESSAGE", "FIRST", "SEEN", "COUNT", "NAME"]
    assert f"kubelet, {pod.spec.node_name}" in wide[1]
