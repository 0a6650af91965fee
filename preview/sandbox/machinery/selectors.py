"""Label and field selectors: the query-string syntax and the `metav1.LabelSelector` struct.

Grammar and messages follow `k8s.io/apimachinery/pkg/labels/selector.go` and
`pkg/fields/selector.go`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from preview.sandbox.machinery.status import bad_request


@dataclass(frozen=True)
class Requirement:
    key: str
    op: str  # "=", "!=", "in", "notin", "exists", "!"
    values: tuple[str, ...] = ()

    def matches(self, labels: dict[str, str]) -> bool:
        has = self.key in labels
        if self.op == "exists":
            return has
        if self.op == "!":
            return not has
        if self.op in ("=", "in"):
            return has and labels[self.key] in self.values
        return not has or labels[self.key] not in self.values  # "!=" and "notin"


@dataclass(frozen=True)
class LabelSelector:
    requirements: tuple[Requirement, ...] = ()
    nothing: bool = False  # a nil metav1.LabelSelector selects nothing

    def matches(self, labels: dict[str, str]) -> bool:
        if self.nothing:
            return False
        return all(r.matches(labels) for r in self.requirements)


_TOKEN = re.compile(r"\s*(\(|\)|,|!=|==|=|!|[^\s(),!=]+)")


def parse_label_selector(text: str) -> LabelSelector:
    """Parse `a=b,c!=d,e in (x,y),f notin (z),g,!h`; empty selects everything."""
    tokens = _tokenize(text)
    reqs: list[Requirement] = []
    i = 0

    def fail(why: str) -> Exception:
        return bad_request(f"unable to parse requirement: {why}")

    while i < len(tokens):
        tok = tokens[i]
        if tok == "!":
            if i + 1 >= len(tokens) or tokens[i + 1] in ("(", ")", ",", "=", "==", "!="):
                raise fail("found '" + (tokens[i + 1] if i + 1 < len(tokens) else "") +
                           "', expected: identifier")
            reqs.append(Requirement(_key(tokens[i + 1]), "!"))
            i += 2
        else:
            if tok in ("(", ")", ",", "=", "==", "!="):
                raise fail(f"found '{tok}', expected: !, identifier, or 'end of string'")
            key = _key(tok)
            i += 1
            if i >= len(tokens) or tokens[i] == ",":
                reqs.append(Requirement(key, "exists"))
            elif tokens[i] in ("=", "==", "!="):
                op = "!=" if tokens[i] == "!=" else "="
                i += 1
                value = ""
                if i < len(tokens) and tokens[i] not in (",", "(", ")"):
                    value = tokens[i]
                    i += 1
                reqs.append(Requirement(key, op, (_value(value),)))
            elif tokens[i] in ("in", "notin"):
                op = tokens[i]
                i += 1
                if i >= len(tokens) or tokens[i] != "(":
                    raise fail(f"found '{tokens[i] if i < len(tokens) else ''}', expected: '('")
                i += 1
                values: list[str] = []
                while i < len(tokens) and tokens[i] != ")":
                    if tokens[i] != ",":
                        values.append(_value(tokens[i]))
                    i += 1
                if i >= len(tokens):
                    raise fail("found '', expected: ')'")
                i += 1
                if not values and op == "in":
                    values = [""]
                reqs.append(Requirement(key, op, tuple(values)))
            else:
                raise fail(f"found '{tokens[i]}', expected: in, notin, =, ==, !=, gt, lt")
        if i < len(tokens):
            if tokens[i] != ",":
                raise fail(f"found '{tokens[i]}', expected: ',' or 'end of string'")
            i += 1
            if i >= len(tokens):
                raise fail("found '', expected: !, identifier")
    return LabelSelector(tuple(reqs))


def _tokenize(text: str) -> list[str]:
    out: list[str] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            break
        out.append(m.group(1))
        pos = m.end()
    return out


_KEY = re.compile(r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
                  r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


def _key(key: str) -> str:
    if not _KEY.match(key) or len(key.rsplit("/", 1)[-1]) > 63:
        raise bad_request(f"unable to parse requirement: invalid label key \"{key}\": name part "
                          "must consist of alphanumeric characters, '-', '_' or '.', and must "
                          "start and end with an alphanumeric character")
    return key


def _value(value: str) -> str:
    if len(value) > 63 or not _VALUE.match(value):
        raise bad_request(f"unable to parse requirement: invalid label value: \"{value}\": at "
                          "key: must be no more than 63 characters and consist of alphanumeric "
                          "characters, '-', '_' or '.', starting and ending with an alphanumeric")
    return value


def from_label_selector_object(selector: dict[str, Any] | None) -> LabelSelector:
    """`metav1.LabelSelectorAsSelector`: nil selects nothing, `{}` selects everything."""
    if selector is None:
        return LabelSelector(nothing=True)
    reqs = [Requirement(k, "=", (str(v),)) for k, v in sorted(
        (selector.get("matchLabels") or {}).items())]
    ops = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!"}
    for expr in selector.get("matchExpressions") or []:
        op = ops.get(expr.get("operator", ""))
        if op is None:
            raise bad_request(f"\"{expr.get('operator')}\" is not a valid label selector "
                              "operator")
        reqs.append(Requirement(expr.get("key", ""), op, tuple(expr.get("values") or ())))
    return LabelSelector(tuple(reqs))


# -- field selectors ---------------------------------------------------------------------------
@dataclass(frozen=True)
class FieldRequirement:
    field: str
    value: str
    equal: bool


@dataclass(frozen=True)
class FieldSelector:
    requirements: tuple[FieldRequirement, ...] = ()

    def matches(self, fields: dict[str, str]) -> bool:
        return all((fields.get(r.field, "") == r.value) == r.equal for r in self.requirements)


def parse_field_selector(text: str, supported: frozenset[str]) -> FieldSelector:
    reqs = []
    for part in _split_unescaped(text):
        part = part.strip()
        if not part:
            continue
        op = next((o for o in ("!=", "==", "=") if o in part), None)
        if op is None:
            raise bad_request(f"invalid selector: '{text}'; can't understand '{part}'")
        field, value = part.split(op, 1)
        equal = op != "!="
        field = field.strip()
        if field not in supported:
            raise bad_request(f"field label not supported: {field}")
        reqs.append(FieldRequirement(field, value.replace("\\,", ","), equal))
    return FieldSelector(tuple(reqs))


def _split_unescaped(text: str) -> list[str]:
    return re.split(r"(?<!\\),", text)


_COMMON = frozenset({"metadata.name", "metadata.namespace"})
_KIND_FIELDS: dict[str, tuple[str, ...]] = {
    "Pod": ("status.phase", "spec.nodeName", "spec.restartPolicy", "spec.schedulerName",
            "spec.serviceAccountName", "spec.hostNetwork", "status.podIP",
            "status.nominatedNodeName"),
    "Secret": ("type",),
    "Event": ("involvedObject.kind", "involvedObject.namespace", "involvedObject.name",
              "involvedObject.uid", "involvedObject.apiVersion", "involvedObject.resourceVersion",
              "involvedObject.fieldPath", "reason", "reportingComponent", "source", "type"),
    "Namespace": ("status.phase",),
    "Node": ("spec.unschedulable",),
    "Job": ("status.successful",),
    "ReplicaSet": ("status.replicas",),
    "ReplicationController": ("status.replicas",),
    "PersistentVolumeClaim": (),
    "CertificateSigningRequest": ("spec.signerName",),
}


def supported_fields(kind: str) -> frozenset[str]:
    return _COMMON | frozenset(_KIND_FIELDS.get(kind, ()))


def object_fields(kind: str, obj: dict[str, Any]) -> dict[str, str]:
    meta = obj.get("metadata") or {}
    out = {"metadata.name": meta.get("name", ""), "metadata.namespace": meta.get("namespace", "")}
    for path in _KIND_FIELDS.get(kind, ()):
        value: Any = obj
        for part in path.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if kind == "Event" and path == "source":
            value = (obj.get("source") or {}).get("component", "")
        if isinstance(value, bool):
            value = "true" if value else "false"
        out[path] = "" if value is None else str(value)
    return out
