"""Usage from pods and claims, the ledger across passes, and prices: pure, with a given clock."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from preview.cost import report, usage

T0 = dt.datetime(2026, 12, 1, 0, 0, tzinfo=dt.UTC)
HOUR = 3600.0


def at(hours: float) -> str:
    return (T0 + dt.timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")


def epoch(hours: float) -> float:
    return (T0 + dt.timedelta(hours=hours)).timestamp()


def pod(uid: str, started: float | None, cpu: str = "500m", memory: str = "512Mi",
        deleted: float | None = None, **extra: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {"uid": uid, "name": uid}
    if deleted is not None:
        meta["deletionTimestamp"] = at(deleted)
    status: dict[str, Any] = {"phase": "Running"}
    if started is not None:
        status["startTime"] = at(started)
    return {"metadata": meta, "status": status, "spec": {"containers": [
        {"name": "a", "resources": {"requests": {"cpu": cpu, "memory": memory}}}], **extra}}


def claim(uid: str, created: float, size: str = "2Gi") -> dict[str, Any]:
    return {"metadata": {"uid": uid, "name": uid, "creationTimestamp": at(created)},
            "spec": {"resources": {"requests": {"storage": size}}}}


def test_a_running_pod_counts_its_requests_from_its_start_until_now() -> None:
    found = usage.intervals([pod("p", 1)], [])
    used = usage.total(usage.Ledger(), found, epoch(5))
    assert used.cpu_hours == pytest.approx(0.5 * 4)
    assert used.memory_gib_hours == pytest.approx(0.5 * 4)
    assert used.storage == 0


def test_a_pod_not_started_counts_nothing_and_a_deleted_one_until_its_deletion() -> None:
    assert usage.intervals([pod("p", None)], []) == []
    used = usage.total(usage.Ledger(), usage.intervals([pod("p", 1, deleted=3)], []), epoch(9))
    assert used.cpu_hours == pytest.approx(0.5 * 2)


def test_a_finished_pod_counts_until_its_last_container_finished() -> None:
    finished = pod("job", 0, cpu="1", memory="1Gi")
    finished["status"] = {"phase": "Succeeded", "startTime": at(0), "containerStatuses": [
        {"state": {"terminated": {"finishedAt": at(1)}}},
        {"state": {"terminated": {"finishedAt": at(2)}}}]}
    current = usage.intervals([finished], [])
    ledger = usage.accumulate(usage.Ledger(), current, epoch(3))
    assert ledger.closed.cpu_hours == pytest.approx(2) and not ledger.open
    # Still listed at the next pass: not counted twice.
    again = usage.accumulate(ledger, current, epoch(4))
    assert again.closed == ledger.closed
    assert usage.total(again, current, epoch(5)).cpu_hours == pytest.approx(2)


def test_requests_are_the_scheduler_effective_ones() -> None:
    spec_pod = pod("p", 0, cpu="250m", memory="256Mi")
    spec_pod["spec"]["containers"].append(
        {"name": "b", "resources": {"requests": {"cpu": "250m"}}})
    spec_pod["spec"]["initContainers"] = [
        {"name": "init", "resources": {"requests": {"cpu": "2", "memory": "128Mi"}}}]
    spec_pod["spec"]["overhead"] = {"cpu": "100m"}
    cpu, memory = usage.pod_requests(spec_pod)
    assert cpu == pytest.approx(2.1)  # the init container's 2 beat 0.5, plus the overhead
    assert memory == pytest.approx(0.25)


def test_claims_count_their_size_for_their_lifetime() -> None:
    used = usage.total(usage.Ledger(), usage.intervals([], [claim("c", 0, "10Gi")]),
                       epoch(24))
    assert used.storage_gib_hours == pytest.approx(240)


def test_a_pod_gone_between_passes_counts_until_the_pass_that_last_saw_it() -> None:
    first = usage.accumulate(usage.Ledger(), usage.intervals([pod("p", 0)], []), epoch(2))
    assert set(first.open) == {"p"} and first.closed == usage.Usage()
    # Gone by the pass at hour 5: counted 0..2 (a lower bound), not 0..5.
    second = usage.accumulate(first, [], epoch(5))
    assert second.closed.cpu_hours == pytest.approx(0.5 * 2) and not second.open
    assert usage.total(second, [], epoch(9)) == second.closed


def test_sleep_is_not_counted() -> None:
    awake = usage.intervals([pod("before", 0)], [])
    ledger = usage.accumulate(usage.Ledger(), awake, epoch(2))  # sleep records at 2
    ledger = usage.accumulate(ledger, [], epoch(2))  # its pods gone
    woken = usage.intervals([pod("after", 10)], [])  # woken at 10
    assert usage.total(ledger, woken, epoch(12)).cpu_hours == pytest.approx(0.5 * (2 + 2))


def test_the_ledger_survives_its_annotation_and_a_bad_one_starts_afresh() -> None:
    ledger = usage.accumulate(usage.Ledger(usage.Usage(1, 2, 3)),
                              usage.intervals([pod("p", 0)], [claim("c", 0)]), epoch(1))
    assert usage.load(usage.dump(ledger)) == ledger
    assert usage.load("{not json") == usage.Ledger()
    assert usage.load('{"v": 99}') == usage.Ledger()
    assert usage.load(None) == usage.Ledger()


def test_prices_per_cpu_hour_gib_hour_and_gib_month() -> None:
    rates = report.Rates("EUR", cpu_hour=0.04, memory_gib_hour=0.005, storage_gib_month=0.1)
    used = usage.Usage(cpu=10 * HOUR, memory=20 * HOUR, storage=730 * 5 * HOUR)
    assert report.price(used, rates) == pytest.approx(0.4 + 0.1 + 0.5)
    row = report.environment_cost("o/r", 1, "ns", {"team": "a"}, used, rates, 2 * 86400)
    assert row.cost == pytest.approx(1.0) and row.per_day == pytest.approx(0.5)
    assert row.currency == "EUR"
    young = report.environment_cost("o/r", 1, "ns", {}, used, rates, 600)
    assert young.per_day == 0.0  # too early to say
    # The pull request comment's line: the day rate only once there is one.
    assert report.line(row) == "1.00 EUR so far (0.50 EUR a day)"
    assert report.line(young) == "1.00 EUR so far"
    assert report.priced(rates) and not report.priced(report.Rates("EUR"))


def test_sums_by_a_label_and_by_repository() -> None:
    rates = report.Rates(cpu_hour=1.0)
    rows = [report.environment_cost(repo, pr, f"ns{pr}", labels, usage.Usage(cpu=h * HOUR),
                                     rates, 86400)
            for repo, pr, labels, h in (("o/a", 1, {"team": "x"}, 1), ("o/a", 2, {"team": "y"}, 2),
                                        ("o/b", 3, {"team": "x"}, 4), ("o/b", 4, {}, 8))]
    by_team = report.group(rows, "team", "USD")
    assert [(g.value, g.environments, g.cost) for g in by_team] == \
        [(report.NONE, 1, 8.0), ("x", 2, 5.0), ("y", 1, 2.0)]
    assert [(g.value, g.cost) for g in report.group(rows, "repo", "USD")] == \
        [("o/b", 12.0), ("o/a", 3.0)]
    text = report.csv_text(by_team)
    assert text.splitlines()[0].startswith("by,value,environments,cpu_hours")
    assert "team,x,2," in text
    assert "team=x" in report.csv_text(rows)


def test_the_step_summary_section_sums_by_repository_and_team() -> None:
    rates = report.Rates(cpu_hour=0.5)
    rows = [report.environment_cost("o/a", 1, "n1", {"team": "x"}, usage.Usage(cpu=2 * HOUR),
                                     rates, 86400),
            report.environment_cost("o/b", 2, "n2", {}, usage.Usage(cpu=4 * HOUR), rates, 86400)]
    text = report.markdown(rows, ("repo", "team"), "USD")
    assert "### Cost so far (2 environments, USD)" in text
    assert "| o/b | 1 | 4.00 | 0.00 | 0.00 | 2.00 |" in text
    assert "| o/a | 1 | 2.00 | 0.00 | 0.00 | 1.00 |" in text
    assert "| x | 1 | 2.00 | 0.00 | 0.00 | 1.00 |" in text
    assert f"| {report.NONE} | 1 | 4.00 |" in text
    assert "No environments." in report.markdown([], ("repo",), "USD")
