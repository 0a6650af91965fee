"""OpenAPI v2 and v3 documents, generated from the official client's models.

kubectl needs them: `kubectl explain` reads v3 schemas, and kubectl (and helm) ask the v3
document whether a kind's PATCH accepts the `fieldValidation` query parameter — when it
does they validate on the server and skip client-side schema validation (cli-runtime's
`queryParamVerifierV3`). Custom resources get their CRD's `openAPIV3Schema`.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from typing import Any

from kubernetes.client import models

from preview.sandbox.apiserver.apply.patch import merge_key_for
from preview.sandbox.apiserver.encoding import openapi_protobuf
from preview.sandbox.machinery.resources import Catalog, ResourceType

_PRIMITIVES: dict[str, dict[str, Any]] = {
    "str": {"type": "string"},
    "int": {"type": "integer", "format": "int64"},
    "float": {"type": "number", "format": "double"},
    "bool": {"type": "boolean"},
    "datetime": {"type": "string", "format": "date-time"},
    "date": {"type": "string", "format": "date"},
    "bytes": {"type": "string", "format": "byte"},
    "object": {"x-kubernetes-preserve-unknown-fields": True},
}
_CLASS_OVERRIDES = {("", "v1", "Event"): "CoreV1Event", ("events.k8s.io", "v1", "Event"):
                    "EventsV1Event"}


def _group_prefix(group: str) -> str:
    if not group:
        return "io.k8s.api.core"
    if group.endswith(".k8s.io"):
        short = group.removesuffix(".k8s.io").replace(".", "")
        if group == "apiregistration.k8s.io":
            return "io.k8s.kube-aggregator.pkg.apis.apiregistration"
        if group == "apiextensions.k8s.io":
            return "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions"
        return f"io.k8s.api.{short}"
    return "io.k8s.api." + group


def definition_name(rt: ResourceType) -> str:
    if rt.custom:
        return ".".join(reversed(rt.group.split("."))) + f".{rt.version}.{rt.kind}"
    return f"{_group_prefix(rt.group)}.{rt.version}.{rt.kind}"


def model_class(rt: ResourceType) -> str | None:
    name = _CLASS_OVERRIDES.get((rt.group, rt.version, rt.kind),
                                f"{rt.version.capitalize()}{rt.kind}")
    return name if hasattr(models, name) else None


def _snake_to_attr(cls: Any) -> dict[str, str]:
    return dict(cls.attribute_map)


@functools.cache
def _class_schemas() -> dict[str, dict[str, Any]]:
    """Schema of every model class by class name, with `$ref`s to `#/definitions/<name>`."""
    out: dict[str, dict[str, Any]] = {}
    for name in dir(models):
        cls = getattr(models, name)
        if not isinstance(cls, type) or not hasattr(cls, "openapi_types"):
            continue
        props: dict[str, Any] = {}
        attribute_map: dict[str, str] = getattr(cls, "attribute_map", {})
        for attr, typ in cls.openapi_types.items():
            json_name = attribute_map.get(attr, attr)
            props[json_name] = _type_schema(typ)
        out[name] = {"type": "object", "properties": props}
    return out


def _type_schema(typ: str) -> dict[str, Any]:
    if typ in _PRIMITIVES:
        return dict(_PRIMITIVES[typ])
    # Older releases of the client spell containers `list[T]`/`dict(str, T)`, newer ones
    # `List[T]`/`Dict[str, T]`.
    m = re.fullmatch(r"[lL]ist\[(.+)\]", typ)
    if m:
        return {"type": "array", "items": _type_schema(m.group(1))}
    m = re.fullmatch(r"dict\(str, (.+)\)|Dict\[str, (.+)\]", typ)
    if m:
        return {"type": "object", "additionalProperties": _type_schema(m.group(1) or m.group(2))}
    return {"$ref": f"#/definitions/{typ}"}


def _with_merge_keys(schema: Any, path: tuple[str, ...], schemas: dict[str, Any],
                     seen: set[str], out: dict[str, Any]) -> None:
    """Collect the class schemas reachable from `schema`, annotating merge keys on lists."""
    if not isinstance(schema, dict):
        return
    ref = schema.get("$ref")
    if ref:
        name = ref.rsplit("/", 1)[-1]
        if name in seen or name not in schemas:
            return
        seen.add(name)
        copy = json.loads(json.dumps(schemas[name]))
        out[name] = copy
        for prop, sub in copy.get("properties", {}).items():
            _annotate(sub, (*path, prop))
            _with_merge_keys(sub, (*path, prop), schemas, seen, out)
        return
    if schema.get("type") == "array":
        _with_merge_keys(schema.get("items"), path, schemas, seen, out)
    elif isinstance(schema.get("additionalProperties"), dict):
        _with_merge_keys(schema["additionalProperties"], path, schemas, seen, out)


def _annotate(schema: dict[str, Any], path: tuple[str, ...]) -> None:
    if schema.get("type") != "array":
        return
    key = merge_key_for(path)
    if key:
        schema["x-kubernetes-patch-merge-key"] = key
        schema["x-kubernetes-patch-strategy"] = "merge"
        schema["x-kubernetes-list-type"] = "map"
        schema["x-kubernetes-list-map-keys"] = [key]
    elif path and path[-1] == "finalizers":
        schema["x-kubernetes-patch-strategy"] = "merge"
        schema["x-kubernetes-list-type"] = "set"


def _gvk(rt: ResourceType) -> dict[str, str]:
    return {"group": rt.group, "version": rt.version, "kind": rt.kind}


def definitions(types: list[ResourceType],
                custom_schemas: dict[tuple[str, str, str], dict[str, Any]] | None = None
                ) -> dict[str, Any]:
    """Definitions for `types`: the kinds under their canonical names, helpers by class."""
    schemas = _class_schemas()
    out: dict[str, Any] = {}
    seen: set[str] = set()
    for rt in types:
        cls = model_class(rt)
        if rt.custom:
            schema = dict((custom_schemas or {}).get((rt.group, rt.version, rt.kind))
                          or {"type": "object", "x-kubernetes-preserve-unknown-fields": True})
        elif cls is not None:
            _with_merge_keys({"$ref": f"#/definitions/{cls}"}, (), schemas, seen, out)
            schema = dict(out[cls])
        else:
            continue
        schema["x-kubernetes-group-version-kind"] = [_gvk(rt)]
        out[definition_name(rt)] = schema
    return out


_COMMON_PARAMS = [
    {"name": "pretty", "in": "query", "schema": {"type": "string"}},
]
_WRITE_PARAMS = [
    {"name": "dryRun", "in": "query", "schema": {"type": "string"}},
    {"name": "fieldManager", "in": "query", "schema": {"type": "string"}},
    {"name": "fieldValidation", "in": "query", "schema": {"type": "string"}},
]


def _operations(rt: ResourceType, ref: str, v3: bool) -> dict[str, dict[str, Any]]:
    """Paths and operations for one resource, in v2 or v3 form."""
    base = f"/api/{rt.version}" if not rt.group else f"/apis/{rt.group}/{rt.version}"
    collection = f"{base}/namespaces/{{namespace}}/{rt.resource}" if rt.namespaced \
        else f"{base}/{rt.resource}"
    item = collection + "/{name}"
    gvk = _gvk(rt)

    def op(action: str, params: list[dict[str, Any]], body: bool = False,
           patch: bool = False) -> dict[str, Any]:
        operation: dict[str, Any] = {
            "operationId": f"{action}{rt.kind}", "tags": [rt.group or "core"],
            "x-kubernetes-action": action, "x-kubernetes-group-version-kind": gvk,
            "parameters": [_param(p, v3) for p in _COMMON_PARAMS + params],
            "responses": {"200": _response(ref, v3)},
        }
        if body:
            media = (["application/json-patch+json", "application/merge-patch+json",
                      "application/strategic-merge-patch+json", "application/apply-patch+yaml"]
                     if patch else ["application/json"])
            if v3:
                operation["requestBody"] = {"content": {m: {"schema": {"$ref": ref}}
                                                        for m in media}, "required": True}
            else:
                operation["parameters"].append({"name": "body", "in": "body", "required": True,
                                                "schema": {"$ref": ref}})
                operation["consumes"] = media
        return operation

    write = _WRITE_PARAMS
    paths = {
        collection: {"get": op("list", []), "post": op("post", write, body=True)},
        item: {"get": op("get", []), "put": op("put", write, body=True),
               "patch": op("patch", [*write, {"name": "force", "in": "query",
                                              "schema": {"type": "boolean"}}],
                           body=True, patch=True),
               "delete": op("delete", [{"name": "dryRun", "in": "query",
                                        "schema": {"type": "string"}}])},
    }
    return paths


def _param(p: dict[str, Any], v3: bool) -> dict[str, Any]:
    if v3:
        return dict(p)
    out = {k: v for k, v in p.items() if k != "schema"}
    out.update(p.get("schema", {}))
    return out


def _response(ref: str, v3: bool) -> dict[str, Any]:
    if v3:
        return {"description": "OK", "content": {"application/json": {"schema": {"$ref": ref}}}}
    return {"description": "OK", "schema": {"$ref": ref}}


def openapi_v2(catalog: Catalog,
               custom_schemas: dict[tuple[str, str, str], dict[str, Any]] | None = None
               ) -> dict[str, Any]:
    types = list(catalog.types)
    defs = definitions(types, custom_schemas)
    paths: dict[str, Any] = {}
    for rt in types:
        if definition_name(rt) in defs:
            paths.update(_operations(rt, f"#/definitions/{definition_name(rt)}", v3=False))
    return {"swagger": "2.0", "info": {"title": "Kubernetes", "version": "v1.34.2"},
            "paths": paths, "definitions": defs}


class V2Documents:
    """`/openapi/v2` as served: each media type's bytes and ETag, built once per served types.

    kube-openapi keeps the encoded document and its ETag until the spec changes and answers a
    matching If-None-Match with 304. The catalog replaces its `types` list whenever a CRD
    comes or goes, so the list's identity says when to build again.
    """

    def __init__(self, catalog: Catalog) -> None:
        self._catalog = catalog
        self._types: list[ResourceType] | None = None
        self._served: dict[str, tuple[bytes, str]] = {}

    def get(self, media: str) -> tuple[bytes, str]:
        """The body in `media` (JSON or gnostic protobuf) and its quoted ETag."""
        if self._catalog.types is not self._types:
            self._types, self._served = self._catalog.types, {}
        if media not in self._served:
            doc = openapi_v2(self._catalog)
            body = (openapi_protobuf.encode_document(doc) if media == openapi_protobuf.MEDIA_TYPE
                    else json.dumps(doc, separators=(",", ":")).encode())
            self._served[media] = body, f'"{hashlib.sha512(body).hexdigest().upper()}"'
        return self._served[media]


def none_match(if_none_match: str, etag: str) -> bool:
    """True when an If-None-Match header names `etag` (weakly) or is `*` (RFC 9110 13.1.2)."""
    for tag in if_none_match.split(","):
        tag = tag.strip()
        if tag == "*" or tag.removeprefix("W/") == etag:
            return True
    return False


def _gv_key(group: str, version: str) -> str:
    return f"api/{version}" if not group else f"apis/{group}/{version}"


def openapi_v3_group_version(catalog: Catalog, group: str, version: str,
                             custom_schemas: dict[tuple[str, str, str], dict[str, Any]] | None
                             = None) -> dict[str, Any]:
    types = catalog.in_group_version(group, version)
    defs = definitions(types, custom_schemas)
    paths: dict[str, Any] = {}
    for rt in types:
        if definition_name(rt) in defs:
            paths.update(_operations(rt, f"#/components/schemas/{definition_name(rt)}", v3=True))
    text = json.dumps(defs).replace('"#/definitions/', '"#/components/schemas/')
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": "v1.34.2"},
            "paths": paths, "components": {"schemas": json.loads(text)}}


def openapi_v3_index(catalog: Catalog) -> dict[str, Any]:
    paths = {}
    for group, versions in catalog.group_versions().items():
        for version in versions:
            names = sorted(f"{t.resource}:{t.kind}" for t in catalog.in_group_version(group,
                                                                                        version))
            digest = hashlib.sha512("|".join(names).encode()).hexdigest()[:64].upper()
            key = _gv_key(group, version)
            paths[key] = {"serverRelativeURL": f"/openapi/v3/{key}?hash={digest}"}
    return {"paths": paths}
