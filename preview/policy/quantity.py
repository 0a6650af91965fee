"""Kubernetes resource quantities ("500m", "2Gi", "1e3") as exact numbers, to compare caps.

Pure. The suffixes are those of `resource.Quantity` (k8s.io/apimachinery/pkg/api/resource):
binary Ki…Ei, decimal n, u, m, k, M, G, T, P, E, and a decimal exponent (`1e3`, `2E6`).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {"n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"), "": Decimal(1),
            "k": Decimal("1e3"), "M": Decimal("1e6"), "G": Decimal("1e9"), "T": Decimal("1e12"),
            "P": Decimal("1e15"), "E": Decimal("1e18")}
_FORM = re.compile(r"([+-]?(?:\d+\.?\d*|\.\d+))(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?")


def parse(value: object) -> Decimal:
    """The number a quantity stands for (ValueError when it is not one)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"{value!r} is not a quantity")
    text = str(value).strip()
    match = _FORM.fullmatch(text)
    if not match:
        raise ValueError(f"{value!r} is not a quantity (e.g. 500m, 2, 512Mi, 1Gi)")
    number, suffix = match.group(1), match.group(2) or ""
    try:
        base = Decimal(number)
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a quantity") from None
    if suffix in _BINARY:
        return base * _BINARY[suffix]
    if suffix[:1] in ("e", "E"):
        return base * (Decimal(10) ** int(suffix[1:]))
    return base * _DECIMAL[suffix]
