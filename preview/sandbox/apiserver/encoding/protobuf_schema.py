"""The field numbers of Kubernetes' protobuf messages, as data shipped with the package.

kubectl's typed commands (`create deployment`, `delete` with options…) and helm (deleting
its release Secrets) send `application/vnd.kubernetes.protobuf` bodies. Decoding them needs
each message's field numbers, which only the `generated.proto` files of `k8s.io/api` and
`k8s.io/apimachinery` define. Every Go binary built with those packages embeds them as
gzipped `FileDescriptorProto`s (gogo-protobuf registers each file), so we read them out of
the real `kubectl` binary once and ship the result as `protobuf_schema.json.gz`.

Regenerate after a kubectl upgrade:

    python -m preview.sandbox.apiserver.encoding.protobuf_schema --kubectl .tools/bin/kubectl

Schema format: `{message full name: {field number: [json name, type, repeated]}}` where a
type is a scalar (`string`, `bytes`, `bool`, `int64`, `int32`, `uint64`, `uint32`, `sint64`,
`sint32`, `double`, `float`, `fixed64`, `fixed32`), a message full name (`.`-separated),
or `map:<key type>:<value type>`.
"""

from __future__ import annotations

import argparse
import functools
import gzip
import json
import re
import sys
import zlib
from pathlib import Path
from typing import Any

from preview.sandbox.apiserver.encoding import wire

SCHEMA_FILE = Path(__file__).with_name("protobuf_schema.json.gz")
Schema = dict[str, dict[int, tuple[str, str, bool]]]

# FieldDescriptorProto.Type numbers (google/protobuf/descriptor.proto).
_SCALARS = {1: "double", 2: "float", 3: "int64", 4: "uint64", 5: "int32", 6: "fixed64",
            7: "fixed32", 8: "bool", 9: "string", 12: "bytes", 13: "uint32", 14: "int32",
            15: "fixed32", 16: "fixed64", 17: "sint32", 18: "sint64"}
_MESSAGE, _REPEATED = 11, 3


@functools.cache
def load() -> Schema:
    """The shipped schema (read once per process)."""
    raw = json.loads(gzip.decompress(SCHEMA_FILE.read_bytes()))
    return {name: {int(num): (f[0], f[1], bool(f[2])) for num, f in fields.items()}
            for name, fields in raw.items()}


# -- generation (dev-time) ---------------------------------------------------------------------
def _fields(data: bytes) -> list[tuple[int, int | bytes]]:
    """Top-level (number, value) pairs of a descriptor (it has no fixed-size fields we read)."""
    return [(number, value) for number, kind, value in wire.fields(data)
            if kind in (wire.VARINT, wire.LENGTH_DELIMITED)]


def _text(value: int | bytes) -> str:
    assert isinstance(value, bytes)
    return value.decode()


def _messages(package: str, data: bytes, out: dict[str, list[dict[str, Any]]],
              map_entries: set[str]) -> None:
    """One DescriptorProto (and its nested types) into `out[full name] = [field…]`."""
    name, fields, nested, is_map = "", [], [], False
    for number, value in _fields(data):
        if number == 1:
            name = _text(value)
        elif number == 2:
            fields.append(value)
        elif number == 3:
            nested.append(value)
        elif number == 7 and isinstance(value, bytes):
            is_map = any(n == 7 and v == 1 for n, v in _fields(value))  # map_entry
    full = f"{package}.{name}"
    parsed = []
    for raw in fields:
        assert isinstance(raw, bytes)
        f: dict[str, Any] = {"label": 1, "type": 0, "type_name": ""}
        for number, value in _fields(raw):
            key = {1: "name", 3: "number", 4: "label", 5: "type", 6: "type_name",
                   10: "json_name"}.get(number)
            if key:
                f[key] = _text(value) if key in ("name", "type_name", "json_name") else value
        parsed.append(f)
    out[full] = parsed
    if is_map:
        map_entries.add(full)
    for sub in nested:
        assert isinstance(sub, bytes)
        _messages(full, sub, out, map_entries)


