"""A protobuf encoder for tests: bodies as client-go's generated marshallers write them.

Go writes every non-pointer field, so an empty string is on the wire as a zero-length field
(the case the server must not lose). Encodes the JSON form given, over the sandbox's schema
of `k8s.io` messages (ObjectMeta, Time, Quantity and maps included; no inline embeds).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from preview.sandbox.apiserver.encoding import protobuf, protobuf_schema, wire


def _len_field(number: int, data: bytes) -> bytes:
    return wire.encode_varint(number << 3 | 2) + wire.encode_varint(len(data)) + data


def _scalar(number: int, typ: str, value: Any) -> bytes:
    if typ == "string":
        return _len_field(number, str(value).encode())
    if typ in ("bool", "int32", "int64", "uint32", "uint64"):
        return wire.encode_varint(number << 3) + wire.encode_varint(int(value))
    if "." in typ:
        return _len_field(number, encode_message(typ, value))
    raise ValueError(f"the test encoder has no {typ}")


def encode_message(message: str, value: Any) -> bytes:
    short = message.rsplit(".", 1)[-1]
    if short == "Time":
        seconds = int(dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ")
                      .replace(tzinfo=dt.UTC).timestamp())
        return wire.encode_varint(1 << 3) + wire.encode_varint(seconds)
    if short == "Quantity":
        return _len_field(1, str(value).encode())
    if short in ("ExtraValue", "Verbs"):
        return b"".join(_len_field(1, v.encode()) for v in value)
    schema = protobuf_schema.load()[message]
    by_name = {name: (number, typ, repeated) for number, (name, typ, repeated) in schema.items()}
    out = bytearray()
    for key, item in value.items():
        number, typ, repeated = by_name[key]
        if typ.startswith("map:"):
            _, key_type, value_type = typ.split(":", 2)
            for k, v in item.items():
                out += _len_field(number, _scalar(1, key_type, k) + _scalar(2, value_type, v))
        elif repeated:
            for v in item:
                out += _scalar(number, typ, v)
        else:
            out += _scalar(number, typ, item)
    return bytes(out)


def encode(obj: dict[str, Any]) -> bytes:
    """A whole request body: the k8s magic, TypeMeta, and the object's message."""
    api_version, kind = obj["apiVersion"], obj["kind"]
    message = protobuf.message_for(api_version, kind)
    raw = encode_message(message, {k: v for k, v in obj.items()
                                   if k not in ("apiVersion", "kind")})
    type_meta = _len_field(1, api_version.encode()) + _len_field(2, kind.encode())
    return protobuf.MAGIC + _len_field(1, type_meta) + _len_field(2, raw)
