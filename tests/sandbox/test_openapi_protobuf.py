"""`/openapi/v2` in protobuf, as kubectl asks for it: the real kubectl validates a `kind: List`
client-side against it, and the encoding is checked against gnostic's descriptor embedded in
that same kubectl binary."""

from __future__ import annotations

import json
import struct
import textwrap
import urllib.error
import urllib.request
from email.message import Message
from pathlib import Path
from typing import Any

import pytest

from preview.sandbox.apiserver.encoding import openapi_protobuf, wire
from preview.sandbox.apiserver.encoding.protobuf_schema import Schema, embedded_messages
from preview.sandbox.apiserver.endpoints import openapi
from preview.sandbox.machinery.resources import Catalog, ResourceType
from preview.sandbox.runner import Sandbox
from tests.conftest import KubectlRunner

pytestmark = [pytest.mark.sandbox, pytest.mark.tools]

REQUESTED = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"


def _get(sb: Sandbox, path: str, accept: str) -> tuple[int, str, bytes]:
    status, headers, body = _request(sb, path, {"Accept": accept})
    return status, headers.get("Content-Type", ""), body


def _request(sb: Sandbox, path: str,
             headers: dict[str, str]) -> tuple[int, Message, bytes]:
    req = urllib.request.Request(sb.url + path, headers={
        "Authorization": f"Bearer {sb.admin_token}", **headers})
    try:
        with urllib.request.urlopen(req, timeout=30, context=sb.ssl_context()) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def _decode(data: bytes, message: str, schema: Schema) -> dict[str, Any]:
    """A protobuf message into {field name: value} by the descriptor (lists for repeated)."""
    out: dict[str, Any] = {}
    for number, kind, raw in wire.fields(data):
        name, typ, repeated = schema[message][number]
        value: Any
        if kind == wire.VARINT:
            value = bool(raw) if typ == "bool" else raw
        elif kind == wire.FIXED64:
            value = struct.unpack("<d", bytes(raw))[0]
        else:
            assert isinstance(raw, bytes)
            value = raw.decode() if typ == "string" else _decode(raw, typ, schema)
        if repeated:
            out.setdefault(name, []).append(value)
        else:
            out[name] = value
    return out


@pytest.fixture(scope="module")
def gnostic(kubectl_path: str) -> Schema:
    return embedded_messages(Path(kubectl_path), "openapiv2/OpenAPIv2.proto")


def test_the_protobuf_document_reads_back_by_gnostic_descriptor(
        sandbox: Sandbox, gnostic: Schema) -> None:
    status, content_type, body = _get(sandbox, "/openapi/v2", REQUESTED)
    assert status == 200
    # `@` is no token character: the answer names the spelling Go's mime parser accepts.
    assert content_type == openapi_protobuf.MEDIA_TYPE

    doc = _decode(body, "openapi.v2.Document", gnostic)
    assert doc["swagger"] == "2.0"
    definitions = {d["name"]: d["value"] for d in doc["definitions"]["additional_properties"]}
    config_map = definitions["io.k8s.api.core.v1.ConfigMap"]
    assert config_map["type"]["value"] == ["object"]
    gvk = {e["name"]: json.loads(e["value"]["yaml"]) for e in config_map["vendor_extension"]}
    assert gvk["x-kubernetes-group-version-kind"] == [
        {"group": "", "version": "v1", "kind": "ConfigMap"}]
    props = {p["name"]: p["value"] for p in config_map["properties"]["additional_properties"]}
    data = props["data"]
    assert data["type"]["value"] == ["object"]
    assert data["additional_properties"]["schema"]["type"]["value"] == ["string"]
    assert props["metadata"]["_ref"].startswith("#/definitions/")

    paths = {p["name"]: p["value"] for p in doc["paths"]["path"]}
    create = paths["/api/v1/namespaces/{namespace}/configmaps"]["post"]
    assert create["operation_id"] == "postConfigMap"
    body_param = create["parameters"][-1]["parameter"]["body_parameter"]
    assert body_param["schema"]["_ref"] == "#/definitions/io.k8s.api.core.v1.ConfigMap"


def test_list_fields_are_arrays_in_the_schema(sandbox: Sandbox) -> None:
    """Every list of the client's models is an array of its item type (never a `$ref` to a
    name such as `List[V1Container]`, which kubectl rejects as an unknown model)."""
    status, _, body = _get(sandbox, "/openapi/v2", "application/json")
    assert status == 200
    defs = json.loads(body)["definitions"]
    spec = defs[defs["io.k8s.api.apps.v1.Deployment"]["properties"]["spec"]["$ref"]
                .rsplit("/", 1)[-1]]
    template = defs[spec["properties"]["template"]["$ref"].rsplit("/", 1)[-1]]
    pod_spec = defs[template["properties"]["spec"]["$ref"].rsplit("/", 1)[-1]]
    containers = pod_spec["properties"]["containers"]
    assert containers["type"] == "array"
    assert containers["items"]["$ref"].rsplit("/", 1)[-1] in defs
    refs = json.dumps(defs).split('"$ref": "#/definitions/')[1:]
    assert not [r for r in refs if r.startswith(("List[", "Dict[", "list[", "dict("))]


