"""Exact Kubernetes resource quantities ("500m", "1Gi", "1e3"): parse, compare, add, print.

Follows `k8s.io/apimachinery/pkg/api/resource`: a value is exact (a Fraction here) and
remembers the suffix family it was written in, because the canonical form a server prints
(`Quantity.String()`) depends on it: 1536Mi stays binary ("1536Mi"), 1500 decimal stays
"1500", 0.5 prints as "500m". Values are rounded up to nano units, as the real type does.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

BINARY_SI = "BinarySI"
DECIMAL_SI = "DecimalSI"
DECIMAL_EXPONENT = "DecimalExponent"

_BINARY = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15,
            "E": 18}
_DECIMAL_SUFFIX = {e: s for s, e in _DECIMAL.items()}
_BINARY_SUFFIX = {e: s for s, e in _BINARY.items()}
_PATTERN = re.compile(r"^([+-]?)(\d+(?:\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?$")
_NANO = Fraction(1, 10**9)


class QuantityError(ValueError):
    """Not a quantity; the message is the real server's."""


@dataclass(frozen=True)
class Quantity:
    """An exact amount with the format (suffix family) it prints in."""

    value: Fraction
    format: str = DECIMAL_SI

    def __add__(self, other: Quantity) -> Quantity:
        return Quantity(self.value + other.value, self.format)

    def __sub__(self, other: Quantity) -> Quantity:
        return Quantity(self.value - other.value, self.format)

    def __lt__(self, other: Quantity) -> bool:
        return self.value < other.value

    def __le__(self, other: Quantity) -> bool:
        return self.value <= other.value

    def __gt__(self, other: Quantity) -> bool:
        return self.value > other.value

    def __ge__(self, other: Quantity) -> bool:
        return self.value >= other.value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Quantity) and self.value == other.value

    def __hash__(self) -> int:
        return hash(self.value)

    def __str__(self) -> str:
        return format_quantity(self.value, self.format)

    @property
    def milli(self) -> int:
        """The value in thousandths, rounded up (as `MilliValue`)."""
        return math.ceil(self.value * 1000)


def parse(text: Any) -> Quantity:
    """Parse a quantity as the API accepts it (also plain ints and floats from JSON)."""
    if isinstance(text, bool):
        raise QuantityError(_invalid(text))
    if isinstance(text, int):
        return Quantity(Fraction(text))
    if isinstance(text, float):
        return Quantity(_round_up(Fraction(repr(text))))
    s = str(text).strip()
    m = _PATTERN.match(s)
    if not m:
        raise QuantityError(_invalid(text))
    sign, number, suffix = m.group(1), m.group(2), m.group(3) or ""
    value = Fraction(number)
    if sign == "-":
        value = -value
    if suffix in _BINARY:
        return Quantity(_round_up(value * 2 ** _BINARY[suffix]), BINARY_SI)
    if suffix in _DECIMAL:
        return Quantity(_round_up(value * Fraction(10) ** _DECIMAL[suffix]), DECIMAL_SI)
    return Quantity(_round_up(value * Fraction(10) ** int(suffix[1:])), DECIMAL_EXPONENT)


def is_valid(text: Any) -> bool:
    try:
        parse(text)
        return True
    except QuantityError:
        return False


def canonical(text: Any) -> str:
    """The form the server stores and prints for `text`: `canonical("0.5") == "500m"`."""
    return str(parse(text))


def zero(like: Quantity | None = None) -> Quantity:
    return Quantity(Fraction(0), like.format if like else DECIMAL_SI)


def format_quantity(value: Fraction, fmt: str = DECIMAL_SI) -> str:
    """`Quantity.String()`: the largest suffix that keeps the mantissa an integer."""
    value = _round_up(value)
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    magnitude = abs(value)
    if fmt == BINARY_SI and magnitude.denominator == 1 and magnitude >= 1024:
        number = magnitude.numerator
        exp = 0
        while exp < 60 and number % 1024 == 0:
            number //= 1024
            exp += 10
        return f"{sign}{number}{_BINARY_SUFFIX.get(exp, '')}"
    exp = -9
    scaled = magnitude * 10**9
    # scaled is an integer after rounding to nano units; grow the exponent while it divides.
    number = int(scaled)
    while exp < 18 and number % 1000 == 0:
        number //= 1000
        exp += 3
    if fmt == DECIMAL_EXPONENT:
        return f"{sign}{number}" + (f"e{exp}" if exp else "")
    return f"{sign}{number}{_DECIMAL_SUFFIX[exp]}"


def _round_up(value: Fraction) -> Fraction:
    """Round away from zero to nano units (the real type's smallest scale)."""
    if (value / _NANO).denominator == 1:
        return value
    scaled = value / _NANO
    rounded = math.ceil(scaled) if value > 0 else math.floor(scaled)
    return Fraction(rounded) * _NANO


def _invalid(text: Any) -> str:
    return f"quantities must match the regular expression " \
           f"'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$' (got {text!r})"
