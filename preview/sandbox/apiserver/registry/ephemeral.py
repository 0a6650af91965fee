"""`pods/ephemeralcontainers`: the one way to add a container to a running pod (pure).

As the real pod strategy (`podEphemeralContainersStrategy`) does, a write to the subresource
changes only `spec.ephemeralContainers` of the stored pod; existing ones may be neither
changed nor removed (`ValidatePodEphemeralContainersUpdate`), names are unique across all
three container lists, and what an ephemeral container cannot have (ports, probes,
lifecycle, resources) is refused. A pod update, in turn, cannot change them.
"""

from __future__ import annotations

from typing import Any

from preview.sandbox.machinery.objects import clone
from preview.sandbox.machinery.status import Cause, field_forbidden

SUBRESOURCE = "ephemeralcontainers"
_PATH = "spec.ephemeralContainers"
# Fields an ephemeral container may not set (k8s validation: "cannot be set for an
# Ephemeral Container").
_FORBIDDEN = ("ports", "livenessProbe", "readinessProbe", "startupProbe", "lifecycle",
              "resources", "resizePolicy", "restartPolicy")


def update(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """The stored pod with the written pod's ephemeral containers (nothing else of it:
    `dropNonEphemeralContainerUpdates`)."""
    merged = clone(old)
    wanted = clone((new.get("spec") or {}).get("ephemeralContainers") or [])
    spec = merged.setdefault("spec", {})
    if wanted:
        spec["ephemeralContainers"] = wanted
    else:
        spec.pop("ephemeralContainers", None)
    return merged


def causes(old: dict[str, Any], new: dict[str, Any]) -> list[Cause]:
    """What is wrong with `new`'s ephemeral containers, compared with `old`'s."""
    before = {c.get("name"): c for c in (old.get("spec") or {}).get("ephemeralContainers") or []}
    after = (new.get("spec") or {}).get("ephemeralContainers") or []
    by_name = {c.get("name"): c for c in after}
    out: list[Cause] = []
    for name, container in before.items():
        if name not in by_name:
            out.append(field_forbidden(_PATH, f'existing ephemeral containers "{name}" may '
                                              "not be removed"))
        elif by_name[name] != container:
            out.append(field_forbidden(_PATH, f'existing ephemeral containers "{name}" may '
                                              "not be changed"))
    spec = new.get("spec") or {}
    taken = {c.get("name") for key in ("initContainers", "containers")
             for c in spec.get(key) or []}
    for i, container in enumerate(after):
        where = f"{_PATH}[{i}]"
        if container.get("name") in taken:
            out.append(Cause("FieldValueDuplicate", f'Duplicate value: "{container["name"]}"',
                             f"{where}.name"))
        taken.add(container.get("name"))
        if container.get("name") in before:
            continue
        for key in _FORBIDDEN:
            if container.get(key):
                out.append(field_forbidden(f"{where}.{key}",
                                           "cannot be set for an Ephemeral Container"))
    return out


def unchanged(old: dict[str, Any], new: dict[str, Any]) -> bool:
    """Whether a pod update leaves the ephemeral containers as they are."""
    return ((old.get("spec") or {}).get("ephemeralContainers") or []) == \
        ((new.get("spec") or {}).get("ephemeralContainers") or [])
