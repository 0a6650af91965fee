"""Discovery documents: /version, /api, /apis and the resource lists of each group-version."""

from __future__ import annotations

import hashlib
from typing import Any

from preview.sandbox.machinery.resources import GROUP_ORDER, Catalog, ResourceType

KUBE_VERSION = (1, 34, 2)

_SUBRESOURCES: dict[str, tuple[str, str, str, list[str]]] = {
    # name -> (group, version, kind, verbs); group "" + version "" = the parent's
    "status": ("", "", "", ["get", "patch", "update"]),
    "scale": ("autoscaling", "v1", "Scale", ["get", "patch", "update"]),
    "log": ("", "", "", ["get"]),
    "binding": ("", "v1", "Binding", ["create"]),
    "eviction": ("policy", "v1", "Eviction", ["create"]),
    "token": ("authentication.k8s.io", "v1", "TokenRequest", ["create"]),
    "finalize": ("", "", "", ["update"]),
    "approval": ("", "", "", ["get", "patch", "update"]),
    "portforward": ("", "v1", "PodPortForwardOptions", ["create", "get"]),
    "proxy": ("", "v1", "", ["create", "delete", "get", "patch", "update"]),
    "exec": ("", "v1", "PodExecOptions", ["create", "get"]),
    "attach": ("", "v1", "PodAttachOptions", ["create", "get"]),
}


def version_info() -> dict[str, str]:
    major, minor, patch = KUBE_VERSION
    return {"major": str(major), "minor": str(minor), "gitVersion": f"v{major}.{minor}.{patch}",
            "gitCommit": "0000000000000000000000000000000000000000", "gitTreeState": "clean",
            "buildDate": "2026-01-01T00:00:00Z", "goVersion": "go1.24.0", "compiler": "gc",
            "platform": "linux/amd64", "emulationMajor": str(major), "emulationMinor": str(minor),
            "minCompatibilityMajor": str(major), "minCompatibilityMinor": str(minor - 1)}


def api_versions(server_address: str) -> dict[str, Any]:
    return {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [
        {"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}]}


def _ordered_groups(catalog: Catalog) -> list[str]:
    groups = [g for g in catalog.group_versions() if g]
    known = [g for g in GROUP_ORDER if g in groups]
    return known + sorted(g for g in groups if g not in known)


def api_group(catalog: Catalog, group: str) -> dict[str, Any] | None:
    versions = catalog.group_versions().get(group)
    if not group or not versions:
        return None
    entries = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
    return {"kind": "APIGroup", "apiVersion": "v1", "name": group, "versions": entries,
            "preferredVersion": entries[0]}


def api_group_list(catalog: Catalog) -> dict[str, Any]:
    groups = [api_group(catalog, g) for g in _ordered_groups(catalog)]
    return {"kind": "APIGroupList", "apiVersion": "v1",
            "groups": [{k: v for k, v in g.items() if k not in ("kind", "apiVersion")}
                       for g in groups if g]}


def resource_list(catalog: Catalog, group: str, version: str) -> dict[str, Any] | None:
    types = catalog.in_group_version(group, version)
    if not types:
        return None
    resources: list[dict[str, Any]] = []
    for t in types:
        resources.append(_resource_entry(t))
        for sub in t.subresources:
            resources.append(_subresource_entry(t, sub))
    return {"kind": "APIResourceList", "apiVersion": "v1",
            "groupVersion": f"{group}/{version}" if group else version, "resources": resources}


def _resource_entry(t: ResourceType) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": t.resource, "singularName": t.singular,
                             "namespaced": t.namespaced, "kind": t.kind, "verbs": list(t.verbs)}
    if t.short_names:
        entry["shortNames"] = list(t.short_names)
    if t.categories:
        entry["categories"] = list(t.categories)
    entry["storageVersionHash"] = hashlib.sha256(
        f"{t.group}/{t.version}/{t.kind}".encode()).hexdigest()[:11]
    return entry


def _subresource_entry(t: ResourceType, sub: str) -> dict[str, Any]:
    group, version, kind, verbs = _SUBRESOURCES.get(sub, ("", "", "", ["get"]))
    entry: dict[str, Any] = {"name": f"{t.resource}/{sub}", "singularName": "",
                             "namespaced": t.namespaced, "kind": kind or t.kind, "verbs": verbs}
    if group:
        entry["group"], entry["version"] = group, version
    return entry
