"""Decoding the Kubernetes protobuf request bodies kubectl and helm send.

`kubectl create deployment|namespace|configmap…`, `kubectl auth can-i`, and deletes with
options (helm uninstall) POST `application/vnd.kubernetes.protobuf`: the magic `k8s\\x00`,
then a `runtime.Unknown` whose `raw` is the object in the wire format of
`k8s.io/api/.../generated.proto`. We decode any message of the shipped schema
(`protobuf_schema`) into the JSON shape the rest of the server works on. Responses are
always JSON, which these clients accept.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import struct
from typing import Any

from preview.sandbox.apiserver.encoding import protobuf_schema, wire
from preview.sandbox.machinery.status import StatusError

MEDIA_TYPE = "application/vnd.kubernetes.protobuf"
MAGIC = b"k8s\x00"
_META = "k8s.io.apimachinery.pkg.apis.meta.v1"
# Go structs embedded with `json:",inline"`: their fields sit in the parent in JSON. In the
# proto they are a field named after the type; these are all such embeds in k8s.io/api.
_INLINE_TYPES = frozenset({"LocalObjectReference", "IngressRuleValue", "VolumeSource",
                           "PersistentVolumeSource", "EphemeralContainerCommon",
                           "RuleWithOperations", "Rule", "DeviceConfiguration"})
# Go slice types (`type ExtraValue []string`): a message of one repeated `items` field in
# the proto, a plain list in JSON (`extra: {key: [values]}` of the review and CSR kinds).
_SLICE_TYPES = frozenset({"ExtraValue", "Verbs"})
# Groups whose proto package is not the group's first label.
_PACKAGES = {"internal.apiserver.k8s.io": "apiserverinternal"}


def _signed(value: int, bits: int) -> int:
    return value - (1 << bits) if value >= 1 << (bits - 1) else value


def _value(typ: str, wire_value: Any) -> Any:
    """One field value in its JSON form."""
    if typ == "string":
        return bytes(wire_value).decode()
    if typ == "bytes":
        return base64.b64encode(bytes(wire_value)).decode()  # JSON form of []byte
    if typ == "bool":
        return bool(wire_value)
    if typ in ("int64", "int32"):
        return _signed(wire_value, 64)
    if typ in ("uint64", "uint32"):
        return wire_value
    if typ in ("sint64", "sint32"):
        return (wire_value >> 1) ^ -(wire_value & 1)
    if typ in ("double", "fixed64"):
        return struct.unpack("<d" if typ == "double" else "<q", bytes(wire_value))[0]
    if typ in ("float", "fixed32"):
        return struct.unpack("<f" if typ == "float" else "<i", bytes(wire_value))[0]
    return decode_message(bytes(wire_value), typ)


def _special(message: str, fields: dict[int, Any]) -> tuple[bool, Any]:
    """apimachinery types whose JSON form is not an object: (handled, value)."""
    if message in (f"{_META}.Time", f"{_META}.MicroTime"):
        seconds, nanos = _signed(fields.get(1, 0), 64), fields.get(2, 0)
        if not seconds and not nanos:
            return True, None
        stamp = dt.datetime.fromtimestamp(seconds, dt.UTC)
        if message.endswith("MicroTime"):
            return True, stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{nanos // 1000:06d}Z"
        return True, stamp.strftime("%Y-%m-%dT%H:%M:%SZ")
    if message == f"{_META}.Duration":
        return True, _go_duration(_signed(fields.get(1, 0), 64))
    if message == "k8s.io.apimachinery.pkg.util.intstr.IntOrString":
        if fields.get(1, 0) == 1:
            return True, bytes(fields.get(3, b"")).decode()
        return True, _signed(fields.get(2, 0), 64)
    if message == "k8s.io.apimachinery.pkg.api.resource.Quantity":
        return True, bytes(fields.get(1, b"")).decode()
    if message in ("k8s.io.apimachinery.pkg.runtime.RawExtension", f"{_META}.FieldsV1"):
        raw = bytes(fields.get(1, b""))
        return True, json.loads(raw) if raw else None
    return False, None


def _go_duration(nanos: int) -> str:
    seconds = nanos / 1e9
    hours, rest = divmod(abs(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    sign = "-" if seconds < 0 else ""
    if hours:
        return f"{sign}{int(hours)}h{int(minutes)}m{secs:g}s"
    if minutes:
        return f"{sign}{int(minutes)}m{secs:g}s"
    return f"{sign}{secs:g}s"


def decode_message(data: bytes, message: str) -> Any:
    """A message of the schema in its JSON form.

    Go's generated marshallers write every non-pointer field, zero values included; empty
    strings and zero timestamps are dropped so the result reads like the JSON a client
    would send (an empty string means the same as an absent field in the Kubernetes API).
    """
    schema = protobuf_schema.load().get(message)
    if schema is None:
        raise ValueError(f"no schema for protobuf message {message}")
    parsed = wire.fields(data)
    if message.startswith("k8s.io.apimachinery.pkg."):
        handled, special = _special(message, {n: v for n, _, v in parsed})
        if handled:
            return special
    if message.rsplit(".", 1)[-1] in _SLICE_TYPES:
        return [_value(schema[n][1], v) for n, _, v in parsed if n in schema]
    out: dict[str, Any] = {}
    for number, _, wire_value in parsed:
        if number not in schema:
            continue  # a field newer than our schema: ignored, as the real decoder does
        name, typ, repeated = schema[number]
        if typ.startswith("map:"):
            _, key_type, value_type = typ.split(":", 2)
            entry = {n: v for n, _, v in wire.fields(bytes(wire_value))}
            key = _value(key_type, entry.get(1, b"" if key_type == "string" else 0))
            value = _value(value_type, entry.get(2, b"" if value_type in (
                "string", "bytes") or "." in value_type else 0))
            out.setdefault(name, {})[str(key)] = value
        elif repeated:
            if typ not in ("string", "bytes") and "." not in typ and isinstance(wire_value,
                                                                                bytes):
                # A packed repeated scalar field: consecutive varints in one blob.
                out.setdefault(name, []).extend(
                    _value(typ, v) for v in wire.packed_varints(bytes(wire_value)))
            else:
                out.setdefault(name, []).append(_value(typ, wire_value))
        else:
            value = _value(typ, wire_value)
            if value is None or (value == "" and typ == "string"):
                continue
            if isinstance(value, dict) and _inline(name, typ):
                out.update(value)
            else:
                out[name] = value
    return out


def _inline(name: str, typ: str) -> bool:
    short = typ.rsplit(".", 1)[-1]
    return short in _INLINE_TYPES and name == short[0].lower() + short[1:]


def message_for(api_version: str, kind: str) -> str:
    """The protobuf message of a kind (`apps/v1`, `Deployment` → k8s.io.api.apps.v1.Deployment)."""
    group, _, version = api_version.rpartition("/")
    package = _PACKAGES.get(group) or (group.split(".")[0] if group else "core")
    schema = protobuf_schema.load()
    for candidate in (f"k8s.io.api.{package}.{version}.{kind}", f"{_META}.{kind}"):
        if candidate in schema:
            return candidate
    raise StatusError(415, "UnsupportedMediaType",
                   f"the sandbox has no protobuf schema for {api_version} {kind}; send it as "
                   "application/json")


def decode(body: bytes) -> dict[str, Any]:
    """A protobuf request body as the JSON-shaped object it encodes."""
    if not body.startswith(MAGIC):
        raise StatusError(400, "BadRequest", "protobuf body does not start with the k8s magic")
    try:
        fields = {n: v for n, _, v in wire.fields(body[len(MAGIC):])}
        type_meta = {n: bytes(v).decode() for n, _, v in wire.fields(bytes(fields.get(1, b"")))}
    except (ValueError, UnicodeDecodeError) as e:
        raise StatusError(400, "BadRequest", f"invalid protobuf body: {e}") from e
    api_version, kind = type_meta.get(1, ""), type_meta.get(2, "")
    if not kind:
        raise StatusError(400, "BadRequest", "protobuf body names no kind")
    message = message_for(api_version, kind)
    try:
        obj = decode_message(bytes(fields.get(2, b"")), message)
    except (ValueError, UnicodeDecodeError, IndexError, struct.error) as e:
        raise StatusError(400, "BadRequest", f"invalid protobuf {kind}: {e}") from e
    obj["apiVersion"], obj["kind"] = api_version, kind
    return obj
