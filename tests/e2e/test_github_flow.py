"""The action end to end: `preview action` driven only by an event payload file and the
`GITHUB_*` variables a runner sets, against the host sandbox (the real vcluster chart, syncer,
helm and the example app) and a fake GitHub over real HTTP (tests/fakegithub).

The token is Actions-like: `GET /user` answers 403, so the comment is recognised by its marker
and the `github-actions[bot]` author.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from preview import naming
from preview.sandbox.runner import Sandbox
from tests.e2e.runner import ROOT, RUN_ID, SERVER_URL, Step, pull_request_event
from tests.fakegithub import FakeGitHub, Fault

pytestmark = [pytest.mark.sandbox, pytest.mark.tools]
CONFIG = "examples/app/preview.yaml"  # relative to GITHUB_WORKSPACE, as a workflow names it
TOKEN = "ghs_actions_token"
SHA1, SHA2 = "1a2b3c4d" * 5, "5e6f7a8b" * 5
COMMENTS = "/repos/{owner}/{repo}/issues/{number}/comments"
RUN_URL = f"{SERVER_URL}/octo/shop/actions/runs/{RUN_ID}"


def run_action(sb: Sandbox, fake: FakeGitHub, step: Step, repo: str, *,
               kubeconfig: str | None = None, **inputs: str) -> subprocess.CompletedProcess[str]:
    """`preview action` as action.yml's last step runs it: inputs as INPUT_* variables."""
    environ = step.environ(fake.url, repo)
    environ.update({
        "INPUT_KUBECONFIG": Path(sb.kubeconfig).read_text() if kubeconfig is None else kubeconfig,
        "INPUT_GITHUB_TOKEN": TOKEN, "INPUT_CONFIG": CONFIG, "INPUT_ALLOW_FORKS": "false",
        "INPUT_COMMAND": "", "INPUT_DRY_RUN": "false"})
    environ.update({f"INPUT_{k.upper()}": v for k, v in inputs.items()})
    result = subprocess.run([sys.executable, "-m", "preview", "action"], env=environ, cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert "Traceback" not in result.stderr, result.stderr
    return result


def make_fake(repo: str, number: int, sha: str) -> FakeGitHub:
    fake = FakeGitHub()
    fake.add_token(TOKEN)  # Actions-like: GET /user -> 403
    fake.add_repo(repo)
    fake.add_pull(repo, number, head_sha=sha, branch="feature/login")
    return fake


def namespace_exists(core: client.CoreV1Api, name: str) -> bool:
    try:
        core.read_namespace(name)
        return True
    except ApiException as e:
        if e.status == 404:
            return False
        raise


def fetch(url: str, ingress_port: int) -> tuple[int, str]:
    """GET the preview URL through the sandbox's ingress (its loopback port, the URL's Host)."""
    host = url.split("://", 1)[1].split("/", 1)[0]
    request = urllib.request.Request(f"http://127.0.0.1:{ingress_port}/", headers={"Host": host})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, response.read().decode()


def states(deployment: dict[str, Any]) -> list[str]:
    return [s["state"] for s in deployment["_statuses"]]


def explain(result: subprocess.CompletedProcess[str]) -> str:
    return f"exit {result.returncode}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"


def test_opened_synchronize_closed(sandbox: Sandbox, api_client: client.ApiClient,
                                   tmp_path: Path) -> None:
    core = client.CoreV1Api(api_client)
    repo, number = "octo/shop", 7
    env = naming.environment_for("octo", "shop", number)
    with make_fake(repo, number, SHA1) as fake:
        # opened: the environment comes up, one comment, one deployment, outputs.
        step = Step.create(tmp_path / "opened", pull_request_event("opened", repo, number, SHA1))
        result = run_action(sandbox, fake, step, repo)
        assert result.returncode == 0, explain(result)
        outputs = step.outputs()
        assert outputs["status"] == "ready"
        assert outputs["namespace"] == env.namespace and outputs["vcluster"] == env.vcluster
        assert outputs["url"] == f"http://pr-7-shop.localhost:{sandbox.ingress_http_port}"
        assert "preview kubeconfig" in outputs["kubeconfig"]
        status, page = fetch(outputs["url"], sandbox.ingress_http_port)
        assert status == 200 and SHA1[:7] in page
        assert fake.count("GET /user", 403) >= 1  # an Actions token: the login is not known
        [comment] = fake.comments(repo, number)
        assert comment["user"]["login"] == "github-actions[bot]"
        assert "is ready" in comment["body"] and outputs["url"] in comment["body"]
        assert f"[{SHA1[:7]}]({SERVER_URL}/octo/shop/commit/{SHA1})" in comment["body"]
        assert fake.count(f"POST {COMMENTS}") == 1
        [first] = fake.deployments(repo)
        assert first["sha"] == SHA1 and first["environment"] == env.name
        assert states(first) == ["in_progress", "success"]
        assert first["_statuses"][-1]["environment_url"] == outputs["url"]
        assert first["_statuses"][-1]["log_url"] == RUN_URL
        assert "is ready" in step.summary_path.read_text()
        for name in ("check", "vcluster", "connect", "deploy", "wait", "health"):
            assert f"::group::preview up pr-7: {name}\n" in result.stdout
        assert result.stdout.count("::group::") == result.stdout.count("::endgroup::")
        assert f"::add-mask::{TOKEN}" in result.stdout

        # synchronize with a new sha: the same comment edited, a new deployment.
        fake.repos[repo].pulls[number]["head"]["sha"] = SHA2
        step = Step.create(tmp_path / "synchronize",
                           pull_request_event("synchronize", repo, number, SHA2))
        result = run_action(sandbox, fake, step, repo)
        assert result.returncode == 0, explain(result)
        assert step.outputs()["status"] == "ready"
        [edited] = fake.comments(repo, number)
        assert edited["id"] == comment["id"] and fake.count(f"POST {COMMENTS}") == 1
        assert "is ready" in edited["body"] and SHA2[:7] in edited["body"]
        old, new = fake.deployments(repo)
        assert new["sha"] == SHA2 and states(new) == ["in_progress", "success"]
        assert states(old)[-1] == "inactive"  # superseded by the new one
        assert SHA2[:7] in fetch(outputs["url"], sandbox.ingress_http_port)[1]

        # closed: the environment is gone, the comment says so, deployments inactive.
        fake.repos[repo].pulls[number]["state"] = "closed"
        step = Step.create(tmp_path / "closed",
                           pull_request_event("closed", repo, number, SHA2, state="closed"))
        result = run_action(sandbox, fake, step, repo)
        assert result.returncode == 0, explain(result)
        assert not namespace_exists(core, env.namespace)
        assert step.outputs()["status"] == "torn-down"
        [removed] = fake.comments(repo, number)
        assert removed["id"] == comment["id"] and "was removed" in removed["body"]
        assert all(states(d)[-1] == "inactive" for d in fake.deployments(repo))


# -- on one environment that is already up (so each run is an idempotent `up`) -------------

SHARED_REPO, SHARED_PR = "octo/cart", 8


@pytest.fixture(scope="module")
def shared(sandbox: Sandbox) -> Iterator[naming.Environment]:
    """PR 8 of octo/cart up at SHA1, deployed without GitHub; torn down afterwards."""
    kubeconfig = ["--kubeconfig", str(sandbox.kubeconfig)]
    base = [sys.executable, "-m", "preview"]
    up = subprocess.run([*base, "up", "--config", str(ROOT / CONFIG), "--repo", SHARED_REPO,
                         "--pr", str(SHARED_PR), "--sha", SHA1, *kubeconfig],
                        capture_output=True, text=True, timeout=300, env=_no_github())
    assert up.returncode == 0, explain(up)
    yield naming.environment_for("octo", "cart", SHARED_PR)
    subprocess.run([*base, "down", "--repo", SHARED_REPO, "--pr", str(SHARED_PR), *kubeconfig],
                   capture_output=True, text=True, timeout=300, env=_no_github())


def _no_github() -> dict[str, str]:
    import os
    return {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "INPUT_"))}


