"""Cells of the cluster's other kinds: Events, storage, RBAC bindings, quotas, certificates,
admission configuration and APIServices, as upstream's printers compute them."""

from __future__ import annotations

from typing import Any

from preview.sandbox.apiserver.endpoints.printers.formats import (
    Obj,
    access_modes,
    human_duration,
    quantity_string,
    selector_string,
    since,
)
from preview.sandbox.machinery.objects import dig


# -- events ---------------------------------------------------------------------------------------
def _first_seen(o: Obj) -> str:
    return since(o.get("firstTimestamp")) if o.get("firstTimestamp") else \
        since(o.get("eventTime"))


def event_first_seen(o: Obj) -> str:
    return _first_seen(o)


def event_last_seen(o: Obj) -> str:
    if o.get("series"):
        return since((o.get("series") or {}).get("lastObservedTime"))
    return since(o["lastTimestamp"]) if o.get("lastTimestamp") else _first_seen(o)


def event_count(o: Obj) -> int:
    if o.get("series"):
        return int((o.get("series") or {}).get("count") or 0)
    return int(o.get("count") or 0) or 1  # singleton events of the new API have no count


def event_source(o: Obj) -> str:
    source = o.get("source") or {}
    component = source.get("component") or o.get("reportingComponent") or ""
    host = source.get("host") or o.get("reportingInstance") or ""
    return f"{component}, {host}" if host else str(component)


def event_object(o: Obj) -> str:
    ref = o.get("involvedObject") or {}
    kind = str(ref.get("kind", "")).lower()
    return f"{kind}/{ref['name']}" if ref.get("name") else kind


def event_message(o: Obj) -> str:
    return str(o.get("message", "")).strip()


# -- storage --------------------------------------------------------------------------------------
_CLASS_ANNOTATION = "volume.beta.kubernetes.io/storage-class"


def _class_of(o: Obj) -> str:
    """`GetPersistentVolume(Claim)Class`: the beta annotation wins over the field."""
    annotations = dig(o, "metadata", "annotations") or {}
    if _CLASS_ANNOTATION in annotations:
        return str(annotations[_CLASS_ANNOTATION])
    return str(dig(o, "spec", "storageClassName") or "")


def volume_phase(o: Obj) -> str:
    if dig(o, "metadata", "deletionTimestamp"):
        return "Terminating"
    return str(dig(o, "status", "phase") or "")


def pv_claim(o: Obj) -> str:
    ref = dig(o, "spec", "claimRef")
    return f"{ref.get('namespace', '')}/{ref.get('name', '')}" if ref else ""


def pv_capacity(o: Obj) -> str:
    return quantity_string(dig(o, "spec", "capacity", "storage"))


def pv_access_modes(o: Obj) -> str:
    return access_modes(dig(o, "spec", "accessModes"))


def storage_class(o: Obj) -> str:
    return _class_of(o)


def pvc_capacity(o: Obj) -> str:
    """What the bound volume provides; empty until the claim is bound."""
    if not dig(o, "spec", "volumeName"):
        return ""
    return quantity_string(dig(o, "status", "capacity", "storage"))


def pvc_access_modes(o: Obj) -> str:
    if not dig(o, "spec", "volumeName"):
        return ""
    return access_modes(dig(o, "status", "accessModes"))


def unset(*path: str) -> Any:
    """A string field printed `<unset>` when absent (VolumeMode, VolumeAttributesClass…)."""
    return lambda o: str(dig(o, *path)) if dig(o, *path) is not None else "<unset>"


def storage_class_name(o: Obj) -> str:
    annotations = dig(o, "metadata", "annotations") or {}
    default = any(annotations.get(k) == "true" for k in (
        "storageclass.kubernetes.io/is-default-class",
        "storageclass.beta.kubernetes.io/is-default-class"))
    return o["metadata"]["name"] + (" (default)" if default else "")


def csi_token_requests(o: Obj) -> str:
    requests = dig(o, "spec", "tokenRequests")
    if requests is None:
        return "<unset>"
    return ",".join(str(t.get("audience", "")) for t in requests)


def csi_modes(o: Obj) -> str:
    return ",".join(dig(o, "spec", "volumeLifecycleModes") or []) or "<none>"


def csi_capacity(o: Obj) -> str:
    return quantity_string(o["capacity"]) if o.get("capacity") is not None else "<unset>"


# -- rbac, quota ----------------------------------------------------------------------------------
def role_ref(o: Obj) -> str:
    ref = o.get("roleRef") or {}
    return f"{ref.get('kind', '')}/{ref.get('name', '')}"


def subjects(kind: str) -> Any:
    """`rbac.SubjectsStrings`: the subjects of one kind, `namespace/name` for accounts."""
    def cell(o: Obj) -> str:
        found = [f"{s.get('namespace', '')}/{s.get('name', '')}" if kind == "ServiceAccount"
                 else str(s.get("name", "")) for s in o.get("subjects") or []
                 if s.get("kind") == kind]
        return ", ".join(found)
    return cell


def _quota(o: Obj, limits: bool) -> str:
    hard = dig(o, "status", "hard") or {}
    used = dig(o, "status", "used") or {}
    out = [f"{r}: {quantity_string(used.get(r))}/{quantity_string(hard[r])}"
           for r in sorted(hard) if (r.split(".")[0] == "limits" and "." in r) == limits]
    return ", ".join(out)


def quota_requests(o: Obj) -> str:
    return _quota(o, False)


def quota_limits(o: Obj) -> str:
    return _quota(o, True)


# -- certificates, admission, aggregation -------------------------------------------------------
def csr_signer(o: Obj) -> str:
    return str(dig(o, "spec", "signerName") or "<none>")


def csr_duration(o: Obj) -> str:
    seconds = dig(o, "spec", "expirationSeconds")
    return "<none>" if seconds is None else human_duration(int(seconds))


def csr_condition(o: Obj) -> str:
    """`extractCSRStatus`: Denied, Approved or Pending, then `,Failed` and `,Issued`."""
    types = {c.get("type") for c in dig(o, "status", "conditions") or []}
    status = "Denied" if "Denied" in types else "Approved" if "Approved" in types else "Pending"
    if "Failed" in types:
        status += ",Failed"
    if dig(o, "status", "certificate"):
        status += ",Issued"
    return status


def param_kind(o: Obj) -> str:
    kind = dig(o, "spec", "paramKind")
    return f"{kind.get('apiVersion', '')}/{kind.get('kind', '')}" if kind else "<unset>"


def param_ref(o: Obj) -> str:
    """The binding's parameters: `ns/name`, `*/name` (namespace unknown), a selector."""
    ref = dig(o, "spec", "paramRef")
    if not ref:
        return "<unset>"
    if ref.get("name"):
        return f"{ref.get('namespace') or '*'}/{ref['name']}"
    if ref.get("selector") is not None:
        return selector_string(ref["selector"])
    return "<unset>"


def apiservice_service(o: Obj) -> str:
    service = dig(o, "spec", "service")
    return f"{service.get('namespace', '')}/{service.get('name', '')}" if service else "Local"


def apiservice_available(o: Obj) -> str:
    for c in dig(o, "status", "conditions") or []:
        if c.get("type") == "Available":
            if c.get("status") == "True" or not c.get("reason"):
                return str(c.get("status"))
            return f"{c.get('status')} ({c.get('reason')})"
    return "Unknown"