def test_kubectl_validates_a_list_against_the_protobuf_document(
        kubectl: KubectlRunner, namespace: str) -> None:
    items = textwrap.dedent(f"""\
        apiVersion: v1
        kind: List
        items:
        - apiVersion: v1
          kind: ConfigMap
          metadata: {{name: first, namespace: {namespace}}}
          data: {{color: blue}}
        - apiVersion: v1
          kind: ConfigMap
          metadata: {{name: second, namespace: {namespace}}}
        """)
    kubectl("apply", "-f", "-", input=items)
    names = kubectl("get", "configmaps", "-n", namespace, "-o", "name").stdout.split()
    assert {"configmap/first", "configmap/second"} <= set(names)

    bad = items.replace("data: {color: blue}", "data: {color: blue}\n  colour: red")
    result = kubectl("apply", "-f", "-", input=bad, check=False)
    assert result.returncode != 0
    assert 'unknown field "colour"' in result.stderr


@pytest.mark.parametrize(("accept", "answer"), [
    ("", "application/json"),
    ("*/*", "application/json"),
    ("application/json", "application/json"),
    (REQUESTED, openapi_protobuf.MEDIA_TYPE),
    (openapi_protobuf.MEDIA_TYPE, openapi_protobuf.MEDIA_TYPE),
    (f"application/json;q=0.5, {REQUESTED}", openapi_protobuf.MEDIA_TYPE),
    (f"{REQUESTED};q=0.1, application/*", "application/json"),
    ("text/html", None),
    ("application/json;q=0", None),
])
def test_negotiation(accept: str, answer: str | None) -> None:
    assert openapi_protobuf.negotiate(accept) == answer


def test_an_unacceptable_type_is_406(sandbox: Sandbox) -> None:
    status, _, _ = _get(sandbox, "/openapi/v2", "text/html")
    assert status == 406


def test_encoding_keeps_a_false_additional_properties() -> None:
    """A member of a oneof is present even when false: `additionalProperties: false` must not
    vanish (it would allow any property)."""
    encoded = openapi_protobuf.encode_document(
        {"swagger": "2.0", "definitions": {"x": {"type": "object",
                                                   "additionalProperties": False}}})
    assert b"\xaa\x01\x02\x10\x00" in encoded  # field 21 {field 2: false}


@pytest.mark.parametrize("accept", ["application/json", REQUESTED])
def test_a_client_that_has_the_document_gets_304(sandbox: Sandbox, accept: str) -> None:
    """kube-openapi tags each encoding with an ETag and answers If-None-Match with 304,
    so a client with a cached copy does not download the document again."""
    status, headers, body = _request(sandbox, "/openapi/v2", {"Accept": accept})
    assert status == 200 and body
    etag = headers["Etag"]
    assert etag.startswith('"') and etag.endswith('"')

    again, headers, body = _request(sandbox, "/openapi/v2",
                                    {"Accept": accept, "If-None-Match": f'"other", {etag}'})
    assert (again, body, headers["Etag"]) == (304, b"", etag)
    stale, _, body = _request(sandbox, "/openapi/v2",
                              {"Accept": accept, "If-None-Match": '"other"'})
    assert stale == 200 and body


def test_each_encoding_has_its_own_etag(sandbox: Sandbox) -> None:
    _, as_json, _ = _request(sandbox, "/openapi/v2", {"Accept": "application/json"})
    _, as_protobuf, _ = _request(sandbox, "/openapi/v2", {"Accept": REQUESTED})
    assert as_json["Etag"] != as_protobuf["Etag"]


def test_the_document_is_built_again_when_a_crd_changes_the_served_types() -> None:
    catalog = Catalog()
    documents = openapi.V2Documents(catalog)
    first = documents.get("application/json")
    assert documents.get("application/json") is first
    catalog.add_custom([ResourceType("example.com", "v1", "gadgets", "Gadget", True, custom=True)])
    assert documents.get("application/json") is not first


@pytest.mark.parametrize(("header", "matches"), [
    ('"abc"', True), ('W/"abc"', True), ('"x", "abc"', True), ("*", True),
    ('"abcd"', False), ("", False), ("abc", False),
])
def test_if_none_match(header: str, matches: bool) -> None:
    assert openapi.none_match(header, '"abc"') is matches
