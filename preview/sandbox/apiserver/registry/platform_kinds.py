"""The API groups every cluster serves beyond workloads: admission registration, certificates,
the aggregator's APIServices and the CSI storage kinds.

Defaulting and validation follow `pkg/apis/<group>/v1/defaults.go` and
`pkg/apis/<group>/validation` for the fields clients and charts rely on; the messages are the
real ones. Pure. The admission webhooks and policies are stored and served but never called
(docs/sandbox.md lists this difference).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Any

from preview.sandbox.machinery.objects import clone
from preview.sandbox.machinery.status import (
    Cause,
    field_invalid,
    field_not_supported,
    field_required,
)

Validator = Callable[[dict[str, Any], dict[str, Any] | None], list[Cause]]


# -- admissionregistration.k8s.io/v1 -----------------------------------------------------------
def _webhook_configuration(obj: dict[str, Any], mutating: bool) -> None:
    for hook in obj.get("webhooks") or []:
        hook.setdefault("failurePolicy", "Fail")
        hook.setdefault("matchPolicy", "Equivalent")
        hook.setdefault("namespaceSelector", {})
        hook.setdefault("objectSelector", {})
        hook.setdefault("timeoutSeconds", 10)
        if mutating:
            hook.setdefault("reinvocationPolicy", "Never")
        for rule in hook.get("rules") or []:
            rule.setdefault("scope", "*")
        service = (hook.get("clientConfig") or {}).get("service")
        if isinstance(service, dict):
            service.setdefault("port", 443)


def _mutating_webhooks(obj: dict[str, Any]) -> None:
    _webhook_configuration(obj, True)


def _validating_webhooks(obj: dict[str, Any]) -> None:
    _webhook_configuration(obj, False)


def _policy(obj: dict[str, Any]) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("failurePolicy", "Fail")
    constraints = spec.setdefault("matchConstraints", {})
    constraints.setdefault("matchPolicy", "Equivalent")
    constraints.setdefault("namespaceSelector", {})
    constraints.setdefault("objectSelector", {})
    for rule in constraints.get("resourceRules") or []:
        rule.setdefault("scope", "*")


def _validate_webhooks(obj: dict[str, Any], old: dict[str, Any] | None) -> list[Cause]:
    causes: list[Cause] = []
    seen: set[str] = set()
    for i, hook in enumerate(obj.get("webhooks") or []):
        path = f"webhooks[{i}]"
        name = str(hook.get("name") or "")
        if not name:
            causes.append(field_required(f"{path}.name"))
        elif len(name.split(".")) < 3:
            causes.append(field_invalid(f"{path}.name", name,
                                        "should be a domain with at least three segments "
                                        "separated by dots"))
        elif name in seen:
            causes.append(Cause("FieldValueDuplicate", f'Duplicate value: "{name}"',
                                f"{path}.name"))
        seen.add(name)
        effects = hook.get("sideEffects")
        if effects is None:
            causes.append(field_required(f"{path}.sideEffects",
                                         "must specify one of None, NoneOnDryRun"))
        elif effects not in ("None", "NoneOnDryRun"):
            causes.append(field_not_supported(f"{path}.sideEffects", effects,
                                              ["None", "NoneOnDryRun"]))
        versions = hook.get("admissionReviewVersions") or []
        if not versions:
            causes.append(field_required(f"{path}.admissionReviewVersions",
                                         "must specify one of v1, v1beta1"))
        config = hook.get("clientConfig") or {}
        if bool(config.get("url")) == bool(config.get("service")):
            causes.append(field_required(f"{path}.clientConfig",
                                         "exactly one of url or service is required"))
    return causes


def _validate_policy(obj: dict[str, Any], old: dict[str, Any] | None) -> list[Cause]:
    spec = obj.get("spec") or {}
    if not spec.get("validations") and not spec.get("auditAnnotations"):
        return [field_required("spec.validations",
                               "validations or auditAnnotations must contain at least one item")]
    causes = []
    for i, rule in enumerate(spec.get("validations") or []):
        if not str(rule.get("expression") or "").strip():
            causes.append(field_required(f"spec.validations[{i}].expression"))
    return causes


def _validate_policy_binding(obj: dict[str, Any], old: dict[str, Any] | None) -> list[Cause]:
    spec = obj.get("spec") or {}
    causes = []
    if not spec.get("policyName"):
        causes.append(field_required("spec.policyName"))
    actions = spec.get("validationActions") or []
    if not actions:
        causes.append(field_required("spec.validationActions",
                                     "at least one validation action is required"))
    for i, action in enumerate(actions):
        if action not in ("Deny", "Warn", "Audit"):
            causes.append(field_not_supported(f"spec.validationActions[{i}]", action,
                                              ["Audit", "Deny", "Warn"]))
    return causes


# -- certificates.k8s.io/v1 --------------------------------------------------------------------
def _validate_csr(obj: dict[str, Any], old: dict[str, Any] | None) -> list[Cause]:
    spec = obj.get("spec") or {}
    causes = []
    request = spec.get("request")
    if not request:
        causes.append(field_required("spec.request"))
    else:
        try:
            pem = base64.b64decode(str(request), validate=True)
        except (binascii.Error, ValueError):
            pem = b""
        if b"-----BEGIN CERTIFICATE REQUEST-----" not in pem:
            causes.append(Cause("FieldValueInvalid",
                                "Invalid value: []byte{...}: PEM block type must be "
                                "CERTIFICATE REQUEST", "spec.request"))
    if not spec.get("signerName"):
        causes.append(field_required("spec.signerName"))
    types = [c.get("type") for c in (obj.get("status") or {}).get("conditions") or []]
    if "Approved" in types and "Denied" in types:
        causes.append(field_invalid(f"status.conditions[{types.index('Denied')}].type", "Denied",
                                    "Approved and Denied conditions are mutually exclusive"))
    return causes


def approval_update(old: dict[str, Any], new: dict[str, Any], now: str) -> dict[str, Any]:
    """A write to `approval`: only the conditions change (`approvalStrategy`), stamped."""
    merged = clone(old)
    merged.setdefault("status", {})["conditions"] = [
        {**c, "lastUpdateTime": c.get("lastUpdateTime") or now,
         "lastTransitionTime": c.get("lastTransitionTime") or now}
        for c in (new.get("status") or {}).get("conditions") or []]
    return merged


def requester(obj: dict[str, Any], username: str, groups: tuple[str, ...], uid: str) -> None:
    """`PrepareForCreate` of CSRs: the requesting user is recorded, whatever was sent."""
    spec = obj.setdefault("spec", {})
    spec["username"], spec["groups"] = username, list(groups)
    if uid:
        spec["uid"] = uid
    spec.pop("extra", None)


# -- apiregistration.k8s.io/v1 -----------------------------------------------------------------
def _validate_apiservice(obj: dict[str, Any], old: dict[str, Any] | None) -> list[Cause]:
    spec = obj.get("spec") or {}
    name = obj["metadata"].get("name", "")
    causes = []
    version, group = spec.get("version", ""), spec.get("group", "")
    if not version:
        causes.append(field_required("spec.version"))
    expected = f"{version}.{group}"
    if version and name != expected:
        causes.append(field_invalid("metadata.name", name, f"must be {expected}"))
    for key, cap in (("groupPriorityMinimum", 20000), ("versionPriority", 1000)):
        value = spec.get(key, 0)
        if not isinstance(value, int) or not 0 < value <= cap:
            causes.append(field_invalid(f"spec.{key}", value,
                                        f"must be positive and less than {cap}"))
    return causes


def local_apiservice(group: str, version: str) -> dict[str, Any]:
    """The APIService the aggregator registers for a group-version the server serves itself."""
    name = f"{version}.{group}" if group else f"{version}."
    return {"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
            "metadata": {"name": name, "labels": {"kube-aggregator.kubernetes.io/automanaged":
                                                  "onstart"}},
            "spec": {"group": group, "version": version, "groupPriorityMinimum": 18000,
                     "versionPriority": 15},
            "status": {"conditions": [{"type": "Available", "status": "True",
                                       "lastTransitionTime": None, "reason": "Local",
                                       "message": "Local APIServices are always available"}]}}


# -- storage.k8s.io/v1 -------------------------------------------------------------------------
def _csi_driver(obj: dict[str, Any]) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("attachRequired", True)
    spec.setdefault("podInfoOnMount", False)
    spec.setdefault("storageCapacity", False)
    spec.setdefault("fsGroupPolicy", "ReadWriteOnceWithFSType")
    spec.setdefault("requiresRepublish", False)
    spec.setdefault("seLinuxMount", False)
    spec.setdefault("volumeLifecycleModes", ["Persistent"])


def _validate_csi_node(obj: dict[str, Any], old: dict[str, Any] | None) -> list[Cause]:
    causes = []
    for i, driver in enumerate((obj.get("spec") or {}).get("drivers") or []):
        if not driver.get("name"):
            causes.append(field_required(f"spec.drivers[{i}].name"))
        if not driver.get("nodeID"):
            causes.append(field_required(f"spec.drivers[{i}].nodeID"))
    return causes


def _validate_capacity(obj: dict[str, Any], old: dict[str, Any] | None) -> list[Cause]:
    if not obj.get("storageClassName"):
        return [field_required("storageClassName")]
    return []


def _validate_attachment(obj: dict[str, Any], old: dict[str, Any] | None) -> list[Cause]:
    spec = obj.get("spec") or {}
    causes = [field_required(f"spec.{key}") for key in ("attacher", "nodeName")
              if not spec.get(key)]
    source = spec.get("source") or {}
    if bool(source.get("persistentVolumeName")) == bool(source.get("inlineVolumeSpec")):
        causes.append(field_required("spec.source",
                                     "must specify exactly one of inlineVolumeSpec and "
                                     "persistentVolumeName"))
    if old is not None and (old.get("spec") or {}) != spec:
        causes.append(Cause("FieldValueInvalid", "field is immutable", "spec"))
    return causes


_ADMISSION = "admissionregistration.k8s.io"
DEFAULTERS: dict[tuple[str, str], Callable[[dict[str, Any]], None]] = {
    (_ADMISSION, "MutatingWebhookConfiguration"): _mutating_webhooks,
    (_ADMISSION, "ValidatingWebhookConfiguration"): _validating_webhooks,
    (_ADMISSION, "ValidatingAdmissionPolicy"): _policy,
    ("storage.k8s.io", "CSIDriver"): _csi_driver,
}
VALIDATORS: dict[tuple[str, str], Validator] = {
    (_ADMISSION, "MutatingWebhookConfiguration"): _validate_webhooks,
    (_ADMISSION, "ValidatingWebhookConfiguration"): _validate_webhooks,
    (_ADMISSION, "ValidatingAdmissionPolicy"): _validate_policy,
    (_ADMISSION, "ValidatingAdmissionPolicyBinding"): _validate_policy_binding,
    ("certificates.k8s.io", "CertificateSigningRequest"): _validate_csr,
    ("apiregistration.k8s.io", "APIService"): _validate_apiservice,
    ("storage.k8s.io", "CSINode"): _validate_csi_node,
    ("storage.k8s.io", "CSIStorageCapacity"): _validate_capacity,
    ("storage.k8s.io", "VolumeAttachment"): _validate_attachment,
}
