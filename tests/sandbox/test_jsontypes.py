"""Values of the wrong JSON type for their Go field, found as the real decoder reports them
(pure: the protobuf schema names the Go types)."""

from __future__ import annotations

from typing import Any

import pytest

from preview.sandbox.apiserver.encoding import protobuf_schema
from preview.sandbox.apiserver.registry import jsontypes, unknownfields

DEPLOYMENT = "k8s.io.api.apps.v1.Deployment"


def _deployment(spec: dict[str, Any], container: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
            "spec": {"selector": {"matchLabels": {"app": "web"}}, **spec, "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "a", "image": "x"},
                                        {"name": "b", "image": "y", **(container or {})}]}}}}


def _decoder(obj: dict[str, Any], message: str = DEPLOYMENT) -> str | None:
    found = jsontypes.first_mismatch(obj, message, protobuf_schema.load())
    return None if found is None else found.decoder_message()


@pytest.mark.parametrize(("obj", "message"), [
    (_deployment({"replicas": "3"}),
     "json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type "
     "int32"),
    (_deployment({"replicas": 1.5}),
     "json: cannot unmarshal number 1.5 into Go struct field DeploymentSpec.spec.replicas of "
     "type int32"),
    (_deployment({"replicas": 3.0}),
     "json: cannot unmarshal number 3.0 into Go struct field DeploymentSpec.spec.replicas of "
     "type int32"),
    (_deployment({"replicas": 2**31}),
     "json: cannot unmarshal number 2147483648 into Go struct field DeploymentSpec.spec.replicas"
     " of type int32"),
    (_deployment({"paused": "true"}),
     "json: cannot unmarshal string into Go struct field DeploymentSpec.spec.paused of type "
     "bool"),
    (_deployment({}, {"env": [{"name": "PORT", "value": 8080}]}),
     "json: cannot unmarshal number into Go struct field EnvVar.spec.template.spec.containers"
     ".env.value of type string"),
    (_deployment({}, {"ports": {"containerPort": 80}}),
     "json: cannot unmarshal object into Go struct field Container.spec.template.spec"
     ".containers.ports of type []v1.ContainerPort"),
    (_deployment({}, {"securityContext": "privileged"}),
     "json: cannot unmarshal string into Go struct field Container.spec.template.spec"
     ".containers.securityContext of type v1.SecurityContext"),
    ({**_deployment({}), "metadata": {"name": "web", "annotations": {"restarted": 1}}},
     "json: cannot unmarshal number into Go struct field ObjectMeta.metadata.annotations of "
     "type string"),
    ({**_deployment({}), "metadata": {"name": "web", "labels": ["a"]}},
     "json: cannot unmarshal array into Go struct field ObjectMeta.metadata.labels of type "
     "map[string]string"),
])
def test_the_first_mismatch_as_the_decoder_reports_it(obj: dict[str, Any], message: str) -> None:
    assert _decoder(obj) == message


def test_config_map_data_must_be_strings() -> None:
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
          "data": {"name": "x", "port": 8080, "debug": True}}
    assert _decoder(cm, "k8s.io.api.core.v1.ConfigMap") == (
        "json: cannot unmarshal number into Go struct field ConfigMap.data of type string")


def test_types_with_their_own_json_and_nulls_pass() -> None:
    obj = _deployment({"replicas": 2, "strategy": {"rollingUpdate": {
        "maxSurge": "25%", "maxUnavailable": 1}}, "revisionHistoryLimit": None},
        {"resources": {"requests": {"cpu": 1, "memory": "1Gi"}},
         "ports": [{"containerPort": 80}], "livenessProbe": {"httpGet": {"port": "http"}}})
    obj["metadata"]["creationTimestamp"] = None
    obj["status"] = {"conditions": [{"type": "Available", "status": "True",
                                     "lastUpdateTime": "2026-12-04T00:00:00Z"}]}
    assert _decoder(obj) is None


def test_what_server_side_apply_says() -> None:
    schema = protobuf_schema.load()
    obj = _deployment({"replicas": "3"})
    found = jsontypes.first_mismatch(obj, DEPLOYMENT, schema)
    assert found is not None
    assert jsontypes.apply_message(found, ".spec.replicas") == (
        ".spec.replicas: expected numeric (int or float), got string")

    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
          "data": {"port": 8080}}
    found = jsontypes.first_mismatch(cm, "k8s.io.api.core.v1.ConfigMap", schema)
    assert found is not None and found.steps == ("data", "port")
    assert jsontypes.apply_message(found, unknownfields.typed_path(("data", "port"))) == (
        ".data.port: expected string, got &value.valueUnstructured{Value:8080}")
