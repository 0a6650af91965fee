"""The python runtime hook: official-python-image containers run as real local processes."""

from __future__ import annotations

import base64
from typing import Any

import pytest
import yaml
from kubernetes import client

from preview.sandbox.kubelet.python_runtime import (
    Probe,
    is_python_image,
    port_env,
    python_command,
    readiness_probes,
    runs_python,
)
from tests.conftest import KubectlRunner, wait_for
from tests.sandbox.test_vcluster_runtime import processes_of


# -- pure -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("image", "expected"), [
    ("python:3.12-slim", True), ("python", True), ("library/python:3.13", True),
    ("docker.io/library/python:3.12-alpine", True), ("docker.io/python:3", True),
    ("python@sha256:" + "a" * 64, True), ("python:3.12@sha256:" + "a" * 64, True),
    ("ghcr.io/org/python:3.12", False), ("pythonista:1", False), ("nginx:1.27", False),
    ("myregistry:5000/python:3.12", False)])
def test_official_python_images(image: str, expected: bool) -> None:
    assert is_python_image(image) is expected


@pytest.mark.parametrize(("spec", "argv"), [
    ({"command": ["python3", "/app/server.py"]}, ["python3", "/app/server.py"]),
    ({"command": ["python"], "args": ["-m", "http.server"]}, ["python", "-m", "http.server"]),
    ({"command": ["/usr/local/bin/python3.12", "x.py"]}, ["/usr/local/bin/python3.12", "x.py"]),
    ({"args": ["python", "app.py"]}, ["python", "app.py"]),  # args replace the image's CMD
    ({}, ["python3"]),                                       # the image's CMD
    ({"command": ["sh", "-c", "python app.py"]}, None),
    ({"args": ["app.py"]}, None)])
def test_python_command_lines(spec: dict[str, Any], argv: list[str] | None) -> None:
    assert python_command(spec) == argv


def test_every_container_must_be_python() -> None:
    web = {"name": "web", "image": "python:3.12", "command": ["python3", "app.py"]}
    sidecar = {"name": "proxy", "image": "envoyproxy/envoy:v1.30"}
    assert runs_python({"spec": {"containers": [web]}})
    assert not runs_python({"spec": {"containers": [web, sidecar]}})
    assert not runs_python({"spec": {"containers": []}})


def test_port_convention() -> None:
    spec = {"ports": [{"containerPort": 8080}, {"containerPort": 9090},
                      {"containerPort": 53, "protocol": "UDP"}]}
    assert port_env(spec, {8080: 41000, 9090: 41001, 53: 41002}) == {
        "PORT": "41000", "PORT_8080": "41000", "PORT_9090": "41001", "HOST": "127.0.0.1"}
    assert port_env({}, {}) == {"HOST": "127.0.0.1"}


def test_readiness_probes_use_the_mapped_ports() -> None:
    spec = {"ports": [{"name": "http", "containerPort": 8080}],
            "readinessProbe": {"httpGet": {"path": "/healthz", "port": "http"},
                               "periodSeconds": 2, "failureThreshold": 1}}
    assert readiness_probes(spec, {8080: 41000}) == [
        Probe("http", "127.0.0.1", 41000, "/healthz", 2.0, 1)]
    tcp = {"ports": [{"containerPort": 8080}], "readinessProbe": {"tcpSocket": {"port": 8080}}}
    assert readiness_probes(tcp, {8080: 41000})[0].kind == "tcp"
    # No probe: ready when the ports accept connections; no ports: nothing to wait for.
    assert [p.port for p in readiness_probes({"ports": [{"containerPort": 8080}]},
                                             {8080: 41000})] == [41000]
    assert readiness_probes({}, {}) == []
    with pytest.raises(ValueError, match="not a declared containerPort"):
        readiness_probes({"readinessProbe": {"httpGet": {"port": 9999}}}, {})


# -- against the host sandbox ---------------------------------------------------------------------
def files_pod(namespace: str) -> list[dict[str, Any]]:
    """A pod serving its mounted ConfigMap with http.server; env from a Secret and envFrom."""
    return [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "site", "namespace": namespace},
         "data": {"index.html": "hello from a configmap\n", "MODE": "demo"}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds", "namespace": namespace},
         "data": {"password": base64.b64encode(b"s3cret").decode()}},
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "files", "namespace": namespace},
         "spec": {"containers": [{
             "name": "web", "image": "docker.io/library/python:3.12-slim",
             "command": ["python3", "-u", "-c",
                         "import os, sys\n"
                         "print('env', os.environ['APP_MODE'], os.environ['PASSWORD_LEN'],"
                         " os.environ.get('PORT'), flush=True)\n"
                         "sys.argv = ['http.server', os.environ['PORT'], '--bind',"
                         " os.environ['HOST'], '--directory', sys.argv[1]]\n"
                         "import runpy; runpy.run_module('http.server', run_name='__main__')",
                         "/srv/site"],  # an argument under the mountPath: rewritten
             "env": [{"name": "PORT", "value": "8080"},
                     {"name": "PASSWORD", "valueFrom": {"secretKeyRef": {
                         "name": "creds", "key": "password"}}},
                     {"name": "PASSWORD_LEN", "value": "$(PASSWORD)"}],
             "envFrom": [{"configMapRef": {"name": "site"}, "prefix": "APP_"}],
             "ports": [{"name": "http", "containerPort": 8080}],
             "readinessProbe": {"httpGet": {"path": "/index.html", "port": "http"}},
             "volumeMounts": [{"name": "site", "mountPath": "/srv/site"}]}],
             "volumes": [{"name": "site", "configMap": {"name": "site"}}]}}]


@pytest.mark.sandbox
def test_a_python_pod_runs_for_real(kubectl: KubectlRunner, core: client.CoreV1Api,
                                    namespace: str) -> None:
    kubectl("apply", "-f", "-", input=yaml.safe_dump_all(files_pod(namespace)))
    kubectl("wait", "--for=condition=Ready", "pod/files", "-n", namespace, "--timeout=60s")
    # The API server's pod proxy reaches the process (the kubelet's path to the pod).
    page = core.connect_get_namespaced_pod_proxy_with_path("files:8080", namespace,
                                                           "index.html")
    assert page == "hello from a configmap\n"

    def output() -> str:
        out = kubectl("logs", "files", "-n", namespace).stdout
        return out if "env demo" in out else ""

    logs = wait_for(output, what="the process's output")
    # envFrom with its prefix, a Secret key, $(VAR) expansion; PORT is the loopback port.
    env_line = next(line for line in logs.splitlines() if line.startswith("env "))
    _, mode, password, port = env_line.split()
    assert (mode, password) == ("demo", "s3cret") and port != "8080"
    assert "GET /index.html" in logs  # the readiness probe hit the real server
    [pid] = processes_of(namespace)
    kubectl("delete", "pod", "files", "-n", namespace, "--wait=true", "--timeout=30s")
    wait_for(lambda: pid not in processes_of(namespace), 15, 0.1, what="the process to end")


@pytest.mark.sandbox
def test_other_images_stay_simulated(kubectl: KubectlRunner, core: client.CoreV1Api,
                                     namespace: str) -> None:
    kubectl("run", "shell", "--image=busybox:1.36", "-n", namespace, "--", "python3", "-c", "1")
    kubectl("wait", "--for=condition=Ready", "pod/shell", "-n", namespace, "--timeout=60s")
    assert not processes_of(namespace)
