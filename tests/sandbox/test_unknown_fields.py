"""Unknown fields over HTTP, as the real server treats them: kubectl's strict default refuses
them, `--validate=warn` gets a warning per field and the field is dropped, server-side
apply cannot type them, and a CRD's schema prunes its custom resources."""

from __future__ import annotations

import json
import textwrap
import urllib.error
import urllib.request
from email.message import Message
from typing import Any

import pytest

from preview.sandbox.runner import Sandbox
from tests.conftest import KubectlRunner
from tests.sandbox.crds import crd_manifest

pytestmark = [pytest.mark.sandbox, pytest.mark.tools]


def _config_map(namespace: str, extra: str = "") -> str:
    return textwrap.dedent(f"""\
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: settings
          namespace: {namespace}
        data:
          color: blue
        {extra}""")


def _request(sb: Sandbox, method: str, path: str,
             body: Any) -> tuple[int, Message, dict[str, Any]]:
    req = urllib.request.Request(sb.url + path, data=json.dumps(body).encode(), method=method,
                                 headers={"Authorization": f"Bearer {sb.admin_token}",
                                          "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10, context=sb.ssl_context()) as resp:
            return resp.status, resp.headers, json.loads(resp.read())
    except urllib.error.HTTPError as e:
        return e.code, e.headers, json.loads(e.read())


def test_kubectl_apply_refuses_an_unknown_field(kubectl: KubectlRunner, namespace: str) -> None:
    result = kubectl("apply", "-f", "-", input=_config_map(namespace, "colour: red"),
                     check=False)
    assert result.returncode != 0
    assert ('ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding '
            'error: unknown field "colour"') in result.stderr
    missing = kubectl("get", "configmap", "settings", "-n", namespace, check=False)
    assert missing.returncode != 0  # nothing was stored


def test_validate_warn_drops_the_field_and_says_so(kubectl: KubectlRunner,
                                                    namespace: str) -> None:
    result = kubectl("apply", "--validate=warn", "-f", "-",
                     input=_config_map(namespace, "colour: red"))
    assert 'Warning: unknown field "colour"' in result.stderr
    stored = json.loads(kubectl("get", "configmap", "settings", "-n", namespace,
                                "-o", "json").stdout)
    assert "colour" not in stored
    assert stored["data"] == {"color": "blue"}


def test_server_side_apply_cannot_type_an_unknown_field(kubectl: KubectlRunner,
                                                        namespace: str) -> None:
    manifest = textwrap.dedent(f"""\
        apiVersion: apps/v1
        kind: Deployment
        metadata: {{name: web, namespace: {namespace}}}
        spec:
          selector: {{matchLabels: {{app: web}}}}
          template:
            metadata: {{labels: {{app: web}}}}
            spec:
              containers:
              - {{name: web, image: nginx:1.27, imagePullPolice: Always}}
        """)
    result = kubectl("apply", "--server-side", "-f", "-", input=manifest, check=False)
    assert result.returncode != 0
    assert (f"failed to create typed patch object ({namespace}/web; apps/v1, Kind=Deployment):"
            ' .spec.template.spec.containers[name="web"].imagePullPolice: field not declared'
            " in schema") in result.stderr


def test_the_default_is_warn_and_ignore_is_silent(sandbox: Sandbox, namespace: str) -> None:
    path = f"/api/v1/namespaces/{namespace}/configmaps"
    body = {"metadata": {"name": "a"}, "data": {"k": "v"}, "dta": {"k": "v"}}
    status, headers, obj = _request(sandbox, "POST", path, body)
    assert status == 201
    assert headers.get_all("Warning") == ['299 - "unknown field \\"dta\\""']
    assert "dta" not in obj

    status, headers, obj = _request(sandbox, "POST", path + "?fieldValidation=Ignore",
                                    {**body, "metadata": {"name": "b"}})
    assert status == 201 and headers.get_all("Warning") is None and "dta" not in obj

    status, _, answer = _request(sandbox, "POST", path + "?fieldValidation=Loose",
                                 {**body, "metadata": {"name": "c"}})
    assert status == 422
    assert 'fieldValidation: Unsupported value: "Loose"' in answer["message"]


def test_a_merge_patch_with_an_unknown_field(sandbox: Sandbox, namespace: str) -> None:
    path = f"/api/v1/namespaces/{namespace}/configmaps"
    assert _request(sandbox, "POST", path, {"metadata": {"name": "p"}})[0] == 201
    req = urllib.request.Request(
        sandbox.url + path + "/p?fieldValidation=Strict", method="PATCH",
        data=json.dumps({"data": {"k": "v"}, "dat": 1}).encode(),
        headers={"Authorization": f"Bearer {sandbox.admin_token}",
                 "Content-Type": "application/merge-patch+json"})
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req, timeout=10, context=sandbox.ssl_context())
    assert e.value.code == 400
    assert 'strict decoding error: unknown field "dat"' in json.loads(e.value.read())["message"]


def test_a_crd_schema_prunes_its_custom_resources(kubectl: KubectlRunner, sandbox: Sandbox,
                                                  namespace: str) -> None:
    kubectl("apply", "-f", "-", input=crd_manifest("prune.example.com", "Gadget", {
        "properties": {"size": {"type": "integer"}, "extra": {
            "type": "object", "x-kubernetes-preserve-unknown-fields": True}}}))
    path = f"/apis/prune.example.com/v1/namespaces/{namespace}/gadgets"
    body = {"apiVersion": "prune.example.com/v1", "kind": "Gadget",
            "metadata": {"name": "g"},
            "spec": {"size": 1, "colour": "red", "extra": {"free": True}}}
    status, headers, obj = _request(sandbox, "POST", path, body)
    assert status == 201, obj
    assert headers.get_all("Warning") == ['299 - "unknown field \\"spec.colour\\""']
    assert obj["spec"] == {"size": 1, "extra": {"free": True}}

    strict = {**body, "metadata": {"name": "h"}}
    status, _, answer = _request(sandbox, "POST", path + "?fieldValidation=Strict", strict)
    assert status == 400
    assert answer["message"] == ('Gadget in version "v1" cannot be handled as a Gadget: strict '
                                 'decoding error: unknown field "spec.colour"')


def _deployment(namespace: str, replicas: str) -> str:
    return textwrap.dedent(f"""\
        apiVersion: apps/v1
        kind: Deployment
        metadata: {{name: typed, namespace: {namespace}}}
        spec:
          replicas: {replicas}
          selector: {{matchLabels: {{app: typed}}}}
          template:
            metadata: {{labels: {{app: typed}}}}
            spec:
              containers:
              - {{name: web, image: nginx:1.27}}
        """)


def test_a_value_of_the_wrong_type_is_refused_whatever_the_directive(
        kubectl: KubectlRunner, namespace: str) -> None:
    for validate in ("--validate=strict", "--validate=ignore"):
        result = kubectl("apply", validate, "-f", "-", input=_deployment(namespace, '"3"'),
                         check=False)
        assert result.returncode != 0
        assert ('Deployment in version "v1" cannot be handled as a Deployment: json: cannot '
                'unmarshal string into Go struct field DeploymentSpec.spec.replicas of type '
                'int32') in result.stderr
    kubectl("apply", "-f", "-", input=_deployment(namespace, "3"))  # the number is fine


def test_server_side_apply_names_a_wrong_type_its_own_way(kubectl: KubectlRunner,
                                                          namespace: str) -> None:
    result = kubectl("apply", "--server-side", "-f", "-", input=textwrap.dedent(f"""\
        apiVersion: v1
        kind: ConfigMap
        metadata: {{name: typed, namespace: {namespace}}}
        data: {{port: 8080}}
        """), check=False)
    assert result.returncode != 0
    assert (f"failed to create typed patch object ({namespace}/typed; /v1, Kind=ConfigMap): "
            ".data.port: expected string, got &value.valueUnstructured{Value:8080}"
            ) in result.stderr


def test_a_crd_schema_validates_its_custom_resources(kubectl: KubectlRunner,
                                                     namespace: str) -> None:
    kubectl("apply", "-f", "-", input=crd_manifest("valid.example.com", "Dial", {
        "required": ["level"], "properties": {
            "level": {"type": "integer", "minimum": 1, "maximum": 11},
            "mode": {"type": "string", "enum": ["quiet", "loud"]}}}))
    dial = textwrap.dedent(f"""\
        apiVersion: valid.example.com/v1
        kind: Dial
        metadata: {{name: amp, namespace: {namespace}}}
        spec: {{level: LEVEL, mode: MODE}}
        """)
    result = kubectl("apply", "-f", "-", input=dial.replace("LEVEL", '"11"')
                     .replace("MODE", "loud"), check=False)
    assert result.returncode != 0
    assert ('The Dial "amp" is invalid: spec.level: Invalid value: "string": spec.level in body'
            ' must be of type integer: "string"') in result.stderr
    result = kubectl("apply", "-f", "-", input=dial.replace("LEVEL", "12")
                     .replace("MODE", "deafening"), check=False)
    assert result.returncode != 0
    assert "spec.level: Invalid value: 12: spec.level in body should be less than or equal " \
           "to 11" in result.stderr
    assert 'spec.mode: Unsupported value: "deafening": supported values: "quiet", "loud"' \
        in result.stderr
    kubectl("apply", "-f", "-", input=dial.replace("LEVEL", "11").replace("MODE", "loud"))
