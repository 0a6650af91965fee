"""Quantities parse exactly and print in the real server's canonical form."""

from __future__ import annotations

from fractions import Fraction

import pytest

from preview.sandbox.machinery.quantity import QuantityError, canonical, parse


@pytest.mark.parametrize(("text", "value"), [
    ("500m", Fraction(1, 2)), ("1", Fraction(1)), ("1.5", Fraction(3, 2)),
    ("1Gi", Fraction(2**30)), ("512Mi", Fraction(2**29)), ("1k", Fraction(1000)),
    ("1e3", Fraction(1000)), ("1E-3", Fraction(1, 1000)), ("-2", Fraction(-2)),
    ("100n", Fraction(1, 10**7)), (".5", Fraction(1, 2)), (3, Fraction(3)),
])
def test_parse_is_exact(text: object, value: Fraction) -> None:
    assert parse(text).value == value


@pytest.mark.parametrize(("text", "expected"), [
    ("0.5", "500m"), ("1000m", "1"), ("1500", "1500"), ("2000", "2k"), ("1Gi", "1Gi"),
    ("1024Mi", "1Gi"), ("1536Mi", "1536Mi"), ("0.5Gi", "512Mi"), ("0.5Ki", "512"),
    ("1e3", "1e3"), ("1e6", "1e6"), ("0", "0"), ("100m", "100m"), ("0.1", "100m"),
    ("1.0000000001", "1000000001n"),
])
def test_canonical_form(text: str, expected: str) -> None:
    assert canonical(text) == expected


def test_sums_keep_the_first_format() -> None:
    assert str(parse("512Mi") + parse("512Mi")) == "1Gi"
    assert str(parse("250m") + parse("750m")) == "1"
    assert parse("1Gi") > parse("1000Mi") and parse("1") == parse("1000m")


def test_rounds_up_to_nano() -> None:
    assert parse("0.0000000001").value == Fraction(1, 10**9)


@pytest.mark.parametrize("text", ["", "abc", "1.2.3", "1Gb", "--1", True])
def test_invalid(text: object) -> None:
    with pytest.raises(QuantityError):
        parse(text)
