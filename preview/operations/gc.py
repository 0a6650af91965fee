"""`preview gc`: find forgotten environments on the host, decide, delete, report.

Never deletes on doubt: GitHub errors leave an environment unknown (kept), the planner's
rules are in `preview.gc.plan`, and `--max-deletions` refuses a run that would delete more
than expected (a GitHub or cluster outage looks like "everything is closed").
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections import defaultdict
from dataclasses import dataclass, field, replace

from preview import lease, naming, pullrequest, triggers
from preview.errors import BadInput
from preview.gc import collect, execute, plan, teardown
from preview.gc.model import Decision, GcResult, HostEnvironment, Settings
from preview.github import GitHubSession
from preview.github.client import GitHub
from preview.github.pulls import RepoPulls, lookup
from preview.kube.client import KubeClient
from preview.kube.host import HostCluster
from preview.operations import exclusive
from preview.operations.down import down

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GcOptions:
    """Inputs of one run (the CLI's flags)."""

    repos: tuple[str, ...] = ()  # owner/name; empty: every repository on the host
    dry_run: bool = False
    max_deletions: int = 20
    force: bool = False  # delete even beyond max_deletions
    settings: Settings = field(default_factory=Settings)
    parallel: int = execute.DEFAULT_PARALLEL  # deletions at a time


async def gc(host: KubeClient, options: GcOptions, github: GitHub | None, *,
             now: dt.datetime | None = None, teardown_fn: execute.Teardown | None = None,
             notify: execute.Notify | None = None) -> GcResult:
    """One GC run over the host. `teardown_fn` deletes one environment (default: its
    namespace, see preview.gc.teardown); `notify` tells GitHub (deployment inactive, comment
    updated; see `github_notifier`), None to tell nobody."""
    environments = await collect.collect(host, options.repos)
    settings = options.settings
    notes: list[str] = []
    pulls: dict[str, RepoPulls] = {}
    if github is None:
        settings = replace(settings, github="no GitHub token")
        notes.append("no GitHub token: PR states are unknown, only the TTL and "
                     "broken-environment rules applied")
    else:
        wanted: dict[str, set[int]] = defaultdict(set)
        for env in environments:
            if env.record.repo and env.record.pr > 0:
                wanted[env.record.repo].add(env.record.pr)
        # The one bridge to GitHub's blocking client: the lookups run in a worker thread.
        pulls = await asyncio.to_thread(lookup, github, wanted)
        notes += [f"GitHub: {state.repo}: {state.detail}" for state in pulls.values()
                  if state.status == "unknown"]
    decisions = plan.plan(environments, pulls, now or dt.datetime.now(dt.UTC), settings)

    async def default_teardown(env: HostEnvironment) -> str:
        return await teardown.delete_environment(host, env)

    outcomes, refused = await execute.execute(
        decisions, teardown_fn or default_teardown, notify, dry_run=options.dry_run,
        max_deletions=options.max_deletions, force=options.force, parallel=options.parallel)
    return GcResult(outcomes=outcomes, dry_run=options.dry_run, refused=refused,
                    notes=tuple(notes), github_requests=github.calls if github else 0)


def github_notifier(session: GitHubSession) -> execute.Notify:
    """Tell GitHub an environment was collected: deployments inactive, comment "removed"."""

    async def notify(decision: Decision) -> list[str]:
        record = decision.environment.record
        owner, _, name = record.repo.partition("/")
        if decision.rule == "repo-gone":
            return []  # nobody left to tell
        try:
            env = naming.environment_for(owner, name, record.pr,
                                         naming.app_of(record.environment, record.pr))
            pull = pullrequest.of_environment(record.repo, record.pr, {},
                                              head_sha=record.head_sha,
                                              recorded_run_url=record.run_url)
        except (ValueError, BadInput):
            return ["the namespace does not name its repository and PR: GitHub not told"]
        # The GitHub transport blocks: the report runs in a worker thread, as the lookups do.
        return await asyncio.to_thread(session.report_torn_down, pull, env, None,
                                       removal_reason(decision))

    return notify


def removal_reason(decision: Decision) -> str:
    """Why the GC removed an environment and how to bring it back, for the comment, in the
    words `preview down --reason` gets from the action (pure); "" when there is nothing to
    tell the pull request (a deletion retried, a pull request GitHub does not know)."""
    if decision.rule == "pr-closed":
        return {"merged": triggers.MERGED, "closed": triggers.CLOSED,
                "": triggers.NOT_OPEN}.get(decision.pr_state, "")
    return {"ttl-expired": triggers.EXPIRED, "broken": triggers.BROKEN}.get(decision.rule, "")


def down_teardown(host: HostCluster, kube: KubeClient, lock: exclusive.Lock,
                  timeout: float = 300.0) -> execute.Teardown:
    """Delete an environment as `preview down` does (app, virtual cluster, namespace, verified).

    Each deletion holds the environment's lock as `lock` says (the GC passes `wait=False`):
    an environment another run works on is skipped (`execute.Skipped`), the next GC run
    judges it again. A namespace already Terminating goes through `preview.gc.teardown`
    instead: `down` would only wait on the same finalizers, which the GC releases when they
    are ours. A namespace that does not name its repository and PR, or whose name is not the
    one `up` derives from them, is deleted as a namespace (after the same ownership checks;
    no `up` or `down` can name it, so there is no lock to take).
    """

    async def run(env: HostEnvironment) -> str:
        record = env.record
        owner, _, name = record.repo.partition("/")
        try:
            environment = naming.environment_for(owner, name, record.pr,
                                                 naming.app_of(record.environment, record.pr))
        except ValueError:
            environment = None
        if environment is None or environment.namespace != record.namespace:
            return await teardown.delete_environment(kube, env)

        def progress(line: str) -> None:
            log.info("gc: %s: %s", record.namespace, line)

        try:
            if env.deletion_started:
                async with exclusive.for_teardown(kube, environment, lock, "gc", progress):
                    return await teardown.delete_environment(kube, env)
            result = await down(host, environment, progress, timeout, lock=lock,
                                operation="gc")
        except lease.Busy as e:
            raise execute.Skipped(f"{e.holder} ({e.operation or 'a run'}) is working on it"
                                  ) from e
        return f"torn down in {result.seconds:.1f}s" if result.existed else "already gone"

    return run
