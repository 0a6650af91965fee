"""Values of the wrong JSON type for their field, refused as the real server refuses them.

A built-in kind is decoded into Go structs (sigs.k8s.io/json): a string where an int32 is
declared fails the request with the earliest such value,
`json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32`.
Server-side apply builds a typed patch instead and names the field its own way:
`.spec.replicas: expected numeric (int or float), got string`. The Go types are read from
Kubernetes' protobuf messages (`encoding/protobuf_schema.py`), whose fields are the Go
structs' with their scalar types; a named string type (`v1.Protocol`) is reported as
`string`, which is all the messages tell.

Pure: an object, its kind's message and the schema.
"""

from __future__ import annotations

import json
from typing import Any

from preview.sandbox.apiserver.encoding.protobuf_schema import Schema

# Types with their own JSON form (a Quantity is "1Gi", an IntOrString either): not structs.
_OWN_JSON = frozenset({
    "Quantity", "QuantityValue", "IntOrString", "Time", "MicroTime", "Duration", "FieldsV1",
    "RawExtension", "Unknown", "JSON", "JSONSchemaPropsOrArray", "JSONSchemaPropsOrBool",
    "JSONSchemaPropsOrStringArray"})
_INTEGERS = frozenset({"int32", "int64", "uint32", "uint64", "sint32", "sint64", "fixed32",
                       "fixed64"})
_FLOATS = {"double": "float64", "float": "float32"}
_RANGES = {"int32": (-2**31, 2**31 - 1), "sint32": (-2**31, 2**31 - 1),
           "fixed32": (0, 2**32 - 1), "uint32": (0, 2**32 - 1), "uint64": (0, 2**64 - 1),
           "fixed64": (0, 2**64 - 1), "int64": (-2**63, 2**63 - 1)}


class TypeMismatch(Exception):
    """One value of the wrong type: `value` is Go's word for what was sent ("string",
    "number 1.5"), `go_type` the field's Go type, `struct` the Go struct holding it, `path`
    the field names from the root (no list indices) and `steps` the same with each list
    element as `(index, element)` (`unknownfields.Path`, which names it either way)."""

    def __init__(self, value: str, go_type: str, struct: str, path: tuple[str, ...],
                 steps: tuple[Any, ...], sent: Any) -> None:
        super().__init__(value)
        self.value, self.go_type, self.struct = value, go_type, struct
        self.path, self.steps, self.sent = path, steps, sent

    def decoder_message(self) -> str:
        return (f"json: cannot unmarshal {self.value} into Go struct field "
                f"{self.struct}.{'.'.join(self.path)} of type {self.go_type}")


def first_mismatch(obj: dict[str, Any], message: str, schema: Schema) -> TypeMismatch | None:
    """The first value (in the body's order) whose JSON type its Go field cannot take."""
    try:
        _struct(obj, message, schema, (), ())
    except TypeMismatch as e:
        return e
    return None


def _struct(value: dict[str, Any], message: str, schema: Schema, path: tuple[str, ...],
            steps: tuple[Any, ...]) -> None:
    fields = _fields(schema, message)
    struct = message.rsplit(".", 1)[-1]
    for key, item in value.items():
        if key not in fields or item is None:
            continue  # unknown fields are another check's; null is every field's zero
        typ, repeated = fields[key]
        here, where = (*path, key), (*steps, key)
        if repeated and typ != "bytes":
            if not isinstance(item, list):
                raise TypeMismatch(_kind(item), "[]" + _go_type(typ), struct, here, where, item)
            for i, element in enumerate(item):
                if element is not None:
                    _value(element, typ, schema, struct, here, (*where, (i, element)))
        else:
            _value(item, typ, schema, struct, here, where)


_FIELDS: dict[tuple[int, str], dict[str, tuple[str, bool]]] = {}


def _fields(schema: Schema, message: str) -> dict[str, tuple[str, bool]]:
    """A message's fields by JSON name, indexed once per schema (every write walks them)."""
    key = (id(schema), message)
    if key not in _FIELDS:
        _FIELDS[key] = {name: (typ, repeated)
                        for name, typ, repeated in schema.get(message, {}).values()}
    return _FIELDS[key]


def _value(value: Any, typ: str, schema: Schema, struct: str, path: tuple[str, ...],
           steps: tuple[Any, ...]) -> None:
    if typ.startswith("map:"):
        _, key_type, value_type = typ.split(":", 2)
        if not isinstance(value, dict):
            if _is_scalar(value_type):
                raise TypeMismatch(_kind(value), f"map[{_go_type(key_type)}]"
                                   f"{_go_type(value_type)}", struct, path, steps, value)
            return  # a named map type (v1.ResourceList): its Go name is not in the schema
        for key, item in value.items():
            if item is not None:
                _value(item, value_type, schema, struct, path, (*steps, key))
        return
    if typ in _INTEGERS:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeMismatch(_kind(value), typ, struct, path, steps, value)
        low, high = _RANGES.get(typ, _RANGES["int64"])
        if isinstance(value, float) or not low <= value <= high:  # Go reads 3.0 as no int
            raise TypeMismatch(f"number {json.dumps(value)}", typ, struct, path, steps, value)
        return
    if typ in _FLOATS:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeMismatch(_kind(value), _FLOATS[typ], struct, path, steps, value)
        return
    if typ in ("string", "bool"):
        expected = str if typ == "string" else bool
        if not isinstance(value, expected):
            raise TypeMismatch(_kind(value), typ, struct, path, steps, value)
        return
    if typ == "bytes" or typ.rsplit(".", 1)[-1] in _OWN_JSON or typ not in schema:
        return
    if not isinstance(value, dict):
        raise TypeMismatch(_kind(value), _go_type(typ), struct, path, steps, value)
    _struct(value, typ, schema, path, steps)


def _is_scalar(typ: str) -> bool:
    return typ in _INTEGERS or typ in _FLOATS or typ in ("string", "bool")


def _go_type(typ: str) -> str:
    """`k8s.io.api.core.v1.Container` -> `v1.Container`; scalars as Go names them."""
    if typ in _FLOATS:
        return _FLOATS[typ]
    if "." not in typ:
        return typ
    *_, package, name = typ.split(".")
    return f"{package}.{name}"


def _kind(value: Any) -> str:
    """Go's word for a JSON value's type in an UnmarshalTypeError."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def apply_message(mismatch: TypeMismatch, typed_path: str) -> str | None:
    """What server-side apply says of the mismatch (structured-merge-diff's words), where
    they are known: a number expected, or a string given something else."""
    sent = mismatch.sent
    if mismatch.go_type in _INTEGERS or mismatch.go_type in _FLOATS.values():
        return f"{typed_path}: expected numeric (int or float), got {_kind(sent)}"
    if mismatch.go_type == "string" and not isinstance(sent, list | dict):
        shown = ("true" if sent is True else "false") if isinstance(sent, bool) else \
            json.dumps(sent)
        return f"{typed_path}: expected string, got &value.valueUnstructured{{Value:{shown}}}"
    return None