def generate(binary: Path) -> dict[str, dict[str, list[Any]]]:
    """Extract every k8s.io `generated.proto` descriptor embedded in a Go binary."""
    data = binary.read_bytes()
    raw_messages: dict[str, list[dict[str, Any]]] = {}
    map_entries: set[str] = set()
    files = 0
    for match in re.finditer(rb"\x1f\x8b\x08\x00\x00\x00\x00\x00", data):
        try:
            decompressed = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(
                data[match.start():match.start() + 1_000_000])
            parts = _fields(decompressed)
        except (zlib.error, ValueError, IndexError):
            continue
        file_name = next((_text(v) for n, v in parts if n == 1 and isinstance(v, bytes)), "")
        if not (file_name.startswith("k8s.io/") and file_name.endswith("generated.proto")):
            continue
        files += 1
        package = next(_text(v) for n, v in parts if n == 2)
        for number, value in parts:
            if number == 4:
                assert isinstance(value, bytes)
                _messages(package, value, raw_messages, map_entries)
    if not files:
        raise SystemExit(f"no k8s.io generated.proto descriptors found in {binary}")

    def type_of(f: dict[str, Any]) -> str:
        if f["type"] == _MESSAGE:
            target = f["type_name"].lstrip(".")
            if target in map_entries:
                entry = {e["number"]: e for e in raw_messages[target]}
                return f"map:{type_of(entry[1])}:{type_of(entry[2])}"
            return str(target)
        return _SCALARS[f["type"]]

    schema: dict[str, dict[str, list[Any]]] = {}
    for name, fields in sorted(raw_messages.items()):
        if name in map_entries:
            continue
        schema[name] = {str(f["number"]): [f.get("json_name") or f["name"], type_of(f),
                                           1 if f["label"] == _REPEATED and
                                           not type_of(f).startswith("map:") else 0]
                        for f in fields}
    return schema


def embedded_messages(binary: Path, proto_file: str) -> Schema:
    """The messages of one `.proto` file a Go binary registers uncompressed (as
    google.golang.org/protobuf does, e.g. gnostic's `openapiv2/OpenAPIv2.proto`), in the
    shipped schema's format, map fields aside. Dev- and test-time: it reads the binary."""
    data = binary.read_bytes()
    name = proto_file.encode()
    start = data.find(b"\x0a" + bytes([len(name)]) + name)
    if start < 0:
        raise ValueError(f"{proto_file} is not embedded in {binary}")
    # The descriptor's length is not recorded next to it: read fields while they are ones a
    # FileDescriptorProto has (name 1 … syntax 12, all length-delimited).
    parts: list[tuple[int, bytes]] = []
    reader = wire.Reader(data)
    reader.pos = start
    while not reader.done:
        key = data[reader.pos]  # one byte: field numbers 1 … 12
        if key & 7 != wire.LENGTH_DELIMITED or not 1 <= key >> 3 <= 12:
            break
        reader.pos += 1
        parts.append((key >> 3, reader.take(reader.varint())))
    package = next(_text(v) for n, v in parts if n == 2)
    raw: dict[str, list[dict[str, Any]]] = {}
    for number, value in parts:
        if number == 4:
            _messages(package, value, raw, set())
    return {message: {f["number"]: (f["name"], f["type_name"].lstrip(".") or
                                    _SCALARS[f["type"]], f["label"] == _REPEATED)
                      for f in fields} for message, fields in raw.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m preview.sandbox.apiserver.encoding.protobuf_schema",
                                     description="Regenerate the shipped protobuf schema from "
                                                 "the descriptors embedded in kubectl.")
    parser.add_argument("--kubectl", type=Path, required=True, help="a kubectl binary")
    parser.add_argument("--out", type=Path, default=SCHEMA_FILE)
    args = parser.parse_args(argv)
    schema = generate(args.kubectl)
    args.out.write_bytes(gzip.compress(
        json.dumps(schema, separators=(",", ":"), sort_keys=True).encode(), mtime=0))
    print(f"{len(schema)} messages -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
