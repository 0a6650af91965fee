"""The reporter of `preview up` and `preview down` in a workflow or with a token: the
pull request's comment and deployment and the step outputs, through `GitHubSession`
(`preview.operations.reporter.Reporter` says when each is told), plus the CLI's own
presentation of a run in the Actions log (progress lines, `::group::` sections).

A session exists when there is a token (`--github-token` or `GITHUB_TOKEN`) or when running in
GitHub Actions (for the step outputs and annotations even without a token). GitHub's
failures are the session's warnings: they never fail an environment that deployed.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from preview.errors import BadInput
from preview.operations.run import ForkRefused, Refused, fork_refusal
from preview.pullrequest import PullRequest
from preview.render import ProgressPrinter
from preview.results import DownResult, UpResult

if TYPE_CHECKING:
    from preview.github import GitHubSession
    from preview.github.actions import Actions
    from preview.naming import Environment

__all__ = ["TOKEN_HELP", "ForkRefused", "Refused", "Reporter", "fork_refusal"]
TOKEN_HELP = ("Token for the PR comment and deployment.  [default: $GITHUB_TOKEN; none: no "
              "GitHub reporting]")


@dataclass
class Reporter:
    """The GitHub side of one `up` or `down` run: the pull request's comment and deployment
    (`session`) and the workflow commands of the step (`actions`: outputs, annotations,
    groups). Every method is a no-op without them."""

    session: GitHubSession | None
    actions: Actions | None = None

    @classmethod
    def create(cls, environ: Mapping[str, str], token: str | None, output: str, *,
               deployments: bool = True) -> Reporter:
        """A reporter for this run. Workflow commands go to stdout, except with `-o json`,
        whose stdout is the result alone. `deployments=False`: the comment without GitHub
        deployments (`--no-deployments`)."""
        in_actions = environ.get("GITHUB_ACTIONS") == "true"
        if not (token or environ.get("GITHUB_TOKEN") or in_actions):
            return cls(None)
        from preview.github import GitHubSession
        from preview.github.actions import Actions

        out = sys.stdout if output == "text" else sys.stderr
        # Without a token the session prints the comment to `out`; the CLI prints its own
        # summary, so only Actions (outputs, annotations) needs such a session.
        return cls(GitHubSession.from_env(environ, token, out=out, deployments=deployments),
                   Actions.from_env(environ, out))

    @property
    def in_actions(self) -> bool:
        return self.actions is not None and self.actions.enabled

    def progress(self, output: str) -> ProgressPrinter:
        """The progress printer: in Actions on stdout (text output), inside the `::group::`
        sections it folds; elsewhere on stderr."""
        return ProgressPrinter(sys.stdout if self.in_actions and output == "text" else None)

    @contextlib.contextmanager
    def group(self, title: str) -> Iterator[None]:
        """A folded `::group::` in the Actions log around a long phase."""
        if self.actions is None:
            yield
            return
        with self.actions.group(title):
            yield

    @contextlib.contextmanager
    def phases(self, title: str) -> Iterator[Callable[[str], None]]:
        """A `phase_started` callback for `up`: each phase gets a `::group::` of its own
        (groups do not nest in the Actions log, so one ends where the next begins)."""
        actions = self.actions
        if actions is None or not actions.enabled:
            yield lambda name: None
            return
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

    def torn_down(self, pr: PullRequest, env: Environment, result: DownResult,
                  reason: str = "") -> None:
        """The comment says "removed", deployments inactive. When there was nothing to tear
        down (a pull request that never had a preview), only the step outputs: a "removed"
        comment on it would only puzzle its author."""
        if self.session is not None and result.existed:
            self.session.report_torn_down(pr, env, result, reason)
        elif self.actions is not None:
            self.actions.set_outputs({"namespace": env.namespace, "vcluster": env.vcluster,
                                      "status": "torn-down"})

    def closed(self, pr: PullRequest) -> bool:
        """Whether GitHub says the pull request is closed now (False when it cannot tell)."""
        return self.session is not None and self.session.pull_request_state(pr) == "closed"

    def refuse_neutral(self, error: BadInput, pr: PullRequest | None,
                       env: Environment | None) -> None:
        """A run the workflow may not act on (a fork, a commenter without write permission):
        not a failure of the check. A notice, `status=refused`, and the comment on the pull
        request saying why and what a maintainer can do (when there is one to write)."""
        if self.session is None or self.actions is None:
            return
        self.actions.notice(f"{error.message}; {error.hint}" if error.hint else
                            error.message, title="preview-vcluster refused this run")
        self.actions.set_outputs({"status": "refused"})
        if pr is not None and env is not None:
            self.session.report_refused(pr, env, error.message, error.hint or "")

    def misconfigured(self, pr: PullRequest | None, env: Environment | None) -> None:
        """The platform's inputs are wrong (the error annotation says what): the comment says
        only that, to a pull request author who can do nothing about it; `status=failed`."""
        if self.actions is not None:
            self.actions.set_outputs({"status": "failed"})
        if self.session is not None and pr is not None and env is not None:
            self.session.report_misconfigured(pr, env)

    def refused(self, error: BadInput) -> None:
        """A run refused before touching the cluster: an error annotation (a comment may be
        impossible: a fork's token is read-only) and `status=refused`."""
        if self.actions is not None:
            self.actions.error(str(error), title="preview-vcluster refused this run")
            self.actions.set_outputs({"status": "refused"})
