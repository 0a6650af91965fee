"""Server-side apply with the real kubectl: fields that grow from empty maps."""

from __future__ import annotations

import json

import pytest

from tests.conftest import KubectlRunner

pytestmark = pytest.mark.sandbox


def _configmap(namespace: str, data: dict[str, str]) -> str:
    return json.dumps({"apiVersion": "v1", "kind": "ConfigMap",
                       "metadata": {"name": "settings", "namespace": namespace}, "data": data})


def test_applying_an_empty_map_then_a_key_keeps_the_key(
        kubectl: KubectlRunner, namespace: str) -> None:
    kubectl("apply", "--server-side", "--field-manager=deployer", "-f", "-",
            input=_configmap(namespace, {}))
    kubectl("apply", "--server-side", "--field-manager=deployer", "-f", "-",
            input=_configmap(namespace, {"k": "v"}))
    live = json.loads(kubectl("get", "-n", namespace, "configmap/settings", "-o", "json",
                              "--show-managed-fields").stdout)
    assert live["data"] == {"k": "v"}
    entry = next(e for e in live["metadata"]["managedFields"] if e["manager"] == "deployer")
    assert entry["fieldsV1"] == {"f:data": {"f:k": {}}}
    # And back: applying `data: {}` drops the key but keeps the (empty) map.
    kubectl("apply", "--server-side", "--field-manager=deployer", "-f", "-",
            input=_configmap(namespace, {}))
    live = json.loads(kubectl("get", "-n", namespace, "configmap/settings", "-o", "json").stdout)
    assert live.get("data", {}) == {}
