"""CustomResourceDefinitions: which resources a CRD serves, and the status the server gives it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from preview.sandbox.machinery.objects import now
from preview.sandbox.machinery.resources import ALL_VERBS, PrinterColumn, ResourceType
from preview.sandbox.machinery.schemas import REF_PREFIX

STORAGE = ("apiextensions.k8s.io", "customresourcedefinitions")  # where CRDs are stored


def resource_types(crd: dict[str, Any]) -> list[ResourceType]:
    """One served type per `served` version, all sharing the CRD's storage."""
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    group, plural = spec.get("group", ""), names.get("plural", "")
    out = []
    for version in spec.get("versions") or []:
        if not version.get("served", True):
            continue
        subresources = version.get("subresources") or {}
        subs: list[str] = []
        scale_paths = None
        if "status" in subresources:
            subs.append("status")
        if "scale" in subresources:
            subs.append("scale")
            scale = subresources["scale"] or {}
            scale_paths = (scale.get("specReplicasPath", ".spec.replicas"),
                           scale.get("statusReplicasPath", ".status.replicas"),
                           scale.get("labelSelectorPath", ""))
        out.append(ResourceType(
            group=group, version=version["name"], resource=plural, kind=names.get("kind", ""),
            namespaced=spec.get("scope", "Namespaced") == "Namespaced",
            short_names=tuple(names.get("shortNames") or ()),
            categories=tuple(names.get("categories") or ()),
            verbs=ALL_VERBS, subresources=tuple(subs), scale_paths=scale_paths, custom=True,
            list_kind_override=names.get("listKind"),
            printer_columns=printer_columns(version)))
    return out


def printer_columns(version: dict[str, Any]) -> tuple[PrinterColumn, ...]:
    return tuple(PrinterColumn(str(c.get("name", "")), str(c.get("type", "string")),
                               str(c.get("format") or ""), int(c.get("priority") or 0),
                               str(c.get("jsonPath", "")))
                 for c in version.get("additionalPrinterColumns") or [])


def initial_status(crd: dict[str, Any]) -> dict[str, Any]:
    """Names accepted and Established at once (the real controllers take a moment)."""
    spec = crd.get("spec") or {}
    names = dict(spec.get("names") or {})
    names.setdefault("singular", names.get("kind", "").lower())
    names.setdefault("listKind", names.get("kind", "") + "List")
    t = now()
    return {
        "acceptedNames": names,
        "conditions": [
            {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts",
             "message": "no conflicts found", "lastTransitionTime": t},
            {"type": "Established", "status": "True", "reason": "InitialNamesAccepted",
             "message": "the initial names have been accepted", "lastTransitionTime": t},
        ],
        "storedVersions": [v["name"] for v in spec.get("versions") or [] if v.get("storage")],
    }


def schema_of(crd: dict[str, Any], version: str) -> dict[str, Any] | None:
    for v in (crd.get("spec") or {}).get("versions") or []:
        if v.get("name") == version:
            schema = (v.get("schema") or {}).get("openAPIV3Schema")
            return schema if isinstance(schema, dict) else None
    return None


def schemas_by_kind(crds: Iterable[dict[str, Any]]) -> dict[tuple[str, str, str], dict[str, Any]]:
    """The `openAPIV3Schema` of every served version of `crds`, by (group, version, kind)."""
    out: dict[tuple[str, str, str], dict[str, Any]] = {}
    for crd in crds:
        for rt in resource_types(crd):
            schema = schema_of(crd, rt.version)
            if schema is not None:
                out[(rt.group, rt.version, rt.kind)] = schema
    return out


def with_envelope(schema: dict[str, Any]) -> dict[str, Any]:
    """A custom resource's whole schema: the CRD's, with the object's envelope the server
    owns (apiVersion, kind, ObjectMeta), as it checks objects and publishes the schema."""
    return {**schema, "properties": {
        **(schema.get("properties") or {}),
        "apiVersion": {"type": "string"}, "kind": {"type": "string"},
        "metadata": {"$ref": REF_PREFIX + "V1ObjectMeta"}}}
