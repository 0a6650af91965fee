"""Shared by the workload controller tests: a control-plane-only sandbox and a stand-in kubelet.

The virtual flavour has the controllers but no scheduler or kubelet, so a test plays the
kubelet itself: it writes pod status (phase, Ready) through the API, exactly what a kubelet
would send, and watches the controller react. Import the `*_fixture` functions into a test
module to use the fixtures (`control_plane`, `cp_core`, `cp_apps`, `cp_batch`, `ns`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client, config

from preview.sandbox.machinery.objects import now
from preview.sandbox.runner import Sandbox, ServerConfig
from tests.conftest import wait_for


@pytest.fixture(scope="session", name="control_plane")
def control_plane_fixture() -> Iterator[Sandbox]:
    with Sandbox(ServerConfig(flavour="virtual")) as sb:
        yield sb


@pytest.fixture(scope="session", name="cp_client")
def cp_client_fixture(control_plane: Sandbox) -> Iterator[client.ApiClient]:
    with config.new_client_from_config(control_plane.kubeconfig) as c:
        yield c


@pytest.fixture(name="cp_core")
def cp_core_fixture(cp_client: client.ApiClient) -> client.CoreV1Api:
    return client.CoreV1Api(cp_client)


@pytest.fixture(name="cp_apps")
def cp_apps_fixture(cp_client: client.ApiClient) -> client.AppsV1Api:
    return client.AppsV1Api(cp_client)


@pytest.fixture(name="cp_batch")
def cp_batch_fixture(cp_client: client.ApiClient) -> client.BatchV1Api:
    return client.BatchV1Api(cp_client)


@pytest.fixture(name="ns")
def ns_fixture(cp_core: client.CoreV1Api) -> str:
    name = f"w-{uuid.uuid4().hex[:10]}"
    cp_core.create_namespace({"metadata": {"name": name}})
    return name


def pod_template(app: str, image: str = "nginx:1.27") -> dict[str, Any]:
    return {"metadata": {"labels": {"app": app}},
            "spec": {"containers": [{"name": "main", "image": image}]}}


def pods(core: client.CoreV1Api, namespace: str, selector: str = "") -> list[Any]:
    items = core.list_namespaced_pod(namespace, label_selector=selector).items
    return [p for p in items if p.metadata.deletion_timestamp is None]


def set_phase(core: client.CoreV1Api, namespace: str, name: str, phase: str,
              ready: bool = False, node: str = "") -> None:
    """What a kubelet reports: phase and the Ready condition (with its transition time)."""
    status: dict[str, Any] = {"phase": phase, "conditions": [
        {"type": "Ready", "status": "True" if ready else "False", "lastTransitionTime": now()}]}
    if phase == "Running":
        status["podIP"] = "10.244.0.10"
    core.patch_namespaced_pod_status(name, namespace, {"status": status})


def make_ready(core: client.CoreV1Api, namespace: str, selector: str, count: int,
               timeout: float = 10.0) -> list[str]:
    """Wait for `count` live pods matching `selector`, then mark all not yet ready Running+Ready."""
    found = wait_for(lambda: (lambda ps: ps if len(ps) >= count else None)(
        pods(core, namespace, selector)), timeout, what=f"{count} pods {selector}")
    names = []
    for p in found:
        if p.status.phase != "Running":
            set_phase(core, namespace, p.metadata.name, "Running", ready=True)
        names.append(p.metadata.name)
    return names