def test_a_comment_answered_502_twice_is_created_once(
        sandbox: Sandbox, shared: naming.Environment, tmp_path: Path) -> None:
    with make_fake(SHARED_REPO, SHARED_PR, SHA1) as fake:
        fake.inject(f"POST {COMMENTS}", Fault(502), Fault(502))
        step = Step.create(tmp_path, pull_request_event("opened", SHARED_REPO, SHARED_PR, SHA1))
        result = run_action(sandbox, fake, step, SHARED_REPO)
        assert result.returncode == 0, explain(result)
        assert [e.status for e in fake.log if e.method == "POST" and e.route == COMMENTS] == \
            [502, 502, 201]
        [comment] = fake.comments(SHARED_REPO, SHARED_PR)
        assert "is ready" in comment["body"]


def test_with_deployments_off_the_action_comments_and_makes_no_deployment(
        sandbox: Sandbox, shared: naming.Environment, tmp_path: Path) -> None:
    with make_fake(SHARED_REPO, SHARED_PR, SHA1) as fake:
        step = Step.create(tmp_path, pull_request_event("opened", SHARED_REPO, SHARED_PR, SHA1))
        result = run_action(sandbox, fake, step, SHARED_REPO, deployments="false")
        assert result.returncode == 0, explain(result)
        [comment] = fake.comments(SHARED_REPO, SHARED_PR)
        assert "is ready" in comment["body"]
        assert fake.deployments(SHARED_REPO) == []
        assert not [e for e in fake.log if "/deployments" in e.route]


