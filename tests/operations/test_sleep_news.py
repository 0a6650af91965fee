"""preview/operations/sleep_news.py on a host sandbox: what the pull request hears after a
sleep or a wake, read back from the environment's namespace — its URL, and its cost so far
and per day from the namespace's ledger at the policy's rates (known requests and times)."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from kubernetes import client

from preview import naming
from preview.cost import usage
from preview.cost.report import Rates
from preview.kube.host import HostCluster
from preview.operations import sleep_news
from preview.sandbox.runner import Sandbox
from tests.gc.hostenvs import Spec, make

pytestmark = pytest.mark.sandbox
NOW = dt.datetime(2026, 12, 6, 12, 0, tzinfo=dt.UTC)
HOURS = 3600.0


def test_the_news_has_the_url_and_the_cost_so_far_and_per_day(
        sandbox: Sandbox, api_client: client.ApiClient) -> None:
    core, apps = client.CoreV1Api(api_client), client.AppsV1Api(api_client)
    spec = Spec("octo/priced", 1, age=dt.timedelta(days=5), healthy=False)
    make(core, apps, spec, NOW)
    # 0.5 core and 1 GiB requested for 10 hours, gone since: 5 CPU-hours, 10 GiB-hours.
    ledger = usage.Ledger(closed=usage.Usage(cpu=0.5 * 10 * HOURS, memory=1 * 10 * HOURS),
                          at=NOW.timestamp() - HOURS)
    core.patch_namespace(spec.namespace, {"metadata": {"annotations": {
        naming.USAGE: usage.dump(ledger)}}})
    env = naming.environment_for("octo", "priced", 1)
    heard: list[sleep_news.News] = []

    async def listening(_: naming.Environment, news: sleep_news.News) -> list[str]:
        heard.append(news)
        return []

    async def failing(_: naming.Environment, news: sleep_news.News) -> list[str]:
        return ["could not update the GitHub comment: 502"]

    rates = Rates("EUR", cpu_hour=0.04, memory_gib_hour=0.005, storage_gib_month=0.0)

    async def main() -> list[str]:
        async with HostCluster.from_kubeconfig(sandbox.kubeconfig).client() as kube:
            return [await sleep_news.tell(kube, env, "asleep", listening, rates, NOW),
                    await sleep_news.tell(kube, env, "ready", listening, Rates("EUR"), NOW,
                                          url_wakes=True),
                    await sleep_news.tell(kube, env, "asleep", None, rates, NOW),
                    await sleep_news.tell(kube, env, "asleep", failing, rates, NOW)]

    told = asyncio.run(main())
    assert told == ["told", "told", "not told (no GitHub token)",
                    "not told: could not update the GitHub comment: 502"]
    # 5 CPU-hours at 0.04 + 10 GiB-hours at 0.005 = 0.25, over 5 days
    assert [(n.state, n.cost) for n in heard] == [
        ("asleep", "0.25 EUR so far (0.05 EUR a day)"), ("ready", "")]  # no rates: no cost
    assert [n.url_wakes for n in heard] == [False, True]
    assert heard[0].record.url == "https://pr-1.example.com"
    assert heard[0].record.head_sha == "a" * 40
    core.delete_namespace(spec.namespace)


def test_the_wake_command_names_the_environment() -> None:
    assert sleep_news.wake_command(naming.environment_for("octo", "shop", 7)) == \
        "preview wake --repo octo/shop --pr 7"
    assert sleep_news.wake_command(naming.environment_for("octo", "shop", 7, "api")) == \
        "preview wake --repo octo/shop --pr 7 --environment api"
