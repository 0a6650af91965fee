"""The pure parts of the operations: namespace records, URLs, values, list rows, texts."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import pytest

from preview import config as configuration
from preview import helm, naming
from preview.cli.texts import diagnostics_text, up_text
from preview.deploy import IngressAddress
from preview.errors import BadInput
from preview.operations import environments, kubeconfig, ownership, up
from preview.pullrequest import PullRequest
from preview.results import Diagnostics, PodProblem, UpResult
from preview.vcluster import lifecycle
from preview.vcluster.model import VCluster

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "app"
NOW = dt.datetime(2026, 12, 1, 8, 0, 0, tzinfo=dt.UTC)
PR = PullRequest(owner="example", repo="app", number=1, head_sha="a" * 40, branch="main",
                 author="octocat", run_url="https://github.com/example/app/actions/runs/1")
ENV = naming.environment_for("example", "app", 1)


def rendered(pr: PullRequest = PR) -> configuration.RenderedConfig:
    loaded = configuration.load(EXAMPLE / "preview.yaml", cwd=EXAMPLE)
    return configuration.render(loaded, pr, ENV)


def test_a_new_namespace_gets_the_label_contract() -> None:
    patch = up.namespace_patch(ENV, PR, rendered(), None, NOW)["metadata"]
    assert patch["labels"] == naming.namespace_labels(ENV)
    notes = patch["annotations"]
    assert notes[naming.CREATED_AT] == "2026-12-01T08:00:00Z"
    assert notes[naming.EXPIRES_AT] == "2026-12-02T08:00:00Z"  # ttl: 1d
    assert notes[naming.HEAD_SHA] == "a" * 40
    assert naming.URL not in notes  # written once, when the deploy has found it
    assert notes[naming.RUN_URL] == PR.run_url
    assert notes[naming.REPO_FULL_NAME] == "example/app"
    assert notes[naming.LAST_ACTIVITY] == "2026-12-01T08:00:00Z"  # a push is activity


def test_a_later_up_keeps_created_at_and_the_url_and_extends_expiry() -> None:
    first = up.namespace_patch(ENV, PR, rendered(), None, NOW)
    first["metadata"]["annotations"][naming.URL] = "http://pr-1-app.localhost:8080"
    later = NOW + dt.timedelta(hours=5)
    new_pr = PullRequest(**{**PR.__dict__, "head_sha": "b" * 40})
    notes = up.namespace_patch(ENV, new_pr, rendered(new_pr), first, later)[
        "metadata"]["annotations"]
    assert notes[naming.CREATED_AT] == "2026-12-01T08:00:00Z"
    assert notes[naming.EXPIRES_AT] == "2026-12-02T13:00:00Z"
    assert notes[naming.HEAD_SHA] == "b" * 40
    assert naming.URL not in notes  # a merge patch: the recorded URL stays as it is


@pytest.mark.parametrize(("url", "ports", "expected"), [
    ("http://pr-1-app.localhost", {"http": 80, "https": 443}, "http://pr-1-app.localhost"),
    ("http://pr-1-app.localhost", {"http": 34567, "https": 34568},
     "http://pr-1-app.localhost:34567"),
    ("https://pr-1.example.com/x?y=1", {"http": 1, "https": 8443},
     "https://pr-1.example.com:8443/x?y=1"),
    ("http://a.example.com:9000/", {"http": 1, "https": 2}, "http://a.example.com:9000/"),
])
def test_reachable_url_adds_a_non_default_ingress_port(url: str, ports: dict[str, int],
                                                       expected: str) -> None:
    assert up.reachable_url(url, ports) == expected


def test_the_other_ingress_hosts_get_urls_as_the_url_does() -> None:
    address = IngressAddress("127.0.0.1", 34567, 34568, "web",
                             tls_hosts=("*.pr-1.example",),
                             hosts=("a.pr-1.example", "pr-1.example", "b.other"))
    assert up.host_urls(address, "http://pr-1.example:34567") == (
        "https://a.pr-1.example:34568", "http://b.other:34567")
    assert up.host_urls(IngressAddress("1.2.3.4", hosts=("x.example",)),
                        "http://x.example") == ()


def test_a_release_is_current_only_when_deployed_from_this_chart_with_these_values() -> None:
    values = {"serviceCIDR": "10.96.0.0/12"}
    history = [helm.Revision(1, "superseded", "vcluster-0.1.0", ""),
               helm.Revision(2, "deployed", "vcluster-0.1.0", "")]
    assert lifecycle.is_current(history, values, dict(values), "vcluster-0.1.0")
    assert not lifecycle.is_current(history, values, {**values, "x": 1}, "vcluster-0.1.0")
    assert not lifecycle.is_current(history, values, values, "vcluster-0.2.0")
    pending = [*history, helm.Revision(3, "pending-upgrade", "vcluster-0.1.0", "")]
    assert not lifecycle.is_current(pending, values, values, "vcluster-0.1.0")
    assert not lifecycle.is_current([], None, {}, "vcluster-0.1.0")
    assert lifecycle.chart_label().startswith("vcluster-")


def test_planned_values_keep_the_detected_service_cidr_and_reset_the_rest() -> None:
    installed = {"serviceCIDR": "10.96.0.0/12", "isolation": {"quota": {"pods": 5}}}
    given = {"isolation": {"podSecurity": "restricted"}}
    assert lifecycle.planned_values(installed, given, reset_values=True) == {
        "serviceCIDR": "10.96.0.0/12", "isolation": {"podSecurity": "restricted"}}
    assert lifecycle.planned_values(installed, given, reset_values=False) == {
        "serviceCIDR": "10.96.0.0/12",
        "isolation": {"quota": {"pods": 5}, "podSecurity": "restricted"}}
    assert lifecycle.planned_values(installed, {"serviceCIDR": "10.0.0.0/16"}, True) == {
        "serviceCIDR": "10.0.0.0/16"}
    assert lifecycle.planned_values(None, given, True) == given


def namespace(labels: dict[str, str], deleting: bool = False) -> dict[str, object]:
    meta: dict[str, object] = {"name": ENV.namespace, "labels": labels,
                               "creationTimestamp": "2026-12-01T07:00:00Z",
                               "annotations": {naming.REPO_FULL_NAME: "example/app",
                                               naming.CREATED_AT: "2026-12-01T07:00:00Z",
                                               naming.EXPIRES_AT: "2026-12-01T09:00:00Z",
                                               naming.HEAD_SHA: "c" * 40}}
    if deleting:
        meta["deletionTimestamp"] = "2026-12-01T07:59:00Z"
    return {"metadata": meta}


def test_only_the_environments_own_namespace_is_touched() -> None:
    ownership.check_owned(namespace(naming.namespace_labels(ENV)), ENV)
    with pytest.raises(BadInput, match="not a preview environment"):
        ownership.check_owned(namespace({"team": "payments"}), ENV)
    other = naming.namespace_labels(naming.environment_for("example", "app", 2))
    with pytest.raises(BadInput, match="not of example/app PR 1"):
        ownership.check_owned(namespace(other), ENV)


def vcluster(ready: bool) -> VCluster:
    return VCluster(name="pr-1", namespace=ENV.namespace, ready=ready,
                    status="Running" if ready else "Starting", created="", age_seconds=0)


@pytest.mark.parametrize(("ns", "vc", "now", "status"), [
    (namespace(naming.namespace_labels(ENV)), vcluster(True), NOW, "ready"),
    (namespace(naming.namespace_labels(ENV)), vcluster(False), NOW, "starting"),
    (namespace(naming.namespace_labels(ENV)), None, NOW, "no-vcluster"),
    (namespace(naming.namespace_labels(ENV)), vcluster(True), NOW + dt.timedelta(hours=2),
     "expired"),
    (namespace(naming.namespace_labels(ENV), deleting=True), vcluster(True), NOW,
     "terminating"),
])
def test_list_rows(ns: dict[str, object], vc: VCluster | None, now: dt.datetime,
                   status: str) -> None:
    record = naming.read_environment(ns)
    assert record is not None
    row = environments.row(record, vc, now)
    assert (row.repo, row.pr, row.status) == ("example/app", 1, status)
    assert row.age_seconds == 3600 + int((now - NOW).total_seconds())
    assert row.expires_in_seconds == int((dt.datetime(2026, 12, 1, 9, tzinfo=dt.UTC)
                                          - now).total_seconds())


def _with_state(state: str, reason: str = "") -> dict[str, object]:
    ns = namespace(naming.namespace_labels(ENV))
    ns["metadata"]["annotations"].update(  # type: ignore[index]
        naming.state_annotations(state, reason))
    return ns


@pytest.mark.parametrize(("ns", "vc", "now", "status", "reason"), [
    (_with_state("failed", "Pod app-1 (container app) is failing: ImagePullBackOff"),
     vcluster(True), NOW, "failed", "Pod app-1 (container app) is failing: ImagePullBackOff"),
    (_with_state("failed", "x"), None, NOW, "failed", "x"),  # broken before its vcluster ran
    (_with_state("deploying"), vcluster(True), NOW, "deploying", ""),
    (_with_state("deploying"), None, NOW, "no-vcluster", ""),
    (_with_state("ready"), vcluster(True), NOW, "ready", ""),
    (_with_state("failed", "x"), vcluster(True), NOW + dt.timedelta(hours=2), "expired", ""),
])
def test_list_rows_show_the_state_up_recorded(ns: dict[str, object], vc: VCluster | None,
                                              now: dt.datetime, status: str,
                                              reason: str) -> None:
    record = naming.read_environment(ns)
    assert record is not None
    row = environments.row(record, vc, now)
    assert (row.status, row.reason) == (status, reason)


def test_published_server_is_the_current_contexts() -> None:
    published = {"current-context": "b",
                 "contexts": [{"name": "a", "context": {"cluster": "x"}},
                              {"name": "b", "context": {"cluster": "y"}}],
                 "clusters": [{"name": "x", "cluster": {"server": "https://x"}},
                              {"name": "y", "cluster": {"server": "https://pr-1.ns:443"}}]}
    assert kubeconfig.published_server(published) == "https://pr-1.ns:443"
    assert "--repo example/app --pr 1" in kubeconfig.hint(ENV)


def test_failure_text_is_the_summary_or_else_the_pods() -> None:
    pod = PodProblem(pod="web-1", container="web", reason="ImagePullBackOff",
                     message='Back-off pulling image "does-not-exist:1"',
                     events=("Warning Failed: Failed to pull image",), logs=("boom",))
    summary = "deploy failed: pod web-1 container web: ImagePullBackOff\nhelm: deployed"
    diagnostics = Diagnostics(summary=summary, helm_status="STATUS: deployed", pods=(pod,))
    result = UpResult(environment="pr-1", namespace=ENV.namespace, vcluster="pr-1",
                      url="http://pr-1-app.localhost", head_sha="a" * 40, status="failed",
                      phases={"namespace": 0.1, "deploy": 1.0}, expires_at="x",
                      diagnostics=diagnostics, kubeconfig_hint="preview kubeconfig …")
    text = up_text(result, "example/app")
    assert "FAILED" in text and "left in place" in text
    assert text.endswith(summary) and text.count("web-1") == 1
    bare = diagnostics_text(Diagnostics(summary="", helm_status="STATUS: deployed",
                                        pods=(pod,)))
    assert bare.splitlines() == [
        'pod web-1 container web: ImagePullBackOff — Back-off pulling image "does-not-exist:1"',
        "  event: Warning Failed: Failed to pull image", "  log: boom", "helm: STATUS: deployed"]


def test_side_by_side_lets_every_step_finish_before_it_fails() -> None:
    finished: list[str] = []

    async def fails_at_once() -> None:
        finished.append("fast")
        raise BadInput("the chart does not render")

    async def takes_a_while() -> str:
        await asyncio.sleep(0.05)
        finished.append("slow")
        return "rendered"

    async def scenario() -> None:
        with pytest.raises(BadInput, match="does not render"):
            await up._side_by_side(fails_at_once(), takes_a_while())
        assert finished == ["fast", "slow"]  # the sibling ran to its end, not cancelled
        assert await up._side_by_side(takes_a_while(), takes_a_while()) == [
            "rendered", "rendered"]

    asyncio.run(scenario())
