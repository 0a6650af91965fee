"""The DefaultTolerationSeconds admission plugin over HTTP with kubectl and the client."""

from __future__ import annotations

import json

import pytest
from kubernetes import client

from tests.conftest import KubectlRunner

pytestmark = pytest.mark.sandbox
NOT_READY = {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute",
             "tolerationSeconds": 300}
UNREACHABLE = {"key": "node.kubernetes.io/unreachable", "operator": "Exists",
               "effect": "NoExecute", "tolerationSeconds": 300}


def _pod(core: client.CoreV1Api, namespace: str, name: str,
         tolerations: list[dict] | None = None) -> list[dict]:
    spec: dict = {"containers": [{"name": "app", "image": "nginx:1.25"}]}
    if tolerations is not None:
        spec["tolerations"] = tolerations
    core.create_namespaced_pod(namespace, {"metadata": {"name": name}, "spec": spec})
    raw = core.api_client.sanitize_for_serialization(core.read_namespaced_pod(name, namespace))
    return list(raw["spec"]["tolerations"])


def test_kubectl_run_pods_tolerate_lost_nodes_for_five_minutes(
        kubectl: KubectlRunner, namespace: str) -> None:
    kubectl("run", "web", "--image=nginx:1.25", "-n", namespace)
    pod = json.loads(kubectl("get", "pod", "web", "-n", namespace, "-o", "json").stdout)
    assert pod["spec"]["tolerations"] == [NOT_READY, UNREACHABLE]


def test_existing_tolerations_are_respected(core: client.CoreV1Api, namespace: str) -> None:
    own = {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute",
           "tolerationSeconds": 10}
    assert _pod(core, namespace, "own", [own]) == [own, UNREACHABLE]
    everything = {"operator": "Exists"}
    assert _pod(core, namespace, "all", [everything]) == [everything]
    other = {"key": "dedicated", "operator": "Equal", "value": "db", "effect": "NoSchedule"}
    assert _pod(core, namespace, "other", [other]) == [other, NOT_READY, UNREACHABLE]
