"""preview/gc/plan.py: every rule of the GC as a table of (environment, GitHub) → decision."""

from __future__ import annotations

import datetime as dt

import pytest

from preview.gc.model import DELETE, KEEP, HostEnvironment, Settings
from preview.gc.plan import decide, duration, plan
from preview.github.pulls import RepoPulls
from preview.naming import EnvironmentRecord

NOW = dt.datetime(2026, 12, 1, 3, 0, tzinfo=dt.UTC)
REPO = "acme/shop"
SETTINGS = Settings(grace_seconds=3600, keep_labels=("preview:keep",))


def at(hours_ago: float) -> str:
    return (NOW - dt.timedelta(hours=hours_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def env(pr: int = 7, *, age_h: float = 48, expires_in_h: float | None = 72,
        vcluster: str = "ready", terminating_h: float | None = None,
        repo: str = REPO) -> HostEnvironment:
    record = EnvironmentRecord(
        namespace=f"preview-acme-shop-pr-{pr}", repo=repo, pr=pr, environment=f"pr-{pr}",
        vcluster=f"pr-{pr}", head_sha="a" * 40, url="", run_url="", created_at=at(age_h),
        expires_at="" if expires_in_h is None else at(-expires_in_h),
        terminating=terminating_h is not None, labels={})
    return HostEnvironment(record, uid="u", vcluster=vcluster,
                           deletion_started="" if terminating_h is None else at(terminating_h))


OPEN = RepoPulls(REPO, "ok", open={7: ("bug",)})
OPEN_KEEP = RepoPulls(REPO, "ok", open={7: ("bug", "preview:keep")})
CLOSED = RepoPulls(REPO, "ok", open={8: ()})
MERGED = RepoPulls(REPO, "ok", open={}, closed={7: "merged"})
GONE = RepoPulls(REPO, "gone", detail="not in acme's repository list")
UNKNOWN = RepoPulls(REPO, "unknown", detail="GitHub answered 502")
UNASKED = RepoPulls(REPO, "unasked", detail="no GitHub token")

CASES = [
    # (case, environment, GitHub, action, rule, words of the reason)
    ("open, healthy", env(), OPEN, KEEP, "pr-open", "PR #7 is open"),
    ("closed", env(), CLOSED, DELETE, "pr-closed", "closed or merged"),
    ("merged, confirmed", env(), MERGED, DELETE, "pr-closed", "is merged"),
    ("TTL expired, PR open", env(expires_in_h=-2), OPEN, DELETE, "ttl-expired", "2h ago"),
    ("TTL expired beats the grace", env(age_h=0.1, expires_in_h=-0.05), OPEN, DELETE,
     "ttl-expired", "TTL expired"),
    ("TTL expired, GitHub failed: doubt keeps", env(expires_in_h=-1), UNKNOWN, KEEP, "unknown",
     "keep label cannot be checked"),
    ("TTL expired, GitHub not asked", env(expires_in_h=-1), UNASKED, DELETE, "ttl-expired", ""),
    ("keep label beats the TTL", env(expires_in_h=-5), OPEN_KEEP, KEEP, "keep-label",
     "preview:keep"),
    ("keep label, healthy", env(), OPEN_KEEP, KEEP, "keep-label", "label preview:keep"),
    ("closed, fresh: grace", env(age_h=0.5), CLOSED, KEEP, "grace", "a deploy may be running"),
    ("broken, fresh: grace", env(age_h=0.5, vcluster="missing"), OPEN, KEEP, "grace", ""),
    ("repository gone", env(), GONE, DELETE, "repo-gone", "acme's repository list"),
    ("repository gone, fresh", env(age_h=0.2), GONE, KEEP, "grace", ""),
    ("broken, old, PR open", env(vcluster="not ready (0/1 replicas)"), OPEN, DELETE, "broken",
     "not ready"),
    ("broken, old, GitHub failed", env(vcluster="missing"), UNKNOWN, KEEP, "unknown", "502"),
    ("broken, old, GitHub not asked", env(vcluster="missing"), UNASKED, DELETE, "broken",
     "missing"),
    ("healthy, GitHub not asked", env(), UNASKED, KEEP, "unknown", "no GitHub token"),
    ("stuck Terminating, GitHub failed", env(terminating_h=3), UNKNOWN, DELETE,
     "stuck-terminating", ""),
    ("GitHub 502, healthy", env(), UNKNOWN, KEEP, "unknown", "GitHub answered 502"),
    ("stuck Terminating", env(terminating_h=2), OPEN, DELETE, "stuck-terminating",
     "stuck Terminating for 2h"),
    ("Terminating, recent", env(terminating_h=0.1), CLOSED, KEEP, "terminating",
     "deletion in progress"),
    ("no TTL annotation, open", env(expires_in_h=None), OPEN, KEEP, "pr-open", ""),
    ("exactly at the grace", env(age_h=1), CLOSED, DELETE, "pr-closed", ""),
    ("TTL expires exactly now", env(expires_in_h=0), OPEN, DELETE, "ttl-expired", ""),
]


@pytest.mark.parametrize(("case", "environment", "github", "action", "rule", "words"), CASES,
                         ids=[c[0] for c in CASES])
def test_rules(case: str, environment: HostEnvironment, github: RepoPulls, action: str,
               rule: str, words: str) -> None:
    decision = decide(environment, github, NOW, SETTINGS)
    assert (decision.action, decision.rule) == (action, rule), decision.reason
    assert words in decision.reason


def test_a_closed_pull_request_says_how_it_was_closed() -> None:
    assert decide(env(), MERGED, NOW, SETTINGS).pr_state == "merged"
    assert decide(env(), CLOSED, NOW, SETTINGS).pr_state == ""  # not said: only "not open"
    assert decide(env(), OPEN, NOW, SETTINGS).pr_state == ""


def test_without_github_only_ttl_and_broken_rules_delete() -> None:
    settings = Settings(github="no GitHub token")
    envs = [env(1), env(2, expires_in_h=-1), env(3, vcluster="missing"), env(4, age_h=0.1)]
    decisions = {d.pr: d for d in plan(envs, {REPO: CLOSED}, NOW, settings)}
    assert {n: d.rule for n, d in decisions.items()} == {
        1: "unknown", 2: "ttl-expired", 3: "broken", 4: "grace"}
    assert "no GitHub token" in decisions[1].reason


def test_a_repository_not_looked_up_is_unknown() -> None:
    decisions = plan([env(1, repo="other/repo")], {REPO: CLOSED}, NOW, SETTINGS)
    assert decisions[0].rule == "unknown"


def test_an_environment_without_repository_or_pr_is_never_judged_by_pr_state() -> None:
    nameless = env(0, repo="")
    assert decide(nameless, CLOSED, NOW, SETTINGS).rule == "unknown"


def test_unreadable_creation_time_counts_as_fresh() -> None:
    e = env()
    broken = HostEnvironment(
        record=EnvironmentRecord(**{**e.record.__dict__, "created_at": "yesterday"}),
        uid="u", vcluster="missing")
    assert decide(broken, CLOSED, NOW, SETTINGS).action == KEEP


def test_plan_is_sorted_and_ages_are_reported() -> None:
    decisions = plan([env(9), env(2, age_h=3)], {REPO: OPEN}, NOW, SETTINGS)
    assert [d.pr for d in decisions] == [2, 9]
    assert decisions[0].age_seconds == 3 * 3600


def test_custom_keep_label() -> None:
    labelled = RepoPulls(REPO, "ok", open={7: ("demo",)})
    assert decide(env(expires_in_h=-1), labelled, NOW, Settings(keep_labels=("demo",))
                  ).rule == "keep-label"
    assert decide(env(expires_in_h=-1), labelled, NOW, SETTINGS).rule == "ttl-expired"


def test_duration_text() -> None:
    assert [duration(s) for s in (5, 120, 7200, 200000)] == ["5s", "2m", "2h", "2d"]


def test_the_policys_longest_ttl_caps_an_expiry_written_without_it() -> None:
    capped = Settings(grace_seconds=3600, max_ttl_seconds=7 * 86400)
    # Created 10 days ago with a 1-year TTL (an `up` without the policy): 3 days past the cap.
    old = decide(env(age_h=240, expires_in_h=365 * 24), OPEN, NOW, capped)
    assert (old.action, old.rule) == (DELETE, "ttl-expired")
    assert "3d ago" in old.reason and "the policy's longest TTL after creation" in old.reason
    # Created 2 days ago with the same TTL: kept until 7 days after its creation.
    assert decide(env(age_h=48, expires_in_h=365 * 24), OPEN, NOW, capped).action == KEEP
    # An expiry within the cap is the environment's own.
    assert decide(env(age_h=240, expires_in_h=24), OPEN, NOW, capped).action == KEEP


def test_beyond_the_policys_environments_per_repository_the_oldest_go() -> None:
    capped = Settings(grace_seconds=3600, per_repository=2)
    pulls = {REPO: RepoPulls(REPO, "ok", open={1: ("preview:keep",), 2: (), 3: (), 4: ()})}
    envs = [env(1, age_h=100), env(2, age_h=90), env(3, age_h=10), env(4, age_h=20)]
    decisions = {d.pr: d for d in plan(envs, pulls, NOW, capped)}
    assert {pr: d.rule for pr, d in decisions.items()} == {
        1: "keep-label", 2: "over-limit", 3: "pr-open", 4: "over-limit"}
    assert decisions[2].action == DELETE
    assert "acme/shop keeps 4 environments; the platform policy allows 2" in decisions[2].reason
    # Without the cap nothing changes.
    assert all(d.action == KEEP for d in plan(envs, pulls, NOW, SETTINGS))
