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
from collections.abc import Iterable
from typing import Any

from preview.sandbox.apiserver.apply.patch import merge_key_for
from preview.sandbox.apiserver.encoding import openapi_protobuf, protobuf_schema
from preview.sandbox.apiserver.registry import crds
from preview.sandbox.machinery.resources import Catalog, ResourceType
from preview.sandbox.machinery.schemas import (
    class_schemas,
    definition_name,
    group_prefix,
    model_class,
)


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
    """Definitions for `types` and every schema they reach, under upstream's names
    (`io.k8s.api.core.v1.Container`, not the client's `V1Container`: `kubectl explain` shows
    a field's type by that name)."""
    schemas = class_schemas()
    by_class: dict[str, Any] = {}
    seen: set[str] = set()
    kinds: dict[str, ResourceType] = {}  # class -> the kind it is
    reached_from: dict[str, ResourceType] = {}  # class -> the first kind that reaches it
    custom: dict[str, Any] = {}
    for rt in types:
        cls = model_class(rt)
        if rt.custom:
            schema = (custom_schemas or {}).get((rt.group, rt.version, rt.kind))
            if schema is None:
                custom[definition_name(rt)] = {"type": "object",
                                               "x-kubernetes-preserve-unknown-fields": True}
            else:  # as the real server publishes a CRD's schema: with the object's envelope
                custom[definition_name(rt)] = crds.with_envelope(schema)
                cls = "V1ObjectMeta"
            custom[definition_name(rt)]["x-kubernetes-group-version-kind"] = [_gvk(rt)]
        if cls is not None:
            before = set(by_class)
            _with_merge_keys({"$ref": f"#/definitions/{cls}"}, (), schemas, seen, by_class)
            if not rt.custom:
                kinds[cls] = rt
            for name in set(by_class) - before:
                reached_from[name] = rt
    names = _upstream_names(by_class, kinds, reached_from)
    out: dict[str, Any] = {}
    for cls, schema in by_class.items():
        schema = _renamed_refs(schema, names)
        if cls in kinds:
            schema["x-kubernetes-group-version-kind"] = [_gvk(kinds[cls])]
        out[names[cls]] = schema
    out.update(_renamed_refs(custom, names))
    return out


def _upstream_names(classes: Iterable[str], kinds: dict[str, ResourceType],
                    reached_from: dict[str, ResourceType]) -> dict[str, str]:
    """Each client class's upstream definition name: a kind's from its type; others from
    Kubernetes' protobuf messages (one per definition); a class newer than those is named
    in the group of the kind that reaches it. A class whose name is taken keeps its own."""
    upstream = _upstream_by_class()
    names: dict[str, str] = {}
    taken: set[str] = set()
    for cls in sorted(classes, key=lambda c: c not in kinds):  # kinds claim their names first
        if cls in kinds:
            name = definition_name(kinds[cls])
        elif cls in upstream:
            name = upstream[cls]
        else:
            name = _named_in_group_of(cls, reached_from[cls])
        if name in taken:
            name = cls
        names[cls] = name
        taken.add(name)
    return names


_VERSION = re.compile(r"v\d+(?:(?:alpha|beta)\d+)?")


@functools.cache
def _upstream_by_class() -> dict[str, str]:
    """Client class name -> upstream definition name, for every versioned protobuf message.

    The client names a definition `<Version><Kind>` (`V1Container`), or
    `<Group><Version><Kind>` where two groups share the kind (`CoreV1Event`); upstream names it
    by its Go package (`io.k8s.api.core.v1.Container`), as the message is named in
    `k8s.io.api.core.v1`. Where `<Version><Kind>` alone is ambiguous, apimachinery's wins
    (`V1Preconditions` is meta/v1's: core/v1's is a leftover no API uses).
    """
    short: dict[str, list[str]] = {}
    grouped: dict[str, list[str]] = {}
    for message in protobuf_schema.load():
        *package, group, version, kind = message.split(".")
        if not _VERSION.fullmatch(version) or package[:2] != ["k8s", "io"]:
            continue
        name = ".".join(["io", "k8s", *(p.replace("_", "-") for p in package[2:]),
                         group, version, kind])
        short.setdefault(version.capitalize() + kind, []).append(name)
        grouped.setdefault(group.capitalize() + version.capitalize() + kind, []).append(name)
    out = {cls: ns[0] for cls, ns in short.items() if len(ns) == 1}
    for cls, ns in short.items():
        if len(ns) > 1:
            meta = [n for n in ns if n.startswith("io.k8s.apimachinery.")]
            if len(meta) == 1:
                out[cls] = meta[0]
    out.update({cls: ns[0] for cls, ns in grouped.items() if len(ns) == 1})
    return out


_CLASS = re.compile(r"([A-Z][a-z]*)?(V\d+(?:(?:alpha|beta)\d+)?)([A-Z].*)")


def _named_in_group_of(cls: str, rt: ResourceType) -> str:
    """A class no protobuf message names (newer than kubectl) is upstream's definition in the
    group of the kind reaching it, if it has that kind's version (`V1JSONSchemaProps` from a
    CRD is apiextensions' `JSONSchemaProps`); otherwise its group is unknown and it keeps the
    client's name."""
    m = _CLASS.fullmatch(cls)
    if m is None or m.group(2) != rt.version.capitalize():
        return cls
    return f"{group_prefix(rt.group)}.{rt.version}.{m.group(3)}"


def _renamed_refs(schema: Any, names: dict[str, str]) -> Any:
    if isinstance(schema, list):
        return [_renamed_refs(s, names) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _renamed_refs(v, names) for k, v in schema.items()}
    ref = out.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/definitions/"):
        cls = ref.removeprefix("#/definitions/")
        out["$ref"] = "#/definitions/" + names.get(cls, cls)
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


def openapi_v3_index(catalog: Catalog,
                     custom_schemas: dict[tuple[str, str, str], dict[str, Any]] | None = None
                     ) -> dict[str, Any]:
    """Each group-version's document, named with a hash of what it holds (kubectl caches a
    document by that URL: a CRD's new schema must change it)."""
    paths = {}
    for group, versions in catalog.group_versions().items():
        for version in versions:
            types = catalog.in_group_version(group, version)
            names = sorted(f"{t.resource}:{t.kind}" for t in types)
            held = "|".join(names) + json.dumps(
                [(custom_schemas or {}).get((t.group, t.version, t.kind)) for t in types
                 if t.custom], sort_keys=True)
            digest = hashlib.sha512(held.encode()).hexdigest()[:64].upper()
            key = _gv_key(group, version)
            paths[key] = {"serverRelativeURL": f"/openapi/v3/{key}?hash={digest}"}
    return {"paths": paths}
