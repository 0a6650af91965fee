"""Usage priced by the platform policy's rates, per environment and summed by a label. Pure.

Rates are per CPU-hour, per GiB-hour of memory and per GiB-month of storage (a month is 730
hours, as cloud price lists count it); with no rates in the policy every price is 0 and the
quantities alone are reported.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

from preview.cost.usage import Usage

HOURS_PER_MONTH = 730
NONE = "(none)"  # the group of environments without the label


@dataclass(frozen=True)
class Rates:
    currency: str = "USD"
    cpu_hour: float = 0.0
    memory_gib_hour: float = 0.0
    storage_gib_month: float = 0.0


def price(usage: Usage, rates: Rates) -> float:
    return (usage.cpu_hours * rates.cpu_hour + usage.memory_gib_hours * rates.memory_gib_hour
            + usage.storage_gib_hours * rates.storage_gib_month / HOURS_PER_MONTH)


@dataclass(frozen=True)
class EnvironmentCost:
    """One environment's usage and price so far."""

    repo: str
    pr: int
    namespace: str
    labels: dict[str, str]
    cpu_hours: float
    memory_gib_hours: float
    storage_gib_hours: float
    cost: float
    currency: str
    days: float  # since the environment was created
    per_day: float  # cost / days (0 in its first hour: too early to say)


def environment_cost(repo: str, pr: int, namespace: str, labels: dict[str, str],
                     usage: Usage, rates: Rates, age_seconds: float) -> EnvironmentCost:
    cost = price(usage, rates)
    days = max(age_seconds, 0.0) / 86400
    return EnvironmentCost(
        repo=repo, pr=pr, namespace=namespace, labels=dict(labels),
        cpu_hours=round(usage.cpu_hours, 6), memory_gib_hours=round(usage.memory_gib_hours, 6),
        storage_gib_hours=round(usage.storage_gib_hours, 6), cost=round(cost, 6),
        currency=rates.currency, days=round(days, 4),
        per_day=round(cost / days, 6) if age_seconds >= 3600 else 0.0)


def priced(rates: Rates) -> bool:
    """Whether the policy sets any rate (without one every price is 0: nothing to show)."""
    return any((rates.cpu_hour, rates.memory_gib_hour, rates.storage_gib_month))


def line(row: EnvironmentCost) -> str:
    """The pull request comment's cost: "1.23 USD so far (0.41 USD a day)"; the day rate
    only once the environment is an hour old, as `environment_cost` computes it (pure)."""
    text = f"{row.cost:.2f} {row.currency} so far"
    return f"{text} ({row.per_day:.2f} {row.currency} a day)" if row.per_day else text


@dataclass(frozen=True)
class GroupCost:
    """The sum over the environments whose label `by` has this value."""

    by: str
    value: str
    environments: int
    cpu_hours: float
    memory_gib_hours: float
    storage_gib_hours: float
    cost: float
    currency: str


def key_of(row: EnvironmentCost, by: str) -> str:
    """The group of `row` under `by`: a namespace label's value; `repo` is the repository."""
    if by == "repo":
        return row.repo or NONE
    return row.labels.get(by) or NONE


def group(rows: Iterable[EnvironmentCost], by: str, currency: str) -> list[GroupCost]:
    """Sums by the label `by`, largest cost first."""
    sums: dict[str, list[float]] = {}
    for row in rows:
        acc = sums.setdefault(key_of(row, by), [0, 0.0, 0.0, 0.0, 0.0])
        acc[0] += 1
        acc[1] += row.cpu_hours
        acc[2] += row.memory_gib_hours
        acc[3] += row.storage_gib_hours
        acc[4] += row.cost
    groups = [GroupCost(by, value, int(a[0]), round(a[1], 6), round(a[2], 6), round(a[3], 6),
                        round(a[4], 6), currency) for value, a in sums.items()]
    return sorted(groups, key=lambda g: (-g.cost, g.value))


def csv_text(rows: Sequence[EnvironmentCost | GroupCost]) -> str:
    """Rows as CSV with a header (labels as `key=value;…` in one column)."""
    out = io.StringIO()
    if not rows:
        return ""
    fields = list(asdict(rows[0]))
    writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        data = asdict(row)
        if "labels" in data:
            data["labels"] = ";".join(f"{k}={v}" for k, v in sorted(data["labels"].items()))
        writer.writerow(data)
    return out.getvalue()


def markdown(rows: Sequence[EnvironmentCost], by: Sequence[str], currency: str) -> str:
    """The step summary's section: cost so far of the environments found, summed by each of
    `by` (e.g. repo, team) (pure)."""
    lines = ["", f"### Cost so far ({len(rows)} environments, {currency})", ""]
    if not rows:
        return "\n".join([*lines, "No environments.", ""])
    for key in by:
        lines += [f"| {key} | environments | CPU-hours | GiB-hours | storage GiB-hours | cost |",
                  "|---|---:|---:|---:|---:|---:|"]
        lines += [f"| {_cell(g.value)} | {g.environments} | {g.cpu_hours:.2f} | "
                  f"{g.memory_gib_hours:.2f} | {g.storage_gib_hours:.2f} | {g.cost:.2f} |"
                  for g in group(rows, key, currency)]
        lines.append("")
    return "\n".join(lines)


def _cell(text: str) -> str:
    """A label value in a markdown table cell (label values hold no `|`, but say so)."""
    return text.replace("|", "\\|")
