"""Protobuf request bodies decode into the JSON shape (pure, no server)."""

from __future__ import annotations

import pytest

from preview.sandbox.apiserver.encoding import protobuf, wire
from preview.sandbox.machinery.status import StatusError


def field(number: int, value: int | bytes | str) -> bytes:
    if isinstance(value, int):
        return wire.encode_varint(number << 3) + wire.encode_varint(value)
    data = value.encode() if isinstance(value, str) else value
    return wire.encode_varint(number << 3 | 2) + wire.encode_varint(len(data)) + data


def unknown(api_version: str, kind: str, raw: bytes) -> bytes:
    type_meta = field(1, api_version) + field(2, kind)
    return protobuf.MAGIC + field(1, type_meta) + field(2, raw)


def test_deployment_with_maps_intorstring_inline_and_zero_time() -> None:
    meta = (field(1, "web") + field(11, field(1, "app") + field(2, "web"))
            + field(8, b"") + field(2, ""))  # zero creationTimestamp, empty generateName
    port = field(3, 8080)  # ContainerPort.containerPort
    container = field(1, "web") + field(2, "nginx") + field(6, port)
    volume = field(1, "data") + field(2, field(2, b""))  # VolumeSource.emptyDir: {}
    pod_spec = field(1, volume) + field(2, container)
    template = field(1, field(11, field(1, "app") + field(2, "web"))) + field(2, pod_spec)
    strategy = field(2, field(1, field(1, 1) + field(3, "25%")))  # maxUnavailable "25%"
    spec = field(1, 3) + field(3, template) + field(4, strategy)
    body = unknown("apps/v1", "Deployment", field(1, meta) + field(2, spec))

    obj = protobuf.decode(body)

    assert obj["apiVersion"] == "apps/v1" and obj["kind"] == "Deployment"
    assert obj["metadata"] == {"name": "web", "labels": {"app": "web"}}
    assert obj["spec"]["replicas"] == 3
    assert obj["spec"]["strategy"] == {"rollingUpdate": {"maxUnavailable": "25%"}}
    pod = obj["spec"]["template"]["spec"]
    assert pod["volumes"] == [{"name": "data", "emptyDir": {}}]  # VolumeSource inlined
    assert pod["containers"][0]["ports"] == [{"containerPort": 8080}]


def test_delete_options_are_meta_v1() -> None:
    body = unknown("v1", "DeleteOptions", field(1, 0) + field(4, "Foreground"))
    assert protobuf.decode(body) == {"apiVersion": "v1", "kind": "DeleteOptions",
                                     "gracePeriodSeconds": 0,
                                     "propagationPolicy": "Foreground"}


def test_time_is_rfc3339() -> None:
    assert protobuf.decode_message(field(1, 1767225600),
                                   "k8s.io.apimachinery.pkg.apis.meta.v1.Time") == \
        "2026-01-01T00:00:00Z"


@pytest.mark.parametrize(("body", "code"), [
    (b"not-protobuf", 400),
    (protobuf.MAGIC + b"\xff", 400),
    (unknown("example.com/v1", "Widget", b""), 415),
])
def test_bad_bodies_are_client_errors(body: bytes, code: int) -> None:
    with pytest.raises(StatusError) as e:
        protobuf.decode(body)
    assert e.value.code == code


def test_every_map_of_messages_decodes_to_its_json_shape() -> None:
    """Map values that are messages: Go slices (`ExtraValue`) become lists, the rest objects
    or their special JSON forms; a new kind of map value must be looked at."""
    from preview.sandbox.apiserver.encoding import protobuf_schema

    values = {t.split(":", 2)[2] for fields in protobuf_schema.load().values()
              for _, t, _ in fields.values()
              if t.startswith("map:") and "." in t.split(":", 2)[2]}
    assert {v.rsplit(".", 1)[-1] for v in values} == {
        "ExtraValue", "Counter", "DeviceAttribute", "DeviceCapacity", "Quantity", "Time"}
    extra = field(1, "read") + field(1, "write")
    for message in (v for v in values if v.endswith(".ExtraValue")):
        assert protobuf.decode_message(extra, message) == ["read", "write"]
    attribute = next(v for v in values if v.endswith("v1.DeviceAttribute"))
    assert protobuf.decode_message(field(4, "gpu"), attribute) == {"string": "gpu"}
