"""The protobuf wire format: a message as its (field number, wire type, value) fields.

One reader for everything the sandbox decodes: request bodies (`protobuf.py`), the
descriptors embedded in kubectl (`protobuf_schema.py`) and, in the tests, the OpenAPI document
it encodes. A varint field's value is an int; a length-delimited, 64-bit or 32-bit field's
is its raw bytes, which the caller reads by the field's declared type. `encode_varint` is
the one varint writer (the OpenAPI encoder's and the tests' encoders).
"""

from __future__ import annotations

VARINT, FIXED64, LENGTH_DELIMITED, FIXED32 = 0, 1, 2, 5
_FIXED_SIZES = {FIXED64: 8, FIXED32: 4}

Field = tuple[int, int, int | bytes]


class Reader:
    """A cursor over one message's bytes; every read checks the message holds it."""

    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    @property
    def done(self) -> bool:
        return self.pos >= len(self.data)

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

    def take(self, n: int) -> bytes:
        value = self.data[self.pos:self.pos + n]
        if len(value) != n:
            raise ValueError("truncated field")
        self.pos += n
        return value

    def field(self) -> Field:
        key = self.varint()
        number, wire = key >> 3, key & 7
        if wire == VARINT:
            return number, wire, self.varint()
        if wire == LENGTH_DELIMITED:
            return number, wire, self.take(self.varint())
        if wire in _FIXED_SIZES:
            return number, wire, self.take(_FIXED_SIZES[wire])
        raise ValueError(f"unsupported wire type {wire}")


def fields(data: bytes) -> list[Field]:
    """Every field of a message, in the order written (repeated fields appear once each)."""
    reader = Reader(data)
    out = []
    while not reader.done:
        out.append(reader.field())
    return out


def packed_varints(data: bytes) -> list[int]:
    """A packed repeated scalar field: consecutive varints in one length-delimited value."""
    reader = Reader(data)
    out = []
    while not reader.done:
        out.append(reader.varint())
    return out


def encode_varint(value: int) -> bytes:
    """A varint; a negative int64 is its ten-byte two's complement, as Go writes it."""
    value &= (1 << 64) - 1
    out = bytearray()
    while True:
        low = value & 0x7F
        value >>= 7
        if value:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)
