"""What a sleep or a wake tells the pull request: its sticky comment and its deployment's
status say `asleep` (since when, how to wake it) or `ready` again, with the cost so far when
the policy has rates.

Only with a GitHub token (`notifier` of a session); without one the environment sleeps and
wakes all the same, and the result says the pull request was not told. A GitHub failure is
a warning in the result, never the operation's failure (`GitHubSession`'s contract).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from preview import naming, pullrequest
from preview.cost import report
from preview.errors import BadInput
from preview.github import GitHubSession
from preview.kube.client import KubeClient
from preview.kube.resources import NAMESPACES
from preview.operations import cost, kubeconfig
from preview.results import UpResult

NO_TOKEN = "not told (no GitHub token)"


@dataclass(frozen=True)
class News:
    """One environment's new state, as its namespace records it now."""

    state: str  # asleep | ready
    record: naming.EnvironmentRecord
    cost: str  # "1.23 USD so far (0.41 USD a day)"; "" when the policy has no rates
    url_wakes: bool = False  # asleep: its URL answers with the wake page (policy wakePage)


Notify = Callable[[naming.Environment, News], Awaitable[list[str]]]


def wake_command(env: naming.Environment) -> str:
    """The command that wakes `env` (pure)."""
    app = naming.app_of(env.name, env.pr)
    named = f" --environment {app}" if app else ""
    return f"preview wake --repo {env.full_name} --pr {env.pr}{named}"


async def tell(kube: KubeClient, env: naming.Environment, state: str,
               notify: Notify | None, rates: report.Rates | None,
               now: dt.datetime | None = None, url_wakes: bool = False) -> str:
    """Tell the pull request `env` is now `state`; what became of it, for the result:
    "told", "not told (…)", or the warnings of a GitHub that failed."""
    if notify is None:
        return NO_TOKEN
    ns = await kube.get(NAMESPACES, None, env.namespace)
    record = naming.read_environment(ns) if ns is not None else None
    if ns is None or record is None:
        return "not told (the namespace is gone)"
    priced = await cost.so_far(kube, env.namespace, rates, now) if rates is not None else ""
    warnings = await notify(env, News(state, record, priced, url_wakes))
    return "not told: " + "; ".join(warnings) if warnings else "told"


def notifier(session: GitHubSession) -> Notify:
    """Tell the pull request through `session` (its comment, its deployment)."""

    async def notify(env: naming.Environment, news: News) -> list[str]:
        record = news.record
        try:
            pull = pullrequest.of_environment(record.repo, record.pr, {},
                                              head_sha=record.head_sha,
                                              recorded_run_url=record.run_url)
        except BadInput:
            return ["the namespace does not name its repository and PR"]
        # The GitHub transport blocks: the report runs in a worker thread, as the GC's does.
        if news.state == "asleep":
            return await asyncio.to_thread(
                session.report_asleep, pull, env, url=record.url, since=record.asleep_since,
                wake_command=wake_command(env), cost=news.cost, url_wakes=news.url_wakes)
        result = UpResult(environment=env.name, namespace=env.namespace, vcluster=env.vcluster,
                          url=record.url, head_sha=record.head_sha, status="ready", phases={},
                          expires_at=record.expires_at, diagnostics=None,
                          kubeconfig_hint=kubeconfig.hint(env))
        return await asyncio.to_thread(session.report_awake, pull, env, result, news.cost)

    return notify
