"""Decoding the Kubernetes protobuf request bodies kubectl's typed commands send.

`kubectl create namespace|configmap|secret|serviceaccount|token` and `kubectl auth can-i`
POST `application/vnd.kubernetes.protobuf`: the magic `k8s\\x00`, then a `runtime.Unknown`
whose `raw` is the object in the wire format of `k8s.io/api/.../generated.proto`. We
decode the kinds those commands send, using their field numbers; other kinds answer 415
so the client can be pointed at JSON (`kubectl apply -f`). Responses are always JSON,
which these clients accept.
"""

from __future__ import annotations

import base64
from typing import Any

from preview.sandbox.status import ApiError

MEDIA_TYPE = "application/vnd.kubernetes.protobuf"
MAGIC = b"k8s\x00"

# message -> field number -> (json name, type); type is a scalar ("string", "bytes", "bool",
# "int"), a message name, "map:<value type>" or "[]<type>" for repeated fields.
Schema = dict[int, tuple[str, str]]
MESSAGES: dict[str, Schema] = {
    "Unknown": {1: ("typeMeta", "TypeMeta"), 2: ("raw", "bytes"),
                3: ("contentEncoding", "string"), 4: ("contentType", "string")},
    "TypeMeta": {1: ("apiVersion", "string"), 2: ("kind", "string")},
    "ObjectMeta": {1: ("name", "string"), 2: ("generateName", "string"),
                   3: ("namespace", "string"), 5: ("uid", "string"),
                   6: ("resourceVersion", "string"), 7: ("generation", "int"),
                   11: ("labels", "map:string"), 12: ("annotations", "map:string"),
                   13: ("ownerReferences", "[]OwnerReference"),
                   14: ("finalizers", "[]string")},
    "OwnerReference": {1: ("kind", "string"), 3: ("name", "string"), 4: ("uid", "string"),
                       5: ("apiVersion", "string"), 6: ("controller", "bool"),
                       7: ("blockOwnerDeletion", "bool")},
    "LocalObjectReference": {1: ("name", "string")},
    "ObjectReference": {1: ("kind", "string"), 2: ("namespace", "string"),
                        3: ("name", "string"), 4: ("uid", "string"),
                        5: ("apiVersion", "string")},
    # core/v1
    "Namespace": {1: ("metadata", "ObjectMeta"), 2: ("spec", "NamespaceSpec")},
    "NamespaceSpec": {1: ("finalizers", "[]string")},
    "ConfigMap": {1: ("metadata", "ObjectMeta"), 2: ("data", "map:string"),
                  3: ("binaryData", "map:bytes"), 4: ("immutable", "bool")},
    "Secret": {1: ("metadata", "ObjectMeta"), 2: ("data", "map:bytes"), 3: ("type", "string"),
               4: ("stringData", "map:string"), 5: ("immutable", "bool")},
    "ServiceAccount": {1: ("metadata", "ObjectMeta"), 2: ("secrets", "[]ObjectReference"),
                       3: ("imagePullSecrets", "[]LocalObjectReference"),
                       4: ("automountServiceAccountToken", "bool")},
    # authentication/v1
    "TokenRequest": {1: ("metadata", "ObjectMeta"), 2: ("spec", "TokenRequestSpec")},
    "TokenRequestSpec": {1: ("audiences", "[]string"), 3: ("boundObjectRef",
                                                           "BoundObjectReference"),
                         4: ("expirationSeconds", "int")},
    "BoundObjectReference": {1: ("kind", "string"), 2: ("apiVersion", "string"),
                             3: ("name", "string"), 4: ("uid", "string")},
    # authorization/v1
    "SelfSubjectAccessReview": {1: ("metadata", "ObjectMeta"),
                                2: ("spec", "SelfSubjectAccessReviewSpec")},
    "SelfSubjectAccessReviewSpec": {1: ("resourceAttributes", "ResourceAttributes"),
                                    2: ("nonResourceAttributes", "NonResourceAttributes")},
    "SubjectAccessReview": {1: ("metadata", "ObjectMeta"),
                            2: ("spec", "SubjectAccessReviewSpec")},
    "LocalSubjectAccessReview": {1: ("metadata", "ObjectMeta"),
                                 2: ("spec", "SubjectAccessReviewSpec")},
    "SubjectAccessReviewSpec": {1: ("resourceAttributes", "ResourceAttributes"),
                                2: ("nonResourceAttributes", "NonResourceAttributes"),
                                3: ("user", "string"), 4: ("groups", "[]string"),
                                6: ("uid", "string")},
    "ResourceAttributes": {1: ("namespace", "string"), 2: ("verb", "string"),
                           3: ("group", "string"), 4: ("version", "string"),
                           5: ("resource", "string"), 6: ("subresource", "string"),
                           7: ("name", "string")},
    "NonResourceAttributes": {1: ("path", "string"), 2: ("verb", "string")},
    "SelfSubjectRulesReview": {1: ("metadata", "ObjectMeta"),
                               2: ("spec", "SelfSubjectRulesReviewSpec")},
    "SelfSubjectRulesReviewSpec": {1: ("namespace", "string")},
    "SelfSubjectReview": {1: ("metadata", "ObjectMeta")},
}
TOP_LEVEL = {"Namespace", "ConfigMap", "Secret", "ServiceAccount", "TokenRequest",
             "SelfSubjectAccessReview", "SubjectAccessReview", "LocalSubjectAccessReview",
             "SelfSubjectRulesReview", "SelfSubjectReview"}


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def varint(self) -> int:
        shift = result = 0
        while True:
            if self.pos >= len(self.data):
                raise ValueError("truncated varint")
            b = self.data[self.pos]
            self.pos += 1
            result |= (b & 0x7F) << shift
            if not b & 0x80:
                return result
            shift += 7

    def fields(self) -> list[tuple[int, int, Any]]:
        out = []
        while self.pos < len(self.data):
            key = self.varint()
            number, wire = key >> 3, key & 7
            if wire == 0:
                value: Any = self.varint()
            elif wire == 2:
                n = self.varint()
                value = self.data[self.pos:self.pos + n]
                if len(value) != n:
                    raise ValueError("truncated field")
                self.pos += n
            elif wire == 1:
                value = self.data[self.pos:self.pos + 8]
                self.pos += 8
            elif wire == 5:
                value = self.data[self.pos:self.pos + 4]
                self.pos += 4
            else:
                raise ValueError(f"unsupported wire type {wire}")
            out.append((number, wire, value))
        return out


