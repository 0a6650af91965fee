"""`preview gc` end to end: environments on a host sandbox (over HTTP), GitHub by `responses`.

The acceptance of issue 11: 40 environments across 3 repositories — open, closed, merged,
expired, keep-labelled, broken, freshly created, stuck Terminating, repository deleted —
planned and acted on exactly by the rules, in a bounded number of GitHub calls.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import Any

import pytest
import responses
from kubernetes import client

from preview import lease, naming
from preview.gc import report
from preview.gc.model import Decision, GcResult, Settings
from preview.github.client import GitHub
from preview.github.pulls import GC_POLICY, gc_transport
from preview.kube.client import KubeClient
from preview.kube.connection import from_kubeconfig
from preview.kube.host import HostCluster
from preview.operations.exclusive import Lock
from preview.operations.gc import GcOptions, down_teardown, gc
from preview.sandbox.runner import Sandbox
from tests.conftest import wait_for
from tests.gc.hostenvs import Spec, make, ready, terminating

pytestmark = pytest.mark.sandbox
API = "https://api.github.com"


def github_api(wait: bool = False) -> GitHub:
    """The GC's transport at the mocked API (its waits skipped unless `wait`)."""
    policy = GC_POLICY if wait else dataclasses.replace(GC_POLICY, sleep=lambda s: None)
    return gc_transport("t0ken", {"GITHUB_API_URL": API}, policy=policy)
H, M = dt.timedelta(hours=1), dt.timedelta(minutes=1)
FRESH = 5 * M
EXPIRED = -3 * H


def shop_web_gone() -> tuple[list[Spec], dict[str, tuple[str, str]]]:
    """The 40 environments, and what the GC must decide for each: namespace → (action, rule)."""
    shop, web, gone = "acme/shop", "acme/web", "acme/gone"
    table: list[tuple[Spec, str, str]] = []
    table += [(Spec(shop, n), "keep", "pr-open") for n in range(1, 7)]
    table += [(Spec(shop, n), "delete", "pr-closed") for n in range(7, 11)]
    table += [(Spec(shop, n), "delete", "pr-closed") for n in (11, 12)]  # merged
    table += [(Spec(shop, n, expires_in=EXPIRED), "delete", "ttl-expired") for n in (13, 14)]
    table += [(Spec(shop, n, expires_in=EXPIRED), "keep", "keep-label") for n in (15, 16)]
    table += [(Spec(shop, n, healthy=False), "delete", "broken") for n in (17, 18)]
    table += [(Spec(shop, 19, age=FRESH), "keep", "grace")]  # closed, but just created
    table += [(Spec(shop, 20, healthy=False, stuck=True), "delete", "stuck-terminating")]
    table += [(Spec(web, n), "keep", "pr-open") for n in range(1, 9)]
    table += [(Spec(web, n), "delete", "pr-closed") for n in range(9, 13)]
    table += [(Spec(web, 13, age=FRESH, healthy=False), "keep", "grace")]
    table += [(Spec(web, 14, healthy=False), "keep", "keep-label")]
    table += [(Spec(web, n, expires_in=EXPIRED), "delete", "ttl-expired") for n in (15, 16)]
    table += [(Spec(gone, n), "delete", "repo-gone") for n in (1, 2, 3)]
    table += [(Spec(gone, 4, age=FRESH), "keep", "grace")]
    assert len(table) == 40
    return [s for s, _, _ in table], {s.namespace: (a, r) for s, a, r in table}


def open_pull(number: int, *labels: str) -> dict[str, Any]:
    return {"number": number, "state": "open", "labels": [{"name": lb} for lb in labels]}


def mock_github(shop_status: int = 200) -> None:
    shop = [open_pull(n) for n in (*range(1, 7), 13, 14, 17, 18, 40, 41)]
    shop += [open_pull(15, "preview:keep"), open_pull(16, "bug", "preview:keep")]
    if shop_status == 200:
        responses.get(f"{API}/repos/acme/shop/pulls", json=shop)
    else:
        responses.get(f"{API}/repos/acme/shop/pulls", status=shop_status, body="Bad Gateway")
    responses.get(f"{API}/repos/acme/web/pulls",
                  json=[*(open_pull(n) for n in range(1, 9)), open_pull(14, "preview:keep")])
    responses.get(f"{API}/repos/acme/gone/pulls", status=404, json={"message": "Not Found"})
    responses.get(f"{API}/installation/repositories", status=403,
                  json={"message": "A JSON web token could not be decoded"})
    responses.get(f"{API}/orgs/acme/repos", json=[
        {"full_name": "acme/shop", "private": True}, {"full_name": "acme/web", "private": True}])


