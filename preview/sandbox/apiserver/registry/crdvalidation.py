"""A custom resource checked against its CRD's schema, as the apiextensions server does.

After pruning (`unknownfields.py`) the object is validated with the schema's value rules:
types (`x-kubernetes-int-or-string`, `nullable`), `required`, `enum`, string lengths and
`pattern`, number bounds, item and property counts. Each failure is a cause of one 422
Invalid, worded as the real server words it
(`spec.size: Invalid value: "string": spec.size in body must be of type integer: "string"`).
CEL rules (`x-kubernetes-validations`) and formats are not checked.

Pure: an object and a schema in, causes out.
"""

from __future__ import annotations

import json
import re
from typing import Any

from preview.sandbox.machinery.status import Cause, field_invalid, field_required

Schema = dict[str, Any]
_ENVELOPE = ("apiVersion", "kind", "metadata")  # the server's to check, not the schema's


def causes(obj: dict[str, Any], schema: Schema) -> list[Cause]:
    """Every rule of `schema` the custom resource `obj` breaks, in the object's order."""
    found: list[Cause] = []
    body = {k: v for k, v in obj.items() if k not in _ENVELOPE}
    _object(body, schema, "", found, envelope=True)
    return found


def _value(value: Any, schema: Schema, path: str, found: list[Cause]) -> None:
    kind = _json_type(value)
    expected = _expected(schema)
    if value is None:
        if expected and not schema.get("nullable"):
            found.append(_wrong_type(path, "null", expected))
        return
    if expected and kind not in _accepted(expected):
        found.append(_wrong_type(path, kind, expected))
        _enum(value, schema, path, found)
        return
    _enum(value, schema, path, found)
    if isinstance(value, str):
        _string(value, schema, path, found)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        _number(value, schema, path, found)
    elif isinstance(value, list):
        _array(value, schema, path, found)
    elif isinstance(value, dict):
        _object(value, schema, path, found)


def _expected(schema: Schema) -> str:
    if schema.get("x-kubernetes-int-or-string"):
        return "integer,string"
    return str(schema.get("type") or "")


def _accepted(expected: str) -> set[str]:
    kinds = set(expected.split(","))
    return kinds | {"integer"} if "number" in kinds else kinds


def _wrong_type(path: str, kind: str, expected: str) -> Cause:
    return field_invalid(path, kind, f'{path} in body must be of type {expected}: "{kind}"')


def _enum(value: Any, schema: Schema, path: str, found: list[Cause]) -> None:
    allowed = schema.get("enum")
    if not isinstance(allowed, list) or any(_same(value, a) for a in allowed):
        return
    shown = json.dumps(value) if isinstance(value, str) else _plain(value)
    values = ", ".join(f'"{_plain(a)}"' for a in allowed)
    found.append(Cause("FieldValueNotSupported",
                       f"Unsupported value: {shown}: supported values: {values}", path))


def _same(a: Any, b: Any) -> bool:
    return a == b and isinstance(a, bool) == isinstance(b, bool)


def _plain(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return _number_text(value) if isinstance(value, int | float) else json.dumps(value)


def _number_text(value: float) -> str:
    """As Go's %v prints a float64 bound: 3, 2.5."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _string(value: str, schema: Schema, path: str, found: list[Cause]) -> None:
    longest, shortest = schema.get("maxLength"), schema.get("minLength")
    if isinstance(longest, int) and len(value.encode()) > longest:
        found.append(Cause("FieldValueTooLong",
                           f"Too long: may not be more than {longest} bytes", path))
    if isinstance(shortest, int) and len(value) < shortest:
        found.append(field_invalid(path, value,
                                   f"{path} in body should be at least {shortest} chars long"))
    pattern = schema.get("pattern")
    if isinstance(pattern, str):
        try:
            matches = re.search(pattern, value) is not None
        except re.error:
            return  # the CRD's own validation refuses a pattern that does not compile
        if not matches:
            found.append(field_invalid(path, value, f"{path} in body should match '{pattern}'"))


def _number(value: float, schema: Schema, path: str, found: list[Cause]) -> None:
    low, high = schema.get("minimum"), schema.get("maximum")
    if isinstance(low, int | float):
        exclusive = bool(schema.get("exclusiveMinimum"))
        if value < low or (exclusive and value == low):
            word = "greater than" if exclusive else "greater than or equal to"
            found.append(field_invalid(path, value, f"{path} in body should be {word} "
                                                    f"{_number_text(low)}"))
    if isinstance(high, int | float):
        exclusive = bool(schema.get("exclusiveMaximum"))
        if value > high or (exclusive and value == high):
            word = "less than" if exclusive else "less than or equal to"
            found.append(field_invalid(path, value, f"{path} in body should be {word} "
                                                    f"{_number_text(high)}"))


def _array(value: list[Any], schema: Schema, path: str, found: list[Cause]) -> None:
    most = schema.get("maxItems")
    if isinstance(most, int) and len(value) > most:
        found.append(Cause("FieldValueTooMany",
                           f"Too many: {len(value)}: must have at most {most} items", path))
    items = schema.get("items")
    if isinstance(items, dict):
        for i, item in enumerate(value):
            _value(item, items, f"{path}[{i}]", found)


def _object(value: dict[str, Any], schema: Schema, path: str, found: list[Cause],
            envelope: bool = False) -> None:
    most = schema.get("maxProperties")
    if isinstance(most, int) and len(value) > most:
        found.append(Cause("FieldValueTooMany",
                           f"Too many: {len(value)}: must have at most {most} items", path))
    for name in schema.get("required") or []:
        if name not in value and not (envelope and name in _ENVELOPE):
            found.append(field_required(f"{path}.{name}" if path else name))
    properties = schema.get("properties") or {}
    additional = schema.get("additionalProperties")
    for key, item in value.items():
        sub = properties.get(key, additional if isinstance(additional, dict) else None)
        if isinstance(sub, dict):
            _value(item, sub, f"{path}.{key}" if path else key, found)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):  # 2.0 is a JSON integer to the validator
        return "integer" if value.is_integer() else "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"