def _scalar(typ: str, value: Any) -> Any:
    if typ == "string":
        return bytes(value).decode()
    if typ == "bytes":
        return base64.b64encode(bytes(value)).decode()  # JSON form of []byte
    if typ == "bool":
        return bool(value)
    if typ == "int":
        return value - (1 << 64) if value >= 1 << 63 else value
    return decode_message(bytes(value), typ)


def decode_message(data: bytes, message: str) -> dict[str, Any]:
    schema = MESSAGES[message]
    out: dict[str, Any] = {}
    for number, _, value in _Reader(data).fields():
        if number not in schema:
            continue  # fields we don't model (timestamps, status) are dropped
        name, typ = schema[number]
        if typ.startswith("map:"):
            entry = {n: v for n, _, v in _Reader(bytes(value)).fields()}
            key = bytes(entry.get(1, b"")).decode()
            out.setdefault(name, {})[key] = _scalar(typ[4:], entry.get(2, b""))
        elif typ.startswith("[]"):
            out.setdefault(name, []).append(_scalar(typ[2:], value))
        else:
            out[name] = _scalar(typ, value)
    return out


def decode(body: bytes) -> dict[str, Any]:
    """A protobuf request body as the JSON-shaped object it encodes."""
    if not body.startswith(MAGIC):
        raise ApiError(400, "BadRequest", "protobuf body does not start with the k8s magic")
    try:
        unknown = decode_message(body[len(MAGIC):], "Unknown")
    except (ValueError, UnicodeDecodeError) as e:
        raise ApiError(400, "BadRequest", f"invalid protobuf body: {e}") from e
    type_meta = unknown.get("typeMeta") or {}
    kind = type_meta.get("kind", "")
    if kind not in TOP_LEVEL:
        raise ApiError(415, "UnsupportedMediaType",
                       f"the sandbox decodes protobuf bodies only for "
                       f"{', '.join(sorted(TOP_LEVEL))}; send {kind or 'this object'} as "
                       "application/json (e.g. kubectl apply -f)")
    raw = base64.b64decode(unknown.get("raw", ""))
    try:
        obj = decode_message(raw, kind)
    except (ValueError, UnicodeDecodeError) as e:
        raise ApiError(400, "BadRequest", f"invalid protobuf {kind}: {e}") from e
    obj["apiVersion"], obj["kind"] = type_meta.get("apiVersion", ""), kind
    return obj