def run_gc(sb: Sandbox, options: GcOptions, github: GitHub | None, now: dt.datetime,
           notified: list[Decision] | None = None) -> GcResult:
    async def notify(decision: Decision) -> Sequence[str]:
        if notified is not None:
            notified.append(decision)
        return ()

    async def main() -> GcResult:
        async with KubeClient(from_kubeconfig(sb.kubeconfig), "test") as kube:
            return await gc(kube, options, github, now=now, notify=notify)
    return asyncio.run(main())


def setup(core: client.CoreV1Api, apps: client.AppsV1Api, specs: list[Spec],
          now: dt.datetime) -> None:
    for spec in specs:
        make(core, apps, spec, now)
    wait_for(lambda: ready(apps, specs), 180, what="the healthy virtual clusters ready")
    wait_for(lambda: terminating(core, specs), 30, what="the stuck namespaces Terminating")


def state(core: client.CoreV1Api, namespace: str) -> str:
    try:
        ns = core.read_namespace(namespace)
    except client.ApiException as e:
        assert e.status == 404
        return "gone"
    return "terminating" if ns.metadata.deletion_timestamp else "active"


def pull_list_calls() -> int:
    return sum(1 for c in responses.calls if c.request.url.split("?")[0].endswith("/pulls"))


@responses.activate
def test_forty_environments_three_repositories(host: Any) -> None:
    sb, core, apps = host
    # The GC runs "2 hours later", so that the namespaces deleted now are stuck for 2h.
    now = dt.datetime.now(dt.UTC) + 2 * H
    specs, expected = shop_web_gone()
    setup(core, apps, specs, now)
    mock_github()
    github = github_api()
    notified: list[Decision] = []
    result = run_gc(sb, GcOptions(max_deletions=25), github, now, notified)

    decided = {o.decision.namespace: (o.decision.action, o.decision.rule)
               for o in result.outcomes}
    assert decided == expected
    deleted = {ns for ns, (action, _) in expected.items() if action == "delete"}
    assert {o.decision.namespace for o in result.outcomes if o.outcome == "deleted"} == deleted
    assert not result.failed and result.exit_code == 0
    # GitHub: one pull list per repository (one page each), two calls proving acme/gone gone,
    # and one report per deletion (deployment inactive, comment updated).
    assert pull_list_calls() == 3
    assert len(responses.calls) == 3 + 2
    assert result.github_requests == 5
    assert sorted(d.namespace for d in notified) == sorted(deleted)
    # The host: deleted environments are going or gone, the stuck one finishes (its finalizer,
    # on our ConfigMap, was removed), the kept ones are untouched.
    for ns in deleted:
        wait_for(lambda ns=ns: state(core, ns) in ("terminating", "gone"), 30, what=ns)
    stuck = Spec("acme/shop", 20, healthy=False, stuck=True).namespace
    wait_for(lambda: state(core, stuck) == "gone", 120, what="the stuck namespace gone")
    for ns in set(expected) - deleted:
        assert state(core, ns) == "active", ns
    reasons = {o.decision.namespace: o.decision.reason for o in result.outcomes}
    assert "not in acme's repository list" in reasons[Spec("acme/gone", 1).namespace]
    assert "PR #7 is closed or merged" in reasons[Spec("acme/shop", 7).namespace]


@responses.activate
def test_dry_run_prints_the_same_plan_and_deletes_nothing(host: Any) -> None:
    sb, core, apps = host
    now = dt.datetime.now(dt.UTC) + 2 * H
    specs, expected = shop_web_gone()
    setup(core, apps, specs, now)
    mock_github()
    result = run_gc(sb, GcOptions(dry_run=True, max_deletions=25),
                    github_api(), now)
    assert {o.decision.namespace: (o.decision.action, o.decision.rule)
            for o in result.outcomes} == expected
    assert {o.outcome for o in result.outcomes} == {"kept", "would delete"}
    for spec in specs:
        assert state(core, spec.namespace) == ("terminating" if spec.stuck else "active")


@responses.activate
def test_a_502_for_one_repository_deletes_none_of_its_environments(host: Any) -> None:
    sb, core, apps = host
    now = dt.datetime.now(dt.UTC) + 2 * H
    specs, expected = shop_web_gone()
    setup(core, apps, specs, now)
    mock_github(shop_status=502)
    result = run_gc(sb, GcOptions(max_deletions=25), github_api(), now)
    by_ns = {o.decision.namespace: o for o in result.outcomes}
    for spec in specs:
        outcome = by_ns[spec.namespace]
        if spec.repo != "acme/shop":
            assert (outcome.decision.action, outcome.decision.rule) == expected[spec.namespace]
        elif spec.stuck:  # already being deleted before this run: its deletion is retried
            assert outcome.decision.rule == "stuck-terminating"
        else:
            assert outcome.outcome == "kept", outcome
            assert outcome.decision.rule in ("unknown", "grace")
            assert state(core, spec.namespace) == "active"
    assert any("acme/shop" in note and "502" in note for note in result.notes)
    assert "GitHub answered 502" in by_ns[Spec("acme/shop", 7).namespace].decision.reason
    # The other repositories were processed.
    assert by_ns[Spec("acme/web", 9).namespace].outcome == "deleted"


