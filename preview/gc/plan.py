"""The GC's decisions: environments + what GitHub said + now → keep or delete, with a reason.

Pure. The rules, first match wins:

1. Namespace Terminating: for longer than the grace → delete (`stuck-terminating`: retry the
   deletion, release finalizers on our own objects); otherwise keep (`terminating`).
2. PR open and carrying a keep label → keep (`keep-label`).
3. GitHub was asked about the repository and could not tell (5xx, timeout, rate limit,
   401/403, no access) → keep (`unknown`), even past the TTL: the keep label is unknowable,
   and one bad night must not delete what the next one would keep.
4. TTL (`expires-at`) passed → delete (`ttl-expired`), whatever its age.
5. Created less than the grace ago → keep (`grace`): a deploy may be running.
6. Repository provably gone → delete (`repo-gone`).
7. PR not open (closed or merged) → delete (`pr-closed`).
8. Virtual cluster missing or not ready → delete (`broken`).
9. PR open → keep (`pr-open`).
10. GitHub not asked (no token, or the namespace does not name its PR) → keep (`unknown`):
    only rules 1, 4 and 8 can delete then.

With a platform policy two caps follow the rules: an `expires-at` further ahead than the
policy's longest TTL (written before the policy, or by an `up` without it) counts as
`created-at` + that TTL in rule 4; and a repository keeping more environments than the
policy allows loses its oldest ones (`over-limit`), those with a keep label last.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

from preview.gc.model import DELETE, KEEP, Decision, HostEnvironment, Settings
from preview.github.pulls import RepoPulls

UNASKED = "unasked"  # a RepoPulls status: GitHub was not asked (no token, no PR named)


def plan(environments: Iterable[HostEnvironment], pulls: Mapping[str, RepoPulls],
         now: dt.datetime, settings: Settings) -> tuple[Decision, ...]:
    """A decision for every environment, sorted by repository, PR and namespace."""
    decisions = [decide(env, _state(env, pulls, settings), now, settings)
                 for env in environments]
    if settings.per_repository is not None:
        decisions = over_limit(decisions, settings.per_repository)
    return tuple(sorted(decisions, key=lambda d: (d.repo, d.pr, d.namespace)))


def over_limit(decisions: list[Decision], limit: int) -> list[Decision]:
    """Beyond `limit` kept environments of one repository, the oldest become deletions
    (those kept by a label last)."""
    kept: dict[str, list[Decision]] = {}
    for decision in decisions:
        if decision.action == KEEP and decision.rule != "terminating":
            kept.setdefault(decision.repo, []).append(decision)
    extra: dict[int, Decision] = {}
    for repo, group in kept.items():
        if len(group) <= limit:
            continue
        oldest_first = sorted(group, key=lambda d: (d.rule == "keep-label", -d.age_seconds,
                                                    d.namespace))
        for decision in oldest_first[:len(group) - limit]:
            extra[id(decision)] = Decision(
                decision.environment, DELETE, "over-limit",
                f"{repo} keeps {len(group)} environments; the platform policy allows {limit} "
                f"(caps.environments.perRepository): the oldest go first",
                decision.age_seconds)
    return [extra.get(id(d), d) for d in decisions]


def _state(env: HostEnvironment, pulls: Mapping[str, RepoPulls],
           settings: Settings) -> RepoPulls:
    record = env.record
    if settings.github:
        return RepoPulls(record.repo, UNASKED, detail=settings.github)
    return pulls.get(record.repo) or RepoPulls(record.repo, "unknown",
                                               detail="GitHub was not asked")


def decide(env: HostEnvironment, state: RepoPulls, now: dt.datetime,
           settings: Settings) -> Decision:
    """The decision for one environment, given its repository's state (see the rules above)."""
    record = env.record
    if not record.repo or record.pr < 1 or state.repo != record.repo:
        state = RepoPulls(record.repo, UNASKED,
                          detail="the namespace does not name its repository and PR")
    created = _time(record.created_at)
    age = int((now - created).total_seconds()) if created else 0
    grace = settings.grace_seconds

    def result(action: str, rule: str, reason: str, pr_state: str = "") -> Decision:
        return Decision(env, action, rule, reason, max(age, 0), pr_state)

    if env.deletion_started:
        started = _time(env.deletion_started)
        since = int((now - started).total_seconds()) if started else 0
        if since >= grace:
            return result(DELETE, "stuck-terminating",
                          f"namespace stuck Terminating for {duration(since)}: retry deletion")
        return result(KEEP, "terminating",
                      f"namespace Terminating for {duration(since)}: deletion in progress")
    is_open = state.status == "ok" and record.pr in state.open
    if is_open:
        kept_by = [lb for lb in state.open[record.pr] if lb in settings.keep_labels]
        if kept_by:
            return result(KEEP, "keep-label", f"PR #{record.pr} carries label {kept_by[0]}")
    expires = _time(record.expires_at)
    cap = settings.max_ttl_seconds
    if expires is not None and created is not None and cap is not None and \
            expires > now + dt.timedelta(seconds=cap):
        expires = created + dt.timedelta(seconds=cap)  # beyond what the policy allows
    expired = expires is not None and expires <= now
    if state.status == "unknown":
        past = " (TTL expired, but a keep label cannot be checked)" if expired else ""
        return result(KEEP, "unknown", f"PR state unknown: {state.detail}{past}")
    if expired:
        assert expires is not None
        shown = record.expires_at if _time(record.expires_at) == expires else \
            f"{expires:%Y-%m-%dT%H:%M:%SZ}, the policy's longest TTL after creation"
        return result(DELETE, "ttl-expired",
                      f"TTL expired {duration(int((now - expires).total_seconds()))} ago "
                      f"({shown})")
    if created is None:
        return result(KEEP, "grace", "creation time unknown: treated as just created")
    if age < grace:
        return result(KEEP, "grace", f"created {duration(age)} ago (grace "
                      f"{duration(grace)}): a deploy may be running")
    if state.status == "gone":
        return result(DELETE, "repo-gone", f"repository {record.repo} is gone: {state.detail}")
    if state.status == "ok" and not is_open:
        how = state.closed.get(record.pr, "")
        what = {"merged": "is merged", "closed": "is closed (not merged)",
                "missing": "does not exist"}.get(how, "is closed or merged (not open)")
        return result(DELETE, "pr-closed", f"PR #{record.pr} {what}", how)
    if not env.ready:
        return result(DELETE, "broken", f"virtual cluster {env.vcluster}, created "
                      f"{duration(age)} ago (grace {duration(grace)})")
    if is_open:
        return result(KEEP, "pr-open", f"PR #{record.pr} is open")
    return result(KEEP, "unknown", f"PR state unknown: {state.detail}")


def duration(seconds: int) -> str:
    """A short human duration: 45s, 12m, 5h, 3d."""
    seconds = max(seconds, 0)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _time(value: str) -> dt.datetime | None:
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
