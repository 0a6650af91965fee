"""Two environments of one pull request (a monorepo's `api` and `web`), through the action
against the host sandbox and the fake GitHub: two namespaces and URLs, one comment with a
section each, and closing the pull request removes both."""

from __future__ import annotations

from pathlib import Path

import pytest
from kubernetes import client

from preview import naming
from preview.github.comments import marker, sections
from preview.sandbox.runner import Sandbox
from tests.e2e.test_triggers import (
    SHA,
    TOKEN,
    action,
    event,
    exists,
    explain,
    pr_event,
    torn_down_after,
)
from tests.fakegithub import FakeGitHub

pytestmark = [pytest.mark.sandbox, pytest.mark.tools]


@pytest.mark.timeout(900)  # four runs of the action, two of them deploys
def test_two_environments_one_comment_and_closing_removes_both(
        sandbox: Sandbox, api_client: client.ApiClient, tmp_path: Path) -> None:
    core = client.CoreV1Api(api_client)
    repo, number = "octo/mono", 41
    envs = {app: naming.environment_for("octo", "mono", number, app) for app in ("api", "web")}
    with FakeGitHub() as fake, torn_down_after(sandbox, repo, number):
        fake.add_token(TOKEN)
        fake.add_repo(repo)
        fake.add_pull(repo, number, head_sha=SHA)
        urls = {}
        for app in ("api", "web"):  # the two apps' workflows (or a matrix's two jobs)
            step = event(tmp_path, f"opened-{app}", pr_event("opened", repo, number))
            result = action(sandbox, fake, step, repo, environment=app)
            assert result.returncode == 0, explain(result)
            outputs = step.outputs()
            assert outputs["status"] == "ready"
            assert outputs["namespace"] == envs[app].namespace
            urls[app] = outputs["url"]
        assert urls["api"] == f"http://pr-41-api-mono.localhost:{sandbox.ingress_http_port}"
        assert urls["web"] == f"http://pr-41-web-mono.localhost:{sandbox.ingress_http_port}"
        assert all(exists(core, env.namespace) for env in envs.values())
        assert not exists(core, naming.environment_for("octo", "mono", number).namespace)

        [comment] = fake.comments(repo, number)
        found = sections(comment["body"], marker(repo, number))
        assert set(found) == {"pr-41-api", "pr-41-web"}
        for app, env in envs.items():
            assert "is ready" in found[env.name] and urls[app] in found[env.name]
            assert f"--environment {app}" in found[env.name]  # the kubeconfig hint names it
        assert {d["environment"] for d in fake.deployments(repo)} == {"pr-41-api", "pr-41-web"}

        # Closed: each app's workflow tears its own environment down.
        fake.repos[repo].pulls[number]["state"] = "closed"
        for app in ("api", "web"):
            step = event(tmp_path, f"closed-{app}", pr_event("closed", repo, number,
                                                            state="closed"))
            result = action(sandbox, fake, step, repo, environment=app)
            assert result.returncode == 0, explain(result)
            assert step.outputs()["status"] == "torn-down"
        assert not any(exists(core, env.namespace) for env in envs.values())
        [comment] = fake.comments(repo, number)
        found = sections(comment["body"], marker(repo, number))
        assert all("was removed" in found[env.name] for env in envs.values())
