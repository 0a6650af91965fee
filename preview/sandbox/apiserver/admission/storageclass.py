"""The DefaultStorageClass admission plugin: a claim without a class gets the default one.

As `plugin/pkg/admission/storage/storageclass/setdefault`: only when `storageClassName` is
absent (an empty string asks for no class) and the legacy beta annotation is not set. The
default is the class annotated `storageclass.kubernetes.io/is-default-class: "true"`; with
several, the newest wins (ties by name), as since Kubernetes 1.26.
"""

from __future__ import annotations

from typing import Any

from preview.sandbox.apiserver.storage.store import Store
from preview.sandbox.machinery.resources import ResourceType

DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class"
_BETA_DEFAULT_ANNOTATION = "storageclass.beta.kubernetes.io/is-default-class"
_BETA_CLASS_ANNOTATION = "volume.beta.kubernetes.io/storage-class"


def is_default(storage_class: dict[str, Any]) -> bool:
    annotations = storage_class["metadata"].get("annotations") or {}
    return "true" in (annotations.get(DEFAULT_CLASS_ANNOTATION),
                      annotations.get(_BETA_DEFAULT_ANNOTATION))


def default_class(classes: list[dict[str, Any]]) -> dict[str, Any] | None:
    defaults = [c for c in classes if is_default(c)]
    if not defaults:
        return None
    by_name = sorted(defaults, key=lambda c: str(c["metadata"]["name"]))
    # max() keeps the first of equals: the newest, then the first by name.
    return max(by_name, key=lambda c: str(c["metadata"].get("creationTimestamp", "")))


class DefaultStorageClassAdmission:
    def __init__(self, store: Store) -> None:
        self.store = store

    def __call__(self, rt: ResourceType, obj: dict[str, Any], dry_run: bool) -> None:
        if rt.group != "" or rt.kind != "PersistentVolumeClaim":
            return
        spec = obj.setdefault("spec", {})
        if spec.get("storageClassName") is not None:
            return
        if _BETA_CLASS_ANNOTATION in (obj["metadata"].get("annotations") or {}):
            return
        chosen = default_class(self.store.list(("storage.k8s.io", "storageclasses")))
        if chosen is not None:
            spec["storageClassName"] = chosen["metadata"]["name"]
