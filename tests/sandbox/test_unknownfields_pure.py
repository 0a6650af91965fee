"""Finding and dropping the fields a schema does not declare (pure)."""

from __future__ import annotations

from preview.sandbox.apiserver.registry import unknownfields
from preview.sandbox.machinery import schemas


def test_unknown_fields_of_a_builtin_kind_are_dropped_and_named() -> None:
    deployment = {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "lables": {"a": "b"}, "labels": {"app": "web"}},
        "spec": {"replicas": 2, "replicaz": 3, "template": {"spec": {"containers": [
            {"name": "a", "image": "x"},
            {"name": "b", "image": "y", "imagePullPolice": "Always",
             "ports": [{"containerPort": 80, "hostPortt": 1}]}]}}},
    }
    found = unknownfields.prune(deployment, {"$ref": "#/definitions/V1Deployment"}, schemas.resolve)
    assert [unknownfields.decoder_path(p) for p in found] == [
        "metadata.lables", "spec.replicaz",
        "spec.template.spec.containers[1].imagePullPolice",
        "spec.template.spec.containers[1].ports[0].hostPortt"]
    assert [unknownfields.typed_path(p) for p in found] == [
        ".metadata.lables", ".spec.replicaz",
        '.spec.template.spec.containers[name="b"].imagePullPolice',
        '.spec.template.spec.containers[name="b"].ports[containerPort=80].hostPortt']
    assert deployment["metadata"] == {"name": "web", "labels": {"app": "web"}}
    assert deployment["spec"]["replicas"] == 2 and "replicaz" not in deployment["spec"]
    assert deployment["spec"]["template"]["spec"]["containers"][1] == {
        "name": "b", "image": "y", "ports": [{"containerPort": 80}]}


def test_maps_and_free_form_values_keep_their_keys() -> None:
    config_map = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
                  "data": {"anything": "goes"}}
    assert unknownfields.prune(config_map, {"$ref": "#/definitions/V1ConfigMap"},
                               schemas.resolve) == []
    revision = {"apiVersion": "apps/v1", "kind": "ControllerRevision", "metadata": {"name": "r"},
                "revision": 1, "data": {"spec": {"whatever": True}}}
    assert unknownfields.prune(revision, {"$ref": "#/definitions/V1ControllerRevision"},
                               schemas.resolve) == []
    assert revision["data"] == {"spec": {"whatever": True}}


def test_a_structural_schema_prunes_as_the_crd_says() -> None:
    schema = {"type": "object", "properties": {
        "spec": {"type": "object", "properties": {
            "size": {"type": "integer"},
            "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
            "labels": {"type": "object", "additionalProperties": {"type": "string"}},
            "template": {"type": "object", "x-kubernetes-embedded-resource": True,
                         "properties": {"spec": {"type": "object"}}},
            "items": {"type": "array", "items": {"type": "object", "properties": {
                "name": {"type": "string"}}}}}},
        "status": {"type": "object"}}}
    widget = {"spec": {"size": 1, "colour": "red", "extra": {"free": 1},
                       "labels": {"a": "b"}, "template": {"apiVersion": "v1", "kind": "Pod",
                                                          "spec": {"x": 1}, "bogus": 1},
                       "items": [{"name": "a", "nmae": "b"}]},
              "status": {"ready": True}}
    found = unknownfields.prune(widget, schema, schemas.resolve)
    assert [unknownfields.decoder_path(p) for p in found] == [
        "spec.colour", "spec.template.spec.x", "spec.template.bogus", "spec.items[0].nmae",
        "status.ready"]
    assert widget == {"spec": {"size": 1, "extra": {"free": 1}, "labels": {"a": "b"},
                               "template": {"apiVersion": "v1", "kind": "Pod", "spec": {}},
                               "items": [{"name": "a"}]},
                      "status": {}}


def test_a_value_of_another_type_is_not_pruned() -> None:
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
           "spec": {"containers": "not a list", "nodeName": {"odd": 1}}}
    assert unknownfields.prune(pod, {"$ref": "#/definitions/V1Pod"}, schemas.resolve) == []
