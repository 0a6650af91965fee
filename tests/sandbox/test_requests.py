"""Routing rules: which resource, namespace, name and verb a request path names."""

from __future__ import annotations

import pytest

from preview.sandbox.apiserver.endpoints.requests import (
    MAX_BODY,
    decode_body,
    delete_options,
    parse_path,
)
from preview.sandbox.machinery.status import StatusError


@pytest.mark.parametrize(("method", "path", "query", "expected"), [
    ("GET", "/api/v1/namespaces/a/pods", {}, ("", "v1", "a", "pods", "", "", "list")),
    ("GET", "/api/v1/namespaces/a/pods", {"watch": "true"},
     ("", "v1", "a", "pods", "", "", "watch")),
    ("GET", "/api/v1/pods", {}, ("", "v1", "", "pods", "", "", "list")),
    ("POST", "/apis/apps/v1/namespaces/a/deployments", {},
     ("apps", "v1", "a", "deployments", "", "", "create")),
    ("PUT", "/apis/apps/v1/namespaces/a/deployments/web/scale", {},
     ("apps", "v1", "a", "deployments", "web", "scale", "update")),
    ("GET", "/api/v1/namespaces/a", {}, ("", "v1", "a", "namespaces", "a", "", "get")),
    ("PUT", "/api/v1/namespaces/a/finalize", {},
     ("", "v1", "a", "namespaces", "a", "finalize", "update")),
    ("DELETE", "/api/v1/namespaces/a/configmaps", {},
     ("", "v1", "a", "configmaps", "", "", "deletecollection")),
    ("PATCH", "/api/v1/nodes/n1/status", {}, ("", "v1", "", "nodes", "n1", "status", "patch")),
])
def test_resource_paths(method: str, path: str, query: dict[str, str],
                        expected: tuple[str, ...]) -> None:
    info = parse_path(method, path, query)
    assert info.is_resource
    assert (info.group, info.version, info.namespace, info.resource, info.name,
            info.subresource, info.verb) == expected


def test_proxy_path_keeps_the_rest() -> None:
    info = parse_path("GET", "/api/v1/namespaces/a/pods/web:8080/proxy/healthz/deep", {})
    assert (info.name, info.subresource, info.extra) == ("web:8080", "proxy", ("healthz", "deep"))


@pytest.mark.parametrize("path", ["/version", "/api", "/apis", "/apis/apps", "/apis/apps/v1",
                                  "/api/v1", "/openapi/v2", "/healthz"])
def test_non_resource_paths(path: str) -> None:
    assert not parse_path("GET", path, {}).is_resource


def test_malformed_json_is_400_naming_the_position() -> None:
    with pytest.raises(StatusError) as e:
        decode_body(b'{"kind": ', "application/json")
    assert e.value.code == 400
    assert "json parse error" in e.value.message


def test_malformed_yaml_is_400() -> None:
    with pytest.raises(StatusError) as e:
        decode_body(b"a: [1, 2\nb: c", "application/yaml")
    assert e.value.code == 400
    assert e.value.message.startswith("error converting YAML to JSON")


def test_oversized_body_is_413() -> None:
    with pytest.raises(StatusError) as e:
        decode_body(b" " * (MAX_BODY + 1), "application/json")
    assert e.value.code == 413
    assert e.value.reason == "RequestEntityTooLarge"


def test_unknown_media_type_is_415() -> None:
    with pytest.raises(StatusError) as e:
        decode_body(b"x", "text/plain")
    assert e.value.code == 415


def test_unknown_patch_type_is_415() -> None:
    with pytest.raises(StatusError) as e:
        decode_body(b"{}", "application/json", patch=True)
    assert e.value.code == 415


def test_delete_options_from_body_and_query() -> None:
    opts = delete_options({"gracePeriodSeconds": "0"}, {
        "kind": "DeleteOptions", "propagationPolicy": "Foreground",
        "preconditions": {"uid": "u1"}})
    assert (opts.propagation, opts.grace_period, opts.uid) == ("Foreground", 0, "u1")
    assert delete_options({}, {"orphanDependents": True}).propagation == "Orphan"
    with pytest.raises(StatusError) as e:
        delete_options({"propagationPolicy": "Sometimes"}, None)
    assert e.value.code == 422
