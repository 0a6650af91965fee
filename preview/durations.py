"""Durations as people write them in `preview.yaml` and on the command line: 30s, 90m, 36h, 7d."""

from __future__ import annotations

import re

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_PART = re.compile(r"(\d+)([smhdw])")
_WHOLE = re.compile(r"(?:\d+[smhdw])+")
# Far beyond any sensible TTL or timeout, yet small enough that datetime arithmetic never overflows.
MAX_SECONDS = 10 * 365 * 86400
HINT = "use a number and a unit: 30s, 90m, 36h, 7d (or 1h30m; a bare number means seconds)"


def parse_duration(value: object, *, allow_zero: bool = False) -> int:
    """Seconds in `value` (`"90m"`, `"1h30m"`, `3600`, `"3600"`); ValueError naming the problem.

    Zero, negative and absurdly long durations are refused: a TTL of 0 would delete an
    environment as soon as it is made, and a timeout of 0 would fail every wait. A grace
    period may be zero (`allow_zero`): no grace.
    """
    if isinstance(value, bool):  # bool is an int subclass: `ttl: yes` is a mistake, not 1s
        raise ValueError(f"{value!r} is not a duration")
    if isinstance(value, int):
        seconds = value
    elif isinstance(value, str):
        text = value.strip().lower()
        if text.isdecimal():
            seconds = int(text)
        elif _WHOLE.fullmatch(text):
            seconds = sum(int(n) * _UNITS[unit] for n, unit in _PART.findall(text))
        else:
            raise ValueError(f"{value!r} is not a duration")
    else:
        raise ValueError(f"{value!r} is not a duration")
    if seconds < 0 or (seconds == 0 and not allow_zero):
        raise ValueError(f"{value!r} is not a positive duration")
    if seconds > MAX_SECONDS:
        raise ValueError(f"{value!r} is longer than 10 years")
    return seconds


def format_duration(seconds: int) -> str:
    """The shortest exact spelling: 604800 -> "7d", 5400 -> "90m", 45 -> "45s"."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
