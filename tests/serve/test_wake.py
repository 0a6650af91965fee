"""The wake page for real: the example app (two replicas) on a host sandbox, `preview sleep`
under a policy whose `wakePage` names `preview serve --wake-listen` (a subprocess), and
requests to the app's URL through the sandbox's ingress controller, as a browser sends them.

Sleeping points the URL at the wake page; concurrent requests get the page (503,
Retry-After) and wake the environment once; every answer until the app's first 200 is the
wake page (never the ingress controller's own 503: the Ingress is restored only once the
app has ready endpoints); then the Ingress is exactly as before, with the same replicas.
A Host of an environment that is awake, of a namespace that is not ours, or of nothing,
gets 404 and changes nothing. With a GitHub token (`preview serve --github-token`, the
fake GitHub here) the pull request's comment says ready again."""

from __future__ import annotations

import concurrent.futures
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from preview import naming
from preview.kube.client import KubeClient
from preview.sandbox.runner import Sandbox
from preview.serve import wake
from tests.conftest import wait_for
from tests.fakegithub import FakeGitHub
from tests.operations.test_environments import DEPLOYMENTS, ROOT, SHA1, preview, up, virtual
from tests.serve import healthy
from tests.serve.test_app import free_port

WAKE_MARK = "is waking up"


def get(port: int, host: str, path: str = "/") -> tuple[int, dict[str, str], str]:
    """GET http://127.0.0.1:port/path with this Host: status, headers, body."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Host": host})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode()


# -- pure ------------------------------------------------------------------------------------------
def test_the_page_escapes_everything_it_shows() -> None:
    body = wake.page("<script>x</script> #1 is waking up", "a & b", "<b>step</b>", True)
    assert "<script>x" not in body and "&lt;script&gt;x" in body
    assert "a &amp; b" in body and "&lt;b&gt;step" in body
    assert f'<meta http-equiv="refresh" content="{wake.RETRY_AFTER}">' in body
    assert "refresh" not in wake.page("t", "m", "", False)


@pytest.mark.parametrize(("line", "step"), [
    ("control plane vcluster: scaled to 1", "starting its virtual cluster"),
    ("deployment/default/app: restored", "starting the app"),
    ("waiting for service app-x-default-x-vcluster to have a ready endpoint",
     "waiting for the app to answer"),
    ("ingress app-x-default-x-vcluster: restored (the app answers at its URL again)",
     "ready: loading the app"),
    ("deployment/app: 1/2 ready", None),  # names the insides: the step stays as it was
])
def test_a_progress_line_is_shown_as_a_step_never_as_itself(line: str, step: str | None
                                                            ) -> None:
    assert wake.step_of(line) == step


@pytest.mark.parametrize(("header", "host"), [
    ("App.Example.COM:8080", "app.example.com"), ("app.example.com", "app.example.com"),
    ("", ""), ("a" * 254, ""), ("bücher.example", ""),
])
def test_the_host_is_the_header_without_its_port(header: str, host: str) -> None:
    assert wake.request_host(header) == host


def test_a_host_just_woken_is_told_the_app_is_loading_for_a_while() -> None:
    found = wake.Sleeping(naming.environment_for("o", "r", 1), "o/r")
    woken = wake.Wake(found, hosts={"a.example"})
    assert woken.loading("a.example", 100.0)  # restored, the wake not yet ended
    assert not woken.loading("b.example", 100.0)
    woken.woken_at = 100.0
    assert woken.loading("a.example", 100.0 + wake.WOKEN_SECONDS - 1)
    assert not woken.loading("a.example", 100.0 + wake.WOKEN_SECONDS + 1)
    failed = wake.Wake(found, failed_at=5.0, hosts={"a.example"})
    assert not failed.loading("a.example", 6.0)


# -- on the sandbox --------------------------------------------------------------------------------
GITHUB_TOKEN = "ghs_wakepage"  # the platform's own token, not a workflow's


@pytest.fixture(scope="module")
def github() -> Iterator[FakeGitHub]:
    with FakeGitHub() as fake:
        fake.add_token(GITHUB_TOKEN)
        fake.add_repo("example/wakeful")
        fake.add_pull("example/wakeful", 11, head_sha=SHA1, branch="feature/sleepy")
        yield fake


@pytest.fixture(scope="module")
def wake_port(sandbox: Sandbox, github: FakeGitHub, tmp_path_factory: pytest.TempPathFactory
              ) -> Iterator[tuple[int, Path]]:
    """`preview serve --wake-listen` against the sandbox, and the policy naming it."""
    workdir = tmp_path_factory.mktemp("wake")
    port, api_port = free_port(), free_port()
    policy = workdir / "policy.yaml"
    policy.write_text(json.dumps({
        "repositories": ["example/*"],
        "api": {"issuer": "https://127.0.0.1:9", "audience": "preview-sandbox"},
        "vcluster": {"persistence": {"enabled": True}},
        # The sandbox's controller reaches the local process on loopback (docs/sandbox.md).
        "wakePage": {"service": "127.0.0.1", "port": port}}))
    log = workdir / "serve.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "preview", "serve", "--policy", str(policy), "--listen",
             f"127.0.0.1:{api_port}", "--wake-listen", f"127.0.0.1:{port}", "--kubeconfig",
             sandbox.kubeconfig, "--workdir", str(workdir / "bundles")],
            stdout=out, stderr=subprocess.STDOUT,
            env={**os.environ, "GITHUB_TOKEN": GITHUB_TOKEN, "GITHUB_API_URL": github.url})
    try:
        wait_for(lambda: healthy(f"http://127.0.0.1:{api_port}"), timeout=60,
                 what="preview serve to answer")
        yield port, policy
    finally:
        server.terminate()
        server.wait(timeout=60)
        print(log.read_text()[-4000:])


def host_ingress(net: client.NetworkingV1Api, env: naming.Environment) -> Any:
    items = net.list_namespaced_ingress(
        env.namespace, label_selector=f"{naming.MANAGED_BY}={naming.SYNCER_VALUE}").items
    assert len(items) == 1, [i.metadata.name for i in items]
    return items[0]


def wake_events(core: client.CoreV1Api, env: naming.Environment) -> list[str]:
    return [e.message for e in core.list_namespaced_event(env.namespace).items
            if e.reason == "PreviewWake"]


@pytest.mark.sandbox
@pytest.mark.tools
def test_a_request_to_a_sleeping_url_wakes_it_once_into_the_app_as_it_was(
        sandbox: Sandbox, api_client: client.ApiClient, github: FakeGitHub,
        wake_port: tuple[int, Path]) -> None:
    port, policy = wake_port
    core, net = client.CoreV1Api(api_client), client.NetworkingV1Api(api_client)
    env = naming.environment_for("example", "wakeful", 11)
    result = up(sandbox, ROOT / "examples" / "app" / "preview.yaml", "example/wakeful", 11,
                SHA1, "--set", "replicaCount=2", "--policy", str(policy))
    assert result["status"] == "ready", result
    host = result["url"].split("://", 1)[1].split("/", 1)[0].split(":")[0]
    ingress_port = sandbox.ingress_http_port
    before = api_client.sanitize_for_serialization(host_ingress(net, env).spec)

    # Awake: the wake listener knows no sleeping environment at this host; nothing happens.
    assert get(port, host)[0] == 404
    assert get(port, "nothing.example")[0] == 404
    assert get(ingress_port, host)[0] == 200

    preview(sandbox, "sleep", "--repo", "example/wakeful", "--pr", "11", "--policy",
            str(policy))
    assert core.list_namespaced_pod(env.namespace).items == []
    rows = json.loads(preview(sandbox, "list", "--repo", "example/wakeful", "-o", "json").stdout)
    assert rows[0]["status"] == "asleep"
    asleep = host_ingress(net, env)
    assert asleep.metadata.labels[naming.WAKE_PAGE] == "true"
    assert json.loads(asleep.metadata.annotations[naming.SLEEP_INGRESS]) == before
    backends = {p.backend.service.name for r in asleep.spec.rules for p in r.http.paths}
    assert backends == {naming.WAKE_SERVICE}
    service = core.read_namespaced_service(naming.WAKE_SERVICE, env.namespace)
    assert (service.spec.type, service.spec.external_name) == ("ExternalName", "127.0.0.1")

    # Five at once, through the ingress controller as browsers: the page, one wake.
    with concurrent.futures.ThreadPoolExecutor(5) as pool:
        answers = list(pool.map(lambda path: get(ingress_port, host, path),
                                ["/", "/a", "/b?c=d", "/", "/x/y"]))
    for status, headers, body in answers:
        assert status == 503, body
        assert headers["Retry-After"] == str(wake.RETRY_AFTER)
        assert WAKE_MARK in body and "example/wakeful #11" in body

    seen: list[tuple[int, str]] = []

    def app_answers() -> bool:
        status, _, body = get(ingress_port, host)
        seen.append((status, body))
        return status == 200
    wait_for(app_answers, timeout=240, interval=0.5, what="the app to answer after the wake")
    # Until then, every answer was the wake page, never the controller's "no endpoints".
    assert all(WAKE_MARK in body for status, body in seen[:-1]), seen[-3:]

    after = host_ingress(net, env)
    assert api_client.sanitize_for_serialization(after.spec) == before
    assert naming.SLEEP_INGRESS not in (after.metadata.annotations or {})
    assert naming.WAKE_PAGE not in (after.metadata.labels or {})
    wait_for(lambda: not core.list_namespaced_service(
        env.namespace, field_selector=f"metadata.name={naming.WAKE_SERVICE}").items,
        what="the wake Service to go")
    rows = json.loads(preview(sandbox, "list", "--repo", "example/wakeful", "-o", "json").stdout)
    assert rows[0]["status"] == "ready"
    # The request was activity: the idle pass counts from it.
    notes = core.read_namespace(env.namespace).metadata.annotations
    assert naming.LAST_ACTIVITY in notes and naming.ASLEEP_SINCE not in notes

    async def deployment(kube: KubeClient, _: Path) -> Any:
        return await kube.get(DEPLOYMENTS, "default", "app")
    app = virtual(sandbox, env, deployment)
    assert app["spec"]["replicas"] == 2 and app["status"]["readyReplicas"] == 2
    # Awake again: a request that still reaches the listener (an ingress controller slow to
    # see the restored Ingress) is told the app is loading, and wakes nothing.
    status, _, body = get(port, host)
    assert (status, "ready: loading the app" in body) == (503, True)
    events = wait_for(lambda: wake_events(core, env), what="the wake's audit Event")
    assert len(events) == 1 and events[0].endswith(": ready"), events
    # The API's token told the pull request (the sleep above had none: nothing before).
    [comment] = github.comments("example/wakeful", 11)
    assert "ready" in comment["body"].lower() and result["url"] in comment["body"], \
        comment["body"]
    preview(sandbox, "down", "--repo", "example/wakeful", "--pr", "11")


@pytest.mark.sandbox
def test_a_namespace_that_is_not_ours_is_never_woken(
        api_client: client.ApiClient, wake_port: tuple[int, Path]) -> None:
    """An Ingress labelled as a sleeping copy, in a namespace without our labels: 404."""
    port, _ = wake_port
    core, net = client.CoreV1Api(api_client), client.NetworkingV1Api(api_client)
    core.create_namespace({"metadata": {"name": "not-ours-wake"}})
    try:
        net.create_namespaced_ingress("not-ours-wake", {
            "metadata": {"name": "web", "labels": {
                naming.WAKE_PAGE: "true", naming.MANAGED_BY: naming.SYNCER_VALUE,
                naming.VCLUSTER: "vcluster"}},
            "spec": {"rules": [{"host": "foreign.example", "http": {"paths": [{
                "path": "/", "pathType": "Prefix", "backend": {"service": {
                    "name": naming.WAKE_SERVICE, "port": {"number": 80}}}}]}}]}})
        assert get(port, "foreign.example")[0] == 404
        assert [e for e in core.list_namespaced_event("not-ours-wake").items
                if e.reason == "PreviewWake"] == []
    finally:
        core.delete_namespace("not-ours-wake")
