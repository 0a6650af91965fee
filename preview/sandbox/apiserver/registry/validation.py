"""Object-metadata validation with the real server's messages (`apimachinery/pkg/util/validation`)."""

from __future__ import annotations

import json
import re
from typing import Any

from preview.sandbox.machinery.status import Cause, field_invalid, field_required

_DNS1123_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_SUBDOMAIN = _DNS1123_LABEL + r"(\." + _DNS1123_LABEL + r")*"
_DNS1035_LABEL = r"[a-z]([-a-z0-9]*[a-z0-9])?"
_QUALIFIED_NAME = r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_LABEL_VALUE = r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?"
TOTAL_ANNOTATION_SIZE = 256 * 1024


def dns1123_label(value: str) -> list[str]:
    errs = []
    if len(value) > 63:
        errs.append("must be no more than 63 characters")
    if not re.fullmatch(_DNS1123_LABEL, value):
        errs.append("a lowercase RFC 1123 label must consist of lower case alphanumeric "
                    "characters or '-', and must start and end with an alphanumeric character "
                    "(e.g. 'my-name',  or '123-abc', regex used for validation is "
                    f"'{_DNS1123_LABEL}')")
    return errs


def dns1123_subdomain(value: str) -> list[str]:
    errs = []
    if len(value) > 253:
        errs.append("must be no more than 253 characters")
    if not re.fullmatch(_DNS1123_SUBDOMAIN, value):
        errs.append("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
                    "characters, '-' or '.', and must start and end with an alphanumeric "
                    "character (e.g. 'example.com', regex used for validation is "
                    f"'{_DNS1123_SUBDOMAIN}')")
    return errs


def dns1035_label(value: str) -> list[str]:
    errs = []
    if len(value) > 63:
        errs.append("must be no more than 63 characters")
    if not re.fullmatch(_DNS1035_LABEL, value):
        errs.append("a DNS-1035 label must consist of lower case alphanumeric characters or "
                    "'-', start with an alphabetic character, and end with an alphanumeric "
                    "character (e.g. 'my-name',  or 'abc-123', regex used for validation is "
                    f"'{_DNS1035_LABEL}')")
    return errs


def path_segment_name(value: str) -> list[str]:
    if value in (".", ".."):
        return [f"may not be '{value}'"]
    for bad in ("/", "%"):
        if bad in value:
            return [f"may not contain '{bad}'"]
    return []


def qualified_name(value: str) -> list[str]:
    """Label and annotation keys: an optional DNS subdomain prefix and a name part."""
    errs: list[str] = []
    prefix, _, name = value.rpartition("/")
    if "/" in value:
        if not prefix:
            errs.append("prefix part must be non-empty")
        else:
            errs += ["prefix part " + e for e in dns1123_subdomain(prefix)]
    if not name:
        errs.append("name part must be non-empty")
    elif len(name) > 63:
        errs.append("name part must be no more than 63 characters")
    elif not re.fullmatch(_QUALIFIED_NAME, name):
        errs.append("name part must consist of alphanumeric characters, '-', '_' or '.', and "
                    "must start and end with an alphanumeric character (e.g. 'MyName',  or "
                    "'my.name',  or '123-abc', regex used for validation is "
                    f"'{_QUALIFIED_NAME}')")
    return errs


def label_value(value: str) -> list[str]:
    errs = []
    if len(value) > 63:
        errs.append("must be no more than 63 characters")
    if not re.fullmatch(_LABEL_VALUE, value):
        errs.append("a valid label must be an empty string or consist of alphanumeric "
                    "characters, '-', '_' or '.', and must start and end with an alphanumeric "
                    "character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for "
                    f"validation is '{_LABEL_VALUE}')")
    return errs


_NAME_RULES = {"dns1123-label": dns1123_label, "dns1123-subdomain": dns1123_subdomain,
               "dns1035-label": dns1035_label, "path-segment": path_segment_name}


def name_rule_for(resource: str) -> str:
    """Which rule names of a resource follow (`ValidateXName` in each API's validation)."""
    if resource in ("namespaces",):
        return "dns1123-label"
    if resource in ("services",):
        return "dns1035-label"
    if resource in ("roles", "clusterroles", "rolebindings", "clusterrolebindings",
                    "apiservices"):  # APIService names are checked as version.group
        return "path-segment"
    return "dns1123-subdomain"


def validate_object_meta(kind: str, group: str, obj: dict[str, Any], namespaced: bool,
                         name_rule: str) -> list[Cause]:
    meta = obj.get("metadata") or {}
    causes: list[Cause] = []
    name = meta.get("name")
    check = _NAME_RULES.get(name_rule, dns1123_subdomain)
    if not name:
        if not meta.get("generateName"):
            causes.append(field_required("metadata.name", "name or generateName is required"))
    elif not isinstance(name, str):
        causes.append(field_invalid("metadata.name", name, "must be a string"))
    else:
        for err in check(name):
            causes.append(field_invalid("metadata.name", name, err))
    if namespaced:
        ns = meta.get("namespace")
        if not ns:
            causes.append(field_required("metadata.namespace"))
        else:
            for err in dns1123_label(ns):
                causes.append(field_invalid("metadata.namespace", ns, err))
    for key, value in (meta.get("labels") or {}).items():
        for err in qualified_name(str(key)):
            causes.append(field_invalid("metadata.labels", key, err))
        if not isinstance(value, str):
            causes.append(field_invalid(f"metadata.labels[{key}]", value, "must be a string"))
            continue
        for err in label_value(value):
            causes.append(field_invalid("metadata.labels", value, err))
    annotations = meta.get("annotations") or {}
    for key in annotations:
        for err in qualified_name(str(key).lower()):
            causes.append(field_invalid("metadata.annotations", key, err))
    size = sum(len(k) + len(json.dumps(v)) for k, v in annotations.items())
    if size > TOTAL_ANNOTATION_SIZE:
        causes.append(Cause("FieldValueTooLong", f"Too long: must have at most "
                            f"{TOTAL_ANNOTATION_SIZE} bytes", "metadata.annotations"))
    return causes
