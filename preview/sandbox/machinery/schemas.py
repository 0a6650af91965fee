"""The schemas of the built-in kinds, read from the official Python client's models.

Each model class (`V1Deployment`, `V1Container`…) knows its fields' JSON names and types;
that is the sandbox's source for the OpenAPI documents it serves and for telling a field the
real server would not know (unknown fields are dropped, or refused under
`fieldValidation=Strict`). A schema refers to another class as `#/definitions/<class>`.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from kubernetes.client import models

from preview.sandbox.machinery.resources import ResourceType

REF_PREFIX = "#/definitions/"

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


def model_class(rt: ResourceType) -> str | None:
    """The client's model class of a built-in kind (None for a kind it has no model of)."""
    name = _CLASS_OVERRIDES.get((rt.group, rt.version, rt.kind),
                                f"{rt.version.capitalize()}{rt.kind}")
    return name if hasattr(models, name) else None


@functools.cache
def class_schemas() -> dict[str, dict[str, Any]]:
    """Schema of every model class by class name, with `$ref`s to `#/definitions/<name>`."""
    out: dict[str, dict[str, Any]] = {}
    for name in dir(models):
        schema = class_schema(name)
        if schema is not None:
            out[name] = schema
    return out


@functools.cache
def class_schema(name: str) -> dict[str, Any] | None:
    """One model class's schema (None if there is no such class): built when first asked,
    so a write checks its kind without the server building all 800 at start."""
    cls = getattr(models, name, None)
    if not isinstance(cls, type) or not hasattr(cls, "openapi_types"):
        return None
    attribute_map: dict[str, str] = getattr(cls, "attribute_map", {})
    props = {attribute_map.get(attr, attr): _type_schema(typ)
             for attr, typ in cls.openapi_types.items()}
    return {"type": "object", "properties": props}


def resolve(ref: str) -> dict[str, Any] | None:
    """The class schema a `#/definitions/<class>` reference names."""
    return class_schema(ref.removeprefix(REF_PREFIX))


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
    return {"$ref": REF_PREFIX + typ}


def group_prefix(group: str) -> str:
    """Where upstream's definitions of `group` live: named by the Go package, which is the
    group's first label for the built-in groups (`rbac.authorization.k8s.io` -> `rbac`)."""
    if not group:
        return "io.k8s.api.core"
    if group == "apiregistration.k8s.io":
        return "io.k8s.kube-aggregator.pkg.apis.apiregistration"
    if group == "apiextensions.k8s.io":
        return "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions"
    if group == "internal.apiserver.k8s.io":
        return "io.k8s.api.apiserverinternal"
    return "io.k8s.api." + group.split(".")[0]


def definition_name(rt: ResourceType) -> str:
    """Upstream's OpenAPI name of a kind: `io.k8s.api.apps.v1.Deployment`; a custom
    resource's is its group reversed (`com.example.v1.Widget`)."""
    if rt.custom:
        return ".".join(reversed(rt.group.split("."))) + f".{rt.version}.{rt.kind}"
    return f"{group_prefix(rt.group)}.{rt.version}.{rt.kind}"


def message_name(rt: ResourceType) -> str:
    """The protobuf message of a built-in kind (`k8s.io.api.apps.v1.Deployment`): its
    definition's name the other way round, as Go packages are named."""
    prefix, _, rest = definition_name(rt).removeprefix("io.k8s.").partition(".")
    return "k8s.io." + prefix.replace("-", "_") + "." + rest
