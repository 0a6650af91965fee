"""preview/durations.py: the duration syntax of ttl, timeouts, --ttl and --timeout."""

from __future__ import annotations

import pytest

from preview.durations import format_duration, parse_duration


@pytest.mark.parametrize(("text", "seconds"), [
    ("30s", 30), ("90m", 5400), ("36h", 129600), ("7d", 604800), ("2w", 1209600),
    ("1h30m", 5400), (" 45S ", 45), ("3600", 3600), (3600, 3600),
])
def test_parse(text: object, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("value", [
    "", "7 days", "0", 0, -1, "0s", "-5m", "1.5h", "h", "5x", "7d3", True, None, 1.5, "99999d",
])
def test_refused(value: object) -> None:
    with pytest.raises(ValueError, match=r"duration|10 years"):
        parse_duration(value)


@pytest.mark.parametrize(("seconds", "text"), [(604800, "7d"), (5400, "90m"), (45, "45s"),
                                               (7200, "2h"), (61, "61s")])
def test_format_round_trips(seconds: int, text: str) -> None:
    assert format_duration(seconds) == text
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("value", ["0", "0s", "0m", 0])
def test_a_grace_period_may_be_zero(value: object) -> None:
    assert parse_duration(value, allow_zero=True) == 0
    with pytest.raises(ValueError, match="not a positive duration"):
        parse_duration(value)


@pytest.mark.parametrize("value", [-1, "-5m", "", "5x"])
def test_zero_allowed_still_refuses_the_rest(value: object) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(value, allow_zero=True)