@responses.activate
def test_max_deletions_refuses_a_run_with_more_candidates(host: Any) -> None:
    sb, core, apps = host
    now = dt.datetime.now(dt.UTC)
    specs = [Spec("acme/web", n) for n in range(1, 9)]  # eight closed PRs
    setup(core, apps, specs, now)
    responses.get(f"{API}/repos/acme/web/pulls", json=[open_pull(100)])
    result = run_gc(sb, GcOptions(max_deletions=5), github_api(wait=True), now)
    assert [o.decision.action for o in result.outcomes] == ["delete"] * 8
    assert {o.outcome for o in result.outcomes} == {"not deleted"}
    assert "8 environments would be deleted, more than --max-deletions 5" in result.refused
    assert result.exit_code == 1
    assert all(state(core, s.namespace) == "active" for s in specs)
    forced = run_gc(sb, GcOptions(max_deletions=5, force=True), github_api(wait=True), now)
    assert {o.outcome for o in forced.outcomes} == {"deleted"}


def test_without_a_token_only_ttl_and_broken_rules_apply(host: Any) -> None:
    sb, core, apps = host
    now = dt.datetime.now(dt.UTC)
    specs = [Spec("acme/web", 1), Spec("acme/web", 2, expires_in=EXPIRED),
             Spec("acme/web", 3, healthy=False), Spec("acme/web", 4, healthy=False, age=FRESH)]
    setup(core, apps, specs, now)
    result = run_gc(sb, GcOptions(settings=Settings()), None, now)
    assert [(o.decision.pr, o.decision.rule, o.outcome) for o in result.outcomes] == [
        (1, "unknown", "kept"), (2, "ttl-expired", "deleted"), (3, "broken", "deleted"),
        (4, "grace", "kept")]
    assert any("no GitHub token" in note for note in result.notes)
    assert result.github_requests == 0


def test_a_finalizer_not_ours_is_reported_and_left_alone(host: Any) -> None:
    sb, core, apps = host
    now = dt.datetime.now(dt.UTC) + 2 * H
    spec = Spec("acme/web", 1, foreign_blocker=True)
    setup(core, apps, [spec], now)
    result = run_gc(sb, GcOptions(), None, now)
    (outcome,) = result.outcomes
    assert outcome.decision.rule == "stuck-terminating"
    assert "still blocked by objects not ours: ConfigMap/blocker" in outcome.detail
    blocker = core.read_namespaced_config_map("blocker", spec.namespace)
    assert blocker.metadata.finalizers == ["example.com/blocker"]


def test_deletions_as_the_cli_does_them_skip_an_environment_a_live_run_holds(
        host: Any) -> None:
    """`preview gc`'s teardown (`down` under each environment's Lease, side by side): an
    environment another run works on is skipped with its holder named, the rest deleted."""
    sb, core, apps = host
    now = dt.datetime.now(dt.UTC)
    specs = [Spec("acme/web", n, expires_in=EXPIRED, healthy=False) for n in range(1, 7)]
    setup(core, apps, specs, now)
    busy = specs[2].namespace
    stamp = lease.micro_time(now)
    client.CoordinationV1Api(core.api_client).create_namespaced_lease(busy, {
        "metadata": {"name": lease.LEASE_NAME,
                     "annotations": {naming.LOCK_OPERATION: "up"}},
        "spec": {"holderIdentity": "run 99", "leaseDurationSeconds": 300,
                 "renewTime": stamp, "acquireTime": stamp}})
    cluster = HostCluster.from_kubeconfig(sb.kubeconfig)
    gc_lock = Lock(lease.Holder("the gc"), wait=False, timeout=0)

    async def main() -> GcResult:
        async with cluster.client() as kube:
            return await gc(kube, GcOptions(parallel=3), None, now=now,
                            teardown_fn=down_teardown(cluster, kube, gc_lock))

    result = asyncio.run(main())
    by_namespace = {o.decision.namespace: o for o in result.outcomes}
    assert [o.decision.namespace for o in result.outcomes] == \
        sorted(by_namespace, key=[s.namespace for s in specs].index)  # plan order
    assert (by_namespace[busy].outcome, by_namespace[busy].detail) == \
        ("skipped", "run 99 (up) is working on it")
    assert result.exit_code == 0
    for spec in specs:
        if spec.namespace != busy:
            assert by_namespace[spec.namespace].outcome == "deleted", by_namespace
            assert state(core, spec.namespace) == "gone"
    assert state(core, busy) == "active"
    assert "skipped: run 99 (up) is working on it" in report.to_table(result)
