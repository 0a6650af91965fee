"""A custom resource against its CRD's value rules, worded as the apiextensions server's
own tests expect (pure)."""

from __future__ import annotations

from typing import Any

import pytest

from preview.sandbox.apiserver.registry import crdvalidation

SCHEMA: dict[str, Any] = {"type": "object", "required": ["spec"], "properties": {
    "spec": {"type": "object", "required": ["size"], "properties": {
        "size": {"type": "integer", "minimum": 1, "maximum": 10},
        "ratio": {"type": "number", "exclusiveMaximum": True, "maximum": 1},
        "color": {"type": "string", "enum": ["red", "blue"]},
        "name": {"type": "string", "maxLength": 5, "minLength": 1, "pattern": "^[a-z]+$"},
        "port": {"x-kubernetes-int-or-string": True},
        "note": {"type": "string", "nullable": True},
        "tags": {"type": "array", "maxItems": 2, "items": {"type": "string"}},
        "labels": {"type": "object", "maxProperties": 1,
                   "additionalProperties": {"type": "string"}},
        "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}}}}


def _messages(spec: Any) -> list[str]:
    obj = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"},
           "spec": spec}
    return [f"{c.field}: {c.message}" for c in crdvalidation.causes(obj, SCHEMA)]


def test_a_valid_resource_has_no_causes() -> None:
    assert _messages({"size": 3, "ratio": 0.5, "color": "red", "name": "abc", "port": "http",
                      "note": None, "tags": ["a"], "labels": {"a": "b"},
                      "free": {"anything": [1]}}) == []
    assert _messages({"size": 2.0, "port": 8080}) == []


@pytest.mark.parametrize(("spec", "expected"), [
    ({"size": "3"}, ['spec.size: Invalid value: "string": spec.size in body must be of type '
                     'integer: "string"']),
    ({"size": 1.5}, ['spec.size: Invalid value: "number": spec.size in body must be of type '
                     'integer: "number"']),
    ({}, ["spec.size: Required value"]),
    ({"size": 0}, ["spec.size: Invalid value: 0: spec.size in body should be greater than or "
                   "equal to 1"]),
    ({"size": 11}, ["spec.size: Invalid value: 11: spec.size in body should be less than or "
                    "equal to 10"]),
    ({"size": 1, "ratio": 1}, ["spec.ratio: Invalid value: 1: spec.ratio in body should be "
                               "less than 1"]),
    ({"size": 1, "color": "pink"}, ['spec.color: Unsupported value: "pink": supported values: '
                                    '"red", "blue"']),
    ({"size": 1, "color": True}, [
        'spec.color: Invalid value: "boolean": spec.color in body must be of type string: '
        '"boolean"',
        'spec.color: Unsupported value: true: supported values: "red", "blue"']),
    ({"size": 1, "name": "abcdef"}, ["spec.name: Too long: may not be more than 5 bytes"]),
    ({"size": 1, "name": ""}, ['spec.name: Invalid value: "": spec.name in body should be at '
                               'least 1 chars long',
                               """spec.name: Invalid value: "": spec.name in body should """
                               """match '^[a-z]+$'"""]),
    ({"size": 1, "port": True}, ['spec.port: Invalid value: "boolean": spec.port in body must '
                                 'be of type integer,string: "boolean"']),
    ({"size": 1, "port": None}, ['spec.port: Invalid value: "null": spec.port in body must be '
                                 'of type integer,string: "null"']),
    ({"size": 1, "tags": ["a", "b", 3]}, [
        "spec.tags: Too many: 3: must have at most 2 items",
        'spec.tags[2]: Invalid value: "integer": spec.tags[2] in body must be of type string: '
        '"integer"']),
    ({"size": 1, "labels": {"a": "b", "c": "d"}},
     ["spec.labels: Too many: 2: must have at most 1 items"]),
])
def test_each_rule_as_the_real_server_words_it(spec: dict[str, Any],
                                               expected: list[str]) -> None:
    assert _messages(spec) == expected


def test_a_missing_spec_and_the_envelope() -> None:
    obj = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    schema = {**SCHEMA, "required": ["spec", "metadata"]}
    assert [f"{c.field}: {c.message}" for c in crdvalidation.causes(obj, schema)] == [
        "spec: Required value"]
