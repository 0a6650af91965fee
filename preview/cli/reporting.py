"""What `preview up` and `preview down` tell GitHub, around the operations (not inside them).

The operations stay free of GitHub: the CLI reports `building` before the cluster work, the
result after it (ready, or failed with the diagnostics; an exception becomes a failed result
too, so the comment never stays "building"), `torn down` after `down`, and re-reads the pull
request after a deploy (closed meanwhile: tear down). Every GitHub call goes through
`GitHubSession`, whose failures are warnings: they never fail an environment that deployed.

A session exists when there is a token (`--github-token` or `GITHUB_TOKEN`) or when running in
GitHub Actions (for the step outputs and annotations even without a token).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from preview import pullrequest
from preview.errors import BadInput, PreviewError
from preview.pullrequest import PullRequest
from preview.render import ProgressPrinter
from preview.results import Diagnostics, DownResult, UpResult

if TYPE_CHECKING:
    from preview.github import GitHubSession
    from preview.naming import Environment

TOKEN_HELP = ("Token for the PR comment and deployment.  [default: $GITHUB_TOKEN; none: no "
              "GitHub reporting]")


@dataclass
class Reporter:
    """The GitHub side of one `up` or `down` run; every method is a no-op without a session."""

    session: GitHubSession | None

    @classmethod
    def create(cls, environ: Mapping[str, str], token: str | None, output: str) -> Reporter:
        """A reporter for this run. Workflow commands go to stdout, except with `-o json`,
        whose stdout is the result alone."""
        in_actions = environ.get("GITHUB_ACTIONS") == "true"
        if not (token or environ.get("GITHUB_TOKEN") or in_actions):
            return cls(None)
        from preview.github import GitHubSession

        out = sys.stdout if output == "text" else sys.stderr
        # Without a token the session prints the comment to `out`; the CLI prints its own
        # summary, so only Actions (outputs, annotations) needs such a session.
        return cls(GitHubSession.from_env(environ, token, out=out))

    @property
    def in_actions(self) -> bool:
        return self.session is not None and self.session.actions.enabled

    def progress(self, output: str) -> ProgressPrinter:
        """The progress printer: in Actions on stdout (text output), inside the `::group::`
        sections it folds; elsewhere on stderr."""
        return ProgressPrinter(sys.stdout if self.in_actions and output == "text" else None)

    @contextlib.contextmanager
    def group(self, title: str) -> Iterator[None]:
        """A folded `::group::` in the Actions log around a long phase."""
        if self.session is None:
            yield
            return
        with self.session.actions.group(title):
            yield

    @contextlib.contextmanager
    def phases(self, title: str) -> Iterator[Callable[[str], None]]:
        """A `phase_started` callback for `up`: each phase gets a `::group::` of its own
        (groups do not nest in the Actions log, so one ends where the next begins)."""
        if not self.in_actions:
            yield lambda name: None
            return
        assert self.session is not None
        actions = self.session.actions
        with contextlib.ExitStack() as current:
            def started(name: str) -> None:
                current.close()  # ends the previous phase's group
                current.enter_context(actions.group(f"{title}: {name}"))

            yield started

    def building(self, pr: PullRequest, env: Environment) -> None:
        if self.session is not None:
            self.session.report_building(pr, env)

    def result(self, pr: PullRequest, env: Environment, result: UpResult) -> None:
        if self.session is not None:
            self.session.report_result(pr, env, result)

    def error(self, pr: PullRequest, env: Environment, error: Exception) -> None:
        """`up` raised: report it as a failed result (the comment shows the message)."""
        if self.session is not None:
            self.session.report_result(pr, env, failed_result(env, pr.head_sha, error))

    def torn_down(self, pr: PullRequest, env: Environment, result: DownResult,
                  reason: str = "") -> None:
        """The comment says "removed", deployments inactive. When there was nothing to tear
        down (a pull request that never had a preview), only the step outputs: a "removed"
        comment on it would only puzzle its author."""
        if self.session is None:
            return
        if result.existed:
            self.session.report_torn_down(pr, env, result, reason)
        else:
            self.session.actions.set_outputs({"namespace": env.namespace,
                                              "vcluster": env.vcluster, "status": "torn-down"})

    def closed_meanwhile(self, pr: PullRequest) -> bool:
        """Whether GitHub says the pull request is closed now (False when it cannot tell)."""
        return self.session is not None and self.session.pull_request_state(pr) == "closed"

    def refuse_neutral(self, error: BadInput, pr: PullRequest | None,
                       env: Environment | None) -> None:
        """A run the workflow may not act on (a fork, a commenter without write permission):
        not a failure of the check. A notice, `status=refused`, and the comment on the pull
        request saying why and what a maintainer can do (when there is one to write)."""
        if self.session is None:
            return
        self.session.actions.notice(f"{error.message}; {error.hint}" if error.hint else
                                    error.message, title="preview-vcluster refused this run")
        self.session.actions.set_outputs({"status": "refused"})
        if pr is not None and env is not None:
            self.session.report_refused(pr, env, error.message, error.hint or "")

    def misconfigured(self, pr: PullRequest | None, env: Environment | None) -> None:
        """The platform's inputs are wrong (the error annotation says what): the comment says
        only that, to a pull request author who can do nothing about it; `status=failed`."""
        if self.session is None:
            return
        self.session.actions.set_outputs({"status": "failed"})
        if pr is not None and env is not None:
            self.session.report_misconfigured(pr, env)

    def refuse(self, error: BadInput) -> BadInput:
        """A run refused before touching the cluster: an error annotation (a comment may be
        impossible: a fork's token is read-only) and `status=refused`. Returns the error."""
        if self.session is not None:
            self.session.actions.error(str(error), title="preview-vcluster refused this run")
            self.session.actions.set_outputs({"status": "refused"})
        return error


def failed_result(env: Environment, head_sha: str, error: Exception) -> UpResult:
    """An `up` that raised, as a failed result (pure)."""
    summary = str(error) if isinstance(error, PreviewError) else \
        f"{type(error).__name__}: {error}"
    return UpResult(environment=env.name, namespace=env.namespace, vcluster=env.vcluster,
                    url="", head_sha=head_sha, status="failed", phases={}, expires_at="",
                    diagnostics=Diagnostics(summary=summary, pods=(), helm_status=""),
                    kubeconfig_hint="")


class Refused(BadInput):
    """A run the workflow may not act on (a fork, a commenter without write permission).
    The action ends it neutral, with `status=refused`; `preview up` exits 2."""


class ForkRefused(Refused):
    """A pull request from a fork, refused before anything touched the cluster."""


def fork_refusal(number: int, head_repo: str, event_name: str = "") -> ForkRefused:
    """Why a fork's pull request is not deployed, and what a maintainer can do (pure)."""
    if event_name not in pullrequest.WITHOUT_SECRETS:
        return ForkRefused(
            f"pull request #{number} comes from the fork {head_repo} and this run is on the "
            f"{event_name} event, which hands the base repository's secrets to the "
            "fork's chart, values and images: it is never deployed, even with allow-forks",
            "a maintainer can review the change and push its branch to the base "
            "repository, whose pull requests are previewed; keep the preview workflow on "
            "pull_request (docs/action.md, 'Forks and pull_request_target')")
    return ForkRefused(
        f"pull request #{number} comes from the fork {head_repo}: its chart, values and "
        f"images would run with the host cluster's credentials, so it is not deployed",
        "a maintainer can review the change and push its branch to the base repository, "
        "whose pull requests are previewed; or pass --allow-forks (action input "
        "allow-forks: true) after reading docs/action.md")


def pull_request_of(env: Environment, environ: Mapping[str, str]) -> PullRequest:
    """The pull request `down` reports on: the event's when it is this environment's (for the
    last commit and branch shown in the comment), else just its repository and number."""
    payload = pullrequest.read_event(environ)
    if payload is not None:
        pr = pullrequest.from_event(payload, environ)
        if (pr.full_name.lower(), pr.number) == (env.full_name.lower(), env.pr):
            return pr
    return pullrequest.PullRequest(owner=env.owner, repo=env.repo, number=env.pr, head_sha="",
                                   branch="", author="",
                                   run_url=pullrequest.run_url(environ))
