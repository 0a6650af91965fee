"""OpenAPI v2 in protobuf: what `/openapi/v2` answers to kubectl.

kubectl (client-go's discovery client) asks for the document as
`application/com.github.proto-openapi.spec.v2@v1.0+protobuf`: gnostic's `openapi.v2.Document`
message, which kube-openapi makes by parsing the JSON document (`openapi_v2.ParseDocument`)
and marshalling it. kubectl validates a `kind: List` client-side against it. The field
numbers below are gnostic's `openapiv2/OpenAPIv2.proto`, as embedded in the kubectl binary
(`tests/sandbox/test_openapi_protobuf.py` checks them against it). What gnostic keeps of a
JSON value it cannot type (`default`, `enum`, `example`, every `x-` extension) is an
`openapi.v2.Any` holding the value as YAML text; JSON is YAML, so that is what we write.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Callable, Iterable
from typing import Any

from preview.sandbox.apiserver.encoding import wire

# What kubectl asks for; `@` is no token character, so the server answers with the second
# spelling (which clients may ask for too): Go's mime parser rejects the first.
_REQUESTED = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
MEDIA_TYPE = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"



class _Message:
    """One message being written: fields in the order they are added (as Go marshals them);
    `message()` returns a nested message to fill, encoded when its parent is."""

    def __init__(self) -> None:
        self._parts: list[bytes | tuple[int, _Message]] = []

    def _key(self, number: int, kind: int) -> None:
        self._parts.append(wire.encode_varint(number << 3 | kind))

    def bytes_(self, number: int, data: bytes) -> None:
        self._key(number, wire.LENGTH_DELIMITED)
        self._parts += [wire.encode_varint(len(data)), data]

    def string(self, number: int, value: Any) -> None:
        if isinstance(value, str) and value:
            self.bytes_(number, value.encode())

    def strings(self, number: int, values: Any) -> None:
        for value in values if isinstance(values, list) else ():
            if isinstance(value, str):
                self.bytes_(number, value.encode())

    def boolean(self, number: int, value: Any, *, always: bool = False) -> None:
        """A bool; `always` writes false too (a member of a oneof is present when set)."""
        if value is True or (always and value is False):
            self._key(number, wire.VARINT)
            self._parts.append(b"\x01" if value else b"\x00")

    def int64(self, number: int, value: Any) -> None:
        if isinstance(value, int) and not isinstance(value, bool) and value:
            self._key(number, wire.VARINT)
            self._parts.append(wire.encode_varint(value))

    def double(self, number: int, value: Any) -> None:
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value:
            self._key(number, wire.FIXED64)
            self._parts.append(struct.pack("<d", float(value)))

    def message(self, number: int) -> _Message:
        sub = _Message()
        self._parts.append((number, sub))
        return sub

    def encode(self) -> bytes:
        out = bytearray()
        for part in self._parts:
            if isinstance(part, tuple):
                number, sub = part
                data = sub.encode()
                out += wire.encode_varint(number << 3 | wire.LENGTH_DELIMITED)
                out += wire.encode_varint(len(data)) + data
            else:
                out += part
        return bytes(out)


def _any(m: _Message, value: Any) -> None:
    """openapi.v2.Any: the value as YAML text (`yaml` 2)."""
    m.string(2, json.dumps(value, separators=(",", ":")))


def _extensions(m: _Message, number: int, doc: dict[str, Any]) -> None:
    """The `x-` keys of `doc` as repeated NamedAny (`name` 1, `value` 2)."""
    for key, value in doc.items():
        if key.startswith("x-"):
            named = m.message(number)
            named.string(1, key)
            _any(named.message(2), value)


def _named(m: _Message, number: int, items: Iterable[tuple[str, Any]],
           build: Callable[[_Message, Any], None]) -> None:
    """A gnostic map: a repeated `Named…` message of `name` 1 and `value` 2."""
    for name, value in items:
        named = m.message(number)
        named.string(1, name)
        build(named.message(2), value)


def _schema(m: _Message, s: dict[str, Any]) -> None:
    m.string(1, s.get("$ref"))
    m.string(2, s.get("format"))
    m.string(3, s.get("title"))
    m.string(4, s.get("description"))
    if "default" in s:
        _any(m.message(5), s["default"])
    m.double(6, s.get("multipleOf"))
    m.double(7, s.get("maximum"))
    m.boolean(8, s.get("exclusiveMaximum"))
    m.double(9, s.get("minimum"))
    m.boolean(10, s.get("exclusiveMinimum"))
    m.int64(11, s.get("maxLength"))
    m.int64(12, s.get("minLength"))
    m.string(13, s.get("pattern"))
    m.int64(14, s.get("maxItems"))
    m.int64(15, s.get("minItems"))
    m.boolean(16, s.get("uniqueItems"))
    m.int64(17, s.get("maxProperties"))
    m.int64(18, s.get("minProperties"))
    m.strings(19, s.get("required"))
    for value in s.get("enum") or ():
        _any(m.message(20), value)
    extra = s.get("additionalProperties")
    if isinstance(extra, dict):  # AdditionalPropertiesItem: schema 1 | boolean 2
        _schema(m.message(21).message(1), extra)
    elif isinstance(extra, bool):
        m.message(21).boolean(2, extra, always=True)
    kind = s.get("type")
    if kind:  # TypeItem: repeated value 1
        m.message(22).strings(1, kind if isinstance(kind, list) else [kind])
    items = s.get("items")
    if isinstance(items, (dict, list)):  # ItemsItem: repeated schema 1
        listed = m.message(23)
        for item in items if isinstance(items, list) else [items]:
            _schema(listed.message(1), item)
    for part in s.get("allOf") or ():
        _schema(m.message(24), part)
    properties = s.get("properties")
    if isinstance(properties, dict):  # Properties: repeated NamedSchema 1
        _named(m.message(25), 1, properties.items(), _schema)
    m.string(26, s.get("discriminator"))
    m.boolean(27, s.get("readOnly"))
    _extensions(m, 31, s)


def _parameter(m: _Message, p: dict[str, Any]) -> None:
    """ParametersItem: parameter 1 (body 1 | non-body 2) | json_reference 2."""
    if "$ref" in p:
        ref = m.message(2)
        ref.string(1, p["$ref"])
        ref.string(2, p.get("description"))
        return
    if p.get("in") == "body":
        body = m.message(1).message(1)
        body.string(1, p.get("description"))
        body.string(2, p.get("name"))
        body.string(3, p.get("in"))
        body.boolean(4, p.get("required"))
        if isinstance(p.get("schema"), dict):
            _schema(body.message(5), p["schema"])
        _extensions(body, 6, p)
        return
    # NonBodyParameter: header 1 | formData 2 | query 3 | path 4. Query and formData have
    # `allow_empty_value` at 5, which moves every later field of theirs one number up.
    which = {"header": 1, "formData": 2, "query": 3, "path": 4}.get(p.get("in", ""), 3)
    shift = 1 if which in (2, 3) else 0
    sub = m.message(1).message(2).message(which)
    sub.boolean(1, p.get("required"))
    sub.string(2, p.get("in"))
    sub.string(3, p.get("description"))
    sub.string(4, p.get("name"))
    if shift:
        sub.boolean(5, p.get("allowEmptyValue"))
    sub.string(5 + shift, p.get("type"))
    sub.string(6 + shift, p.get("format"))
    sub.string(8 + shift, p.get("collectionFormat"))
    if "default" in p:
        _any(sub.message(9 + shift), p["default"])
    sub.boolean(19 + shift, p.get("uniqueItems"))
    for value in p.get("enum") or ():
        _any(sub.message(20 + shift), value)
    _extensions(sub, 22 + shift, p)


def _response(m: _Message, r: dict[str, Any]) -> None:
    """ResponseValue: response 1 | json_reference 2."""
    if "$ref" in r:
        m.message(2).string(1, r["$ref"])
        return
    response = m.message(1)
    response.string(1, r.get("description"))
    if isinstance(r.get("schema"), dict):  # SchemaItem: schema 1 | file_schema 2
        _schema(response.message(2).message(1), r["schema"])
    _extensions(response, 5, r)


_VERBS = {"get": 2, "put": 3, "post": 4, "delete": 5, "options": 6, "head": 7, "patch": 8}


def _operation(m: _Message, op: dict[str, Any]) -> None:
    m.strings(1, op.get("tags"))
    m.string(2, op.get("summary"))
    m.string(3, op.get("description"))
    m.string(5, op.get("operationId"))
    m.strings(6, op.get("produces"))
    m.strings(7, op.get("consumes"))
    for p in op.get("parameters") or ():
        _parameter(m.message(8), p)
    responses = op.get("responses")
    if isinstance(responses, dict):  # Responses: response_code 1, vendor_extension 2
        codes = m.message(9)
        _named(codes, 1, ((k, v) for k, v in responses.items() if not k.startswith("x-")),
               _response)
        _extensions(codes, 2, responses)
    m.strings(10, op.get("schemes"))
    m.boolean(11, op.get("deprecated"))
    _extensions(m, 13, op)


def _path_item(m: _Message, item: dict[str, Any]) -> None:
    m.string(1, item.get("$ref"))
    for verb, number in _VERBS.items():
        if isinstance(item.get(verb), dict):
            _operation(m.message(number), item[verb])
    for p in item.get("parameters") or ():
        _parameter(m.message(9), p)
    _extensions(m, 10, item)


def encode_document(doc: dict[str, Any]) -> bytes:
    """The `openapi.v2.Document` of a Swagger 2.0 JSON document (as gnostic parses it)."""
    m = _Message()
    m.string(1, doc.get("swagger"))
    info = doc.get("info")
    if isinstance(info, dict):
        about = m.message(2)
        about.string(1, info.get("title"))
        about.string(2, info.get("version"))
        about.string(3, info.get("description"))
        _extensions(about, 7, info)
    m.string(3, doc.get("host"))
    m.string(4, doc.get("basePath"))
    m.strings(5, doc.get("schemes"))
    m.strings(6, doc.get("consumes"))
    m.strings(7, doc.get("produces"))
    paths = doc.get("paths")
    if isinstance(paths, dict):  # Paths: vendor_extension 1, path 2
        listed = m.message(8)
        _extensions(listed, 1, paths)
        _named(listed, 2, ((k, v) for k, v in paths.items() if k.startswith("/")), _path_item)
    definitions = doc.get("definitions")
    if isinstance(definitions, dict):
        _named(m.message(9), 1, definitions.items(), _schema)
    _extensions(m, 16, doc)
    return m.encode()


def negotiate(accept: str) -> str | None:
    """The media type `/openapi/v2` answers an `Accept` header with (kube-openapi's handler):
    the first clause by quality that JSON or the protobuf type matches, wildcards included;
    None when none does (406). No header means `*/*`."""
    clauses: list[tuple[float, int, str, str]] = []
    for index, raw in enumerate((accept or "*/*").split(",")):
        media, *params = [part.strip() for part in raw.split(";")]
        kind, _, subtype = media.partition("/")
        quality = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality > 0 and kind:
            clauses.append((-quality, index, kind, subtype or "*"))
    for _, _, kind, subtype in sorted(clauses):
        for offered, answer in (("application/json", "application/json"),
                                (_REQUESTED, MEDIA_TYPE), (MEDIA_TYPE, MEDIA_TYPE)):
            offered_kind, offered_subtype = offered.split("/")
            if kind in ("*", offered_kind) and subtype in ("*", offered_subtype):
                return answer
    return None
