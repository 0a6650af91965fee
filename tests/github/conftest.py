"""Fixtures for the GitHub layer: a fake GitHub over HTTP and sessions that talk to it."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest

from preview.github import GitHubSession
from preview.github.client import RetryPolicy
from preview.results import Diagnostics, PodProblem, UpResult
from tests.fakegithub import FakeGitHub

REPO = "octo/app"
PR_NUMBER = 12
SHA = "0123456789abcdef0123456789abcdef01234567"
ACTIONS_TOKEN = "ghs_actions_token"  # GET /user -> 403, like the Actions GITHUB_TOKEN
PAT = "ghp_alice_token"  # GET /user -> alice


@dataclass(frozen=True)
class PR:
    """Stands in for preview.pullrequest.PullRequest (same field names)."""

    owner: str = "octo"
    repo: str = "app"
    number: int = PR_NUMBER
    head_sha: str = SHA
    branch: str = "feature/login"
    author: str = "alice"
    title: str = "Add login"
    run_url: str = "https://github.example/octo/app/actions/runs/77"


@dataclass(frozen=True)
class Env:
    name: str = f"pr-{PR_NUMBER}"
    namespace: str = f"preview-octo-app-pr-{PR_NUMBER}"
    vcluster: str = "vc"


@dataclass
class Sleeps:
    """An injectable sleep that records what it was asked to wait instead of waiting."""

    calls: list[float] = field(default_factory=list)

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
def fake() -> Iterator[FakeGitHub]:
    with FakeGitHub() as server:
        server.add_token(ACTIONS_TOKEN)
        server.add_token(PAT, login="alice")
        server.add_repo(REPO)
        server.add_pull(REPO, PR_NUMBER, head_sha=SHA)
        yield server


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def make_session(fake: FakeGitHub, sleeps: Sleeps) -> Callable[..., GitHubSession]:
    def make(token: str = ACTIONS_TOKEN, out: io.StringIO | None = None,
             deployments: bool = True, **environ: str) -> GitHubSession:
        session = GitHubSession.from_env(
            {"GITHUB_API_URL": fake.url, **environ}, token, out=out or io.StringIO(),
            # settle=0: these runs write alone; the waits recorded are the retries' only.
            policy=RetryPolicy(sleep=sleeps, settle=0.0), pace_writes=False,
            deployments=deployments)
        assert session is not None
        return session
    return make


def ready_result(**overrides: object) -> UpResult:
    values: dict[str, object] = dict(
        environment=f"pr-{PR_NUMBER}", namespace=Env().namespace, vcluster="vc",
        url="https://pr-12-app.preview.example.com", head_sha=SHA, status="ready",
        phases={"vcluster": 21.5, "deploy": 12.25, "health": 1.0},
        expires_at="2026-12-08T07:00:00Z", diagnostics=None,
        kubeconfig_hint="preview kubeconfig --repo octo/app --pr 12")
    values.update(overrides)
    return UpResult(**values)  # type: ignore[arg-type]


def failed_result(logs: tuple[str, ...] = ("pulling image",), **overrides: object) -> UpResult:
    diagnostics = Diagnostics(
        summary="Deployment app is not ready: 1 pod failing",
        pods=(PodProblem(
            pod="app-5d9c7b-xk2lp", container="app", reason="ImagePullBackOff",
            message='Back-off pulling image "ghcr.io/octo/app:nope"',
            events=('Failed to pull image "ghcr.io/octo/app:nope": not found',
                    'Error: ImagePullBackOff'),
            logs=logs),),
        helm_status="STATUS: failed")
    return ready_result(status="failed", diagnostics=diagnostics, **overrides)
