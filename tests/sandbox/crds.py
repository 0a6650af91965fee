"""A namespaced CustomResourceDefinition with one served version, as kubectl applies it."""

from __future__ import annotations

import json
from typing import Any


def crd_manifest(group: str, kind: str, spec: dict[str, Any]) -> str:
    """`<kind>s.<group>`, version v1, its `spec` property described by `spec`."""
    plural = kind.lower() + "s"
    schema = {"type": "object", "properties": {"spec": {"type": "object", **spec}}}
    return json.dumps({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}"},
        "spec": {"group": group, "scope": "Namespaced",
                 "names": {"plural": plural, "singular": kind.lower(), "kind": kind},
                 "versions": [{"name": "v1", "served": True, "storage": True,
                               "schema": {"openAPIV3Schema": schema}}]}})
