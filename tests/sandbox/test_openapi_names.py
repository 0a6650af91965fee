"""The sandbox's OpenAPI definitions carry upstream's names, checked against the definitions
of real Kubernetes releases (as shipped by the `kubernetes-validate` package)."""

from __future__ import annotations

import json
import re
from importlib import resources
from typing import Any

from preview.sandbox.apiserver.endpoints import openapi
from preview.sandbox.machinery.resources import Catalog, ResourceType

# Newer than every release kubernetes-validate ships: the client knows them, upstream's
# name is unknown, so the sandbox keeps the client's (an alpha or beta type of a newer
# release: `V1alpha3TopologyConstraint`).
_UNRELEASED = re.compile(r"V\d+(alpha|beta)\d+[A-Z]\w*")


def _upstream_names() -> set[str]:
    schemas = resources.files("kubernetes_validate").joinpath("kubernetes-json-schema")
    names: set[str] = set()
    for release in schemas.iterdir():
        if release.name.endswith("-local-strict") and release.name >= "v1.30":
            defs = json.loads(release.joinpath("_definitions.json").read_text())["$defs"]
            names |= set(defs)
    return names


def _refs(node: Any) -> set[str]:
    if isinstance(node, list):
        return set().union(*(_refs(n) for n in node)) if node else set()
    if not isinstance(node, dict):
        return set()
    found = set().union(*(_refs(v) for v in node.values())) if node else set()
    ref = node.get("$ref")
    return found | ({ref.removeprefix("#/definitions/")} if isinstance(ref, str) else set())


def test_every_definition_has_an_upstream_name() -> None:
    defs = openapi.openapi_v2(Catalog())["definitions"]
    upstream = _upstream_names()
    unknown = sorted(n for n in defs if n not in upstream)
    assert [n for n in unknown if not _UNRELEASED.fullmatch(n)] == []
    for name in ("io.k8s.api.core.v1.Container", "io.k8s.api.rbac.v1.Role",
                 "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
                 "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps",
                 "io.k8s.api.core.v1.Event",
                 "io.k8s.api.events.v1.Event"):
        assert name in defs


def test_references_resolve_and_each_schema_is_defined_once() -> None:
    defs = openapi.openapi_v2(Catalog())["definitions"]
    assert _refs(defs) <= set(defs)
    # The kind and the client's model of it are one definition, tagged with the kind.
    assert "V1Deployment" not in defs and "V1Container" not in defs
    deployment = defs["io.k8s.api.apps.v1.Deployment"]
    assert deployment["x-kubernetes-group-version-kind"] == [
        {"group": "apps", "version": "v1", "kind": "Deployment"}]
    assert deployment["properties"]["metadata"]["$ref"] == \
        "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
    assert "x-kubernetes-group-version-kind" not in \
        defs["io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"]


def test_a_custom_resource_is_named_by_its_group() -> None:
    widget = ResourceType("example.com", "v1", "widgets", "Widget", namespaced=True, custom=True)
    catalog = Catalog()
    catalog.add_custom([widget])
    schema = {"type": "object", "properties": {"spec": {"type": "object"}}}
    defs = openapi.definitions(catalog.types, {("example.com", "v1", "Widget"): schema})
    widget_props = defs["com.example.v1.Widget"]["properties"]
    assert widget_props["spec"] == schema["properties"]["spec"]
    # The object's envelope, as the real server publishes a CRD's schema.
    assert widget_props["metadata"] == {
        "$ref": "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}
    assert widget_props["apiVersion"] == widget_props["kind"] == {"type": "string"}
    assert defs["com.example.v1.Widget"]["x-kubernetes-group-version-kind"] == [
        {"group": "example.com", "version": "v1", "kind": "Widget"}]
