"""The protobuf wire reader and varint writer every protobuf path of the sandbox shares."""

from __future__ import annotations

import pytest

from preview.sandbox.apiserver.encoding import wire


@pytest.mark.parametrize("value", [0, 1, 127, 128, 300, 2**32, 2**63 - 1])
def test_a_varint_reads_back(value: int) -> None:
    assert wire.Reader(wire.encode_varint(value)).varint() == value


def test_a_negative_int64_is_ten_bytes_of_twos_complement() -> None:
    encoded = wire.encode_varint(-1)
    assert len(encoded) == 10
    assert wire.Reader(encoded).varint() == 2**64 - 1


def test_fields_in_the_order_written() -> None:
    message = (wire.encode_varint(1 << 3 | wire.VARINT) + wire.encode_varint(150)
               + wire.encode_varint(2 << 3 | wire.LENGTH_DELIMITED) + b"\x03abc"
               + wire.encode_varint(3 << 3 | wire.FIXED64) + bytes(8)
               + wire.encode_varint(4 << 3 | wire.FIXED32) + bytes(4)
               + wire.encode_varint(2 << 3 | wire.LENGTH_DELIMITED) + b"\x00")
    assert wire.fields(message) == [(1, 0, 150), (2, 2, b"abc"), (3, 1, bytes(8)),
                                    (4, 5, bytes(4)), (2, 2, b"")]


@pytest.mark.parametrize(("message", "error"), [
    (b"\x08\x96", "truncated varint"),            # field 1, varint cut short
    (b"\x12\x05abc", "truncated field"),          # field 2 says 5 bytes, holds 3
    (b"\x19\x00\x00", "truncated field"),         # field 3, fixed64 with 2 bytes
    (b"\x0b", "unsupported wire type 3"),         # groups are not read
])
def test_a_malformed_message_is_a_value_error(message: bytes, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        wire.fields(message)


def test_packed_varints() -> None:
    assert wire.packed_varints(b"\x01\x96\x01\x03") == [1, 150, 3]