def test_two_ups_at_once_end_with_one_comment(
        sandbox: Sandbox, shared: naming.Environment, tmp_path: Path) -> None:
    with make_fake(SHARED_REPO, SHARED_PR, SHA1) as fake:
        # The environment's Lease serializes them: the second writes the comment only once
        # it holds the lock, after the first created it, so it finds it (no second comment
        # to converge; tests/github covers two writers that do race).
        event = pull_request_event("synchronize", SHARED_REPO, SHARED_PR, SHA1)
        steps = [Step.create(tmp_path / f"run{i}", event) for i in (1, 2)]
        environ = {
            "INPUT_KUBECONFIG": Path(sandbox.kubeconfig).read_text(),
            "INPUT_GITHUB_TOKEN": TOKEN, "INPUT_CONFIG": CONFIG}
        runs = [subprocess.Popen([sys.executable, "-m", "preview", "action"], cwd=ROOT,
                                 env={**s.environ(fake.url, SHARED_REPO), **environ},
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for s in steps]
        errs = []
        for run in runs:
            out, err = run.communicate(timeout=300)
            assert run.returncode == 0, f"{out}\n{err}"
            errs.append(out + err)
        assert fake.count(f"POST {COMMENTS}") == 1
        assert sum("waiting for " in e for e in errs) <= 1  # at most one had to wait
        [comment] = fake.comments(SHARED_REPO, SHARED_PR)
        assert "is ready" in comment["body"]
        assert all(s.outputs()["status"] == "ready" for s in steps)


def test_an_image_that_cannot_be_pulled_fails_the_step_with_the_evidence(
        sandbox: Sandbox, shared: naming.Environment, tmp_path: Path) -> None:
    with make_fake(SHARED_REPO, SHARED_PR, SHA2) as fake:
        step = Step.create(tmp_path, pull_request_event("synchronize", SHARED_REPO, SHARED_PR,
                                                        SHA2))
        result = run_action(sandbox, fake, step, SHARED_REPO, timeout="90",
                            set="image.repository=registry.example/does-not-exist")
        assert result.returncode == 1, explain(result)
        assert step.outputs()["status"] == "failed"
        assert "::error " in result.stdout
        [comment] = fake.comments(SHARED_REPO, SHARED_PR)
        body = comment["body"]
        assert "failed to deploy" in body
        assert "ImagePullBackOff" in body
        assert "<code>app-" in body  # the failing pod, by name
        assert "Back-off pulling image" in body or "Error: ImagePullBackOff" in body  # events
        [deployment] = fake.deployments(SHARED_REPO)
        assert states(deployment) == ["in_progress", "failure"]
        # It reads in ten seconds: one sentence naming the pod and its reason first, …
        lines = [line for line in body.splitlines() if line.strip()]
        title = next(i for i, line in enumerate(lines) if "failed to deploy" in line)
        headline = lines[title + 2]  # after the commit's line
        assert headline.startswith("**Pod app-") and "ImagePullBackOff" in headline
        assert len(headline.strip("*")) < 200
        assert body.count("<summary>Events and logs of") == 1  # the details once
        # … nothing about settings the tenant never asked for (a plain Deployment's pods get
        # Kubernetes' default tolerations), no "helm: deployed" in a failure, and the
        # environment left for inspection says how to get in and until when.
        assert "SyncStripped" not in body
        assert "helm status" not in body
        assert "preview kubeconfig --repo octo/cart --pr 8" in body
        assert "left up for inspection; it expires in 24 hours" in body  # ttl: 1d
        assert "::error title=Preview environment pr-8 failed::Pod app-" in result.stdout
        # preview list says failed, and why, as up recorded it.
        listed = subprocess.run([sys.executable, "-m", "preview", "list", "--repo", SHARED_REPO,
                                 "-o", "json", "--kubeconfig", str(sandbox.kubeconfig)],
                                capture_output=True, text=True, timeout=120, env=_no_github())
        assert listed.returncode == 0, explain(listed)
        [row] = json.loads(listed.stdout)
        assert row["status"] == "failed" and "ImagePullBackOff" in row["reason"], row


# -- forks ----------------------------------------------------------------------------------

CLOSED_PORT_KUBECONFIG = """apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:9"}}]
users: [{name: u, user: {token: not-a-real-token}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
"""


@pytest.mark.parametrize("kubeconfig", [CLOSED_PORT_KUBECONFIG, ""],
                         ids=["unreachable-cluster", "no-secret"])
def test_a_fork_is_refused_before_any_cluster_call(sandbox: Sandbox, tmp_path: Path,
                                                   kubeconfig: str) -> None:
    # The kubeconfig points at a closed port (or is empty, as a fork's run gets no secrets):
    # the fork message, not a connection error, proves nothing reached for the cluster.
    repo = "octo/shop"
    with make_fake(repo, 11, SHA1) as fake:
        fake.read_only.add(TOKEN)  # a fork's pull_request token
        step = Step.create(tmp_path, pull_request_event("opened", repo, 11, SHA1,
                                                        head_repo="mallory/shop"))
        result = run_action(sandbox, fake, step, repo, kubeconfig=kubeconfig)
        # Refusing is the right answer, not a failure of the check: the run ends neutral.
        assert result.returncode == 0, explain(result)
        assert "fork mallory/shop" in result.stderr + result.stdout
        assert "cannot reach" not in result.stderr
        assert "::notice title=preview-vcluster refused this run::pull request #11 comes " \
               "from the fork mallory/shop" in result.stdout
        assert "::error" not in result.stdout and "::warning" not in result.stdout
        assert step.outputs()["status"] == "refused"
        # The comment is tried; a fork's read-only token may not write it (said in the log).
        assert [(e.method, e.status) for e in fake.log if e.method != "GET"] == [("POST", 403)]
        assert fake.comments(repo, 11) == []


@pytest.mark.parametrize(("event_name", "head_repo", "flags", "words"), [
    ("pull_request", "mallory/shop", (), "comes from the fork mallory/shop"),
    ("pull_request", None, (), "comes from the fork (deleted fork)"),
    ("pull_request_target", "mallory/shop", ("--allow-forks",), "pull_request_target event"),
    ("pull_request_target", None, ("--allow-forks",), "pull_request_target event"),
], ids=["fork", "deleted-fork", "target-fork", "target-deleted-fork"])
def test_preview_up_refuses_a_fork_before_any_cluster_call(
        tmp_path: Path, event_name: str, head_repo: str | None, flags: tuple[str, ...],
        words: str) -> None:
    # The kubeconfig points at a closed port: a connection error would show a cluster call.
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(CLOSED_PORT_KUBECONFIG)
    event = pull_request_event("opened", "octo/shop", 11, SHA1, head_repo="mallory/shop")
    if head_repo is None:
        event["pull_request"]["head"]["repo"] = None  # GitHub's payload once it is deleted
    step = Step.create(tmp_path, event)
    environ = step.environ("http://127.0.0.1:9/api/v3", "octo/shop", event_name=event_name)
    result = subprocess.run([sys.executable, "-m", "preview", "up", "--config",
                             str(ROOT / CONFIG), "--kubeconfig", str(kubeconfig), *flags],
                            env=environ, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, explain(result)
    assert words in result.stderr, explain(result)
    assert "cannot reach" not in result.stderr and "127.0.0.1:9" not in result.stderr
    assert step.outputs()["status"] == "refused"


def test_a_pull_request_closed_during_the_deploy_is_torn_down_by_that_deploy(
        sandbox: Sandbox, api_client: client.ApiClient, shared: naming.Environment,
        tmp_path: Path) -> None:
    # The `closed` run (its own concurrency group) may finish before this deploy does; the
    # deploy then reads the pull request again and removes what it just deployed.
    core = client.CoreV1Api(api_client)
    with make_fake(SHARED_REPO, SHARED_PR, SHA1) as fake:
        fake.repos[SHARED_REPO].pulls[SHARED_PR]["state"] = "closed"
        step = Step.create(tmp_path, pull_request_event("synchronize", SHARED_REPO, SHARED_PR,
                                                        SHA1))
        result = run_action(sandbox, fake, step, SHARED_REPO)
        assert result.returncode == 0, explain(result)
        assert "was closed meanwhile" in result.stderr
        assert step.outputs()["status"] == "torn-down"
        assert not namespace_exists(core, shared.namespace)
        [comment] = fake.comments(SHARED_REPO, SHARED_PR)
        assert "was removed" in comment["body"]
        assert all(states(d)[-1] == "inactive" for d in fake.deployments(SHARED_REPO))


def test_the_policy_input_reaches_up_and_refuses_before_any_cluster_change(
        sandbox: Sandbox, api_client: client.ApiClient, tmp_path: Path) -> None:
    # The policy's YAML itself, as `policy: ${{ vars.PREVIEW_POLICY }}` hands it over.
    repo, number = "octo/shop", 12
    env = naming.environment_for("octo", "shop", number)
    with make_fake(repo, number, SHA1) as fake:
        step = Step.create(tmp_path, pull_request_event("opened", repo, number, SHA1))
        result = run_action(sandbox, fake, step, repo,
                            policy="ingress:\n  domains: [preview.example.com]\n")
        assert result.returncode == 2, explain(result)
        assert "host 'pr-12-shop.localhost' is outside the platform policy's domains " \
               "(preview.example.com; ingress.domains)" in result.stderr, explain(result)
        assert not namespace_exists(client.CoreV1Api(api_client), env.namespace)
        assert list((step.directory / "runner-temp").iterdir()) == []  # no policy file left
