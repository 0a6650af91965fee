"""What `preview up` and `preview down` call to tell GitHub (or the terminal) how it went.

A GitHub failure never fails or undoes an environment: every `report_*` method catches it,
emits a `::warning::` (in Actions), logs it and returns it in the list of warnings.
"""

from __future__ import annotations

import datetime as dt
import logging
import sys
from collections.abc import Callable, Mapping
from typing import Any, TextIO

from preview.github import client
from preview.github.actions import Actions
from preview.github.comments import StickyComment, marker
from preview.github.deployments import Deployments
from preview.github.render import COMMENT_LIMIT, CommentInput, length, render_comment
from preview.naming import EnvironmentLike, PullRequestLike
from preview.results import DownResult, UpResult

log = logging.getLogger(__name__)
Section = Callable[[int], str]  # an environment's section of the comment, in at most N chars


class GitHubSession:
    """Reports the life of one environment: the sticky comment, the deployment, Actions output.

    Without a token it renders the same comment to `out` (a terminal) and touches no API.
    """

    def __init__(self, gh: client.GitHub | None, actions: Actions, out: TextIO | None,
                 author: str | None = None, deployments: bool = True) -> None:
        self.gh = gh
        self.deployments = deployments  # False: the comment only, no GitHub deployment
        self.actions = actions
        self.out = out
        self._author = author
        self._deployment: dict[str, Any] | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str], token: str | None = None, *,
                 out: TextIO | None = None, policy: client.RetryPolicy | None = None,
                 author: str | None = None, pace_writes: bool = True,
                 deployments: bool = True) -> GitHubSession | None:
        """A session from `--github-token` (`token`) or `GITHUB_TOKEN`, at `GITHUB_API_URL`.

        Without a token: a console session printing to `out`, or None when `out` is None too.
        `author` overrides the login our comments are recognised by (e.g. `my-app[bot]` for an
        app installation token, where `GET /user` is forbidden); by default it is `GET /user`'s
        login, or `github-actions[bot]` when that answers 403. `deployments=False` keeps the
        comment and creates, updates and deactivates no GitHub deployment.
        """
        token = token or environ.get("GITHUB_TOKEN", "")
        # Workflow commands (masks first of all) must reach the step's stdout even when the
        # caller gives no terminal for the console fallback.
        actions = Actions.from_env(environ, out if out is not None else sys.stdout)
        if not token:
            return cls(None, actions, out) if out is not None else None
        actions.mask(token)  # a no-op outside Actions
        gh = client.GitHub.from_env(token, environ, policy=policy, pace_writes=pace_writes)
        return cls(gh, actions, out, author, deployments)

    # -- the three reports -----------------------------------------------------------------

    def report_building(self, pr: PullRequestLike, env: EnvironmentLike) -> list[str]:
        """The environment is being built: comment "building", deployment `in_progress`."""
        return self._safely(lambda: self._building(pr, env))

    def report_result(self, pr: PullRequestLike, env: EnvironmentLike, result: UpResult,
                      kubeconfig: str | None = None) -> list[str]:
        """`up` finished: comment ready/failed, deployment success/failure, outputs, summary.

        The `kubeconfig` step output is the command that prints a kubeconfig
        (`result.kubeconfig_hint`) unless the caller passes another value; a multi-line value
        is kubeconfig content, a credential, and is masked line by line first.
        """
        return self._safely(lambda: self._result(pr, env, result, kubeconfig))

    def report_torn_down(self, pr: PullRequestLike, env: EnvironmentLike,
                         result: DownResult | None = None, reason: str = "") -> list[str]:
        """`down` finished: comment "removed" (and why, and how to bring it back, when
        `reason` says), every deployment of the environment inactive."""
        return self._safely(lambda: self._torn_down(pr, env, result, reason))

    def report_asleep(self, pr: PullRequestLike, env: EnvironmentLike, *, url: str,
                      since: str, wake_command: str, cost: str = "",
                      url_wakes: bool = False) -> list[str]:
        """`sleep` finished: comment "asleep" (since when, how to wake it — by its URL too
        when `url_wakes` — the cost so far), and the deployment's status says so (see
        `Deployments.say`)."""
        return self._safely(lambda: self._slept(pr, env, url, since, wake_command, cost,
                                                url_wakes))

    def report_awake(self, pr: PullRequestLike, env: EnvironmentLike, result: UpResult,
                     cost: str = "") -> list[str]:
        """`wake` finished: comment "ready" again, the deployment `success` again."""
        return self._safely(lambda: self._woken(pr, env, result, cost))

    def report_refused(self, pr: PullRequestLike, env: EnvironmentLike, why: str,
                       hint: str) -> list[str]:
        """A pull request refused before anything was created (a fork): the comment says why
        and what a maintainer can do. A fork's `pull_request` run has a read-only token, so
        a 403 is expected there: said in the log, not warned about."""
        body = self._render(CommentInput("", "refused", pr, env, refusal=(why, hint)))
        if self.gh is None:
            return self._comment(pr, env, body)
        try:
            self._upsert(pr, env, body)
        except client.Forbidden as e:
            log.info("no comment on #%s: the token may not write (%s)", pr.number, e)
        except Exception as e:  # by contract nothing here may fail the run
            return [self._warn("comment", e)]
        return []

    def report_misconfigured(self, pr: PullRequestLike, env: EnvironmentLike) -> list[str]:
        """The platform's configuration is wrong: the comment says so, and where to look."""
        return self._safely(lambda: self._comment(
            pr, env, self._render(CommentInput("", "misconfigured", pr, env))))

    def pull_request_state(self, pr: PullRequestLike) -> str | None:
        """The pull request's state on GitHub now (`open` or `closed`): `up` asks after a
        deploy, as the PR may have been closed meanwhile. None without a token, or when GitHub
        fails (a warning)."""
        if self.gh is None:
            return None
        try:
            return str(self.gh.get(f"/repos/{_full_name(pr)}/pulls/{pr.number}")["state"])
        except Exception as e:  # by contract nothing here may fail `up`/`down`
            self._warn("pull request state", e)
            return None

    # -- internals -------------------------------------------------------------------------

    def _building(self, pr: PullRequestLike, env: EnvironmentLike) -> list[str]:
        body = self._body("building", pr, env, None)
        warnings = self._comment(pr, env, body)
        warnings += self._guard("deployment", lambda: self._start_deployment(pr, env))
        return warnings

    def _result(self, pr: PullRequestLike, env: EnvironmentLike, result: UpResult,
                kubeconfig: str | None) -> list[str]:
        if kubeconfig is None:
            kubeconfig = result.kubeconfig_hint
        state = "ready" if result.status == "ready" else "failed"
        body = self._body(state, pr, env, result)
        warnings = self._comment(pr, env, body)
        warnings += self._guard("deployment", lambda: self._finish_deployment(pr, env, result))
        if state == "failed":
            summary = result.diagnostics.sentence if result.diagnostics else "deploy failed"
            self.actions.error(summary, title=f"Preview environment {env.name} failed")
        if "\n" in kubeconfig:
            self.actions.mask(kubeconfig)
        warnings += self._guard("step outputs", lambda: self.actions.set_outputs({
            "url": result.url, "namespace": result.namespace, "vcluster": result.vcluster,
            "kubeconfig": kubeconfig, "status": result.status}))
        warnings += self._guard("step summary",
                                lambda: self.actions.write_summary(body(COMMENT_LIMIT)))
        return warnings

    def _torn_down(self, pr: PullRequestLike, env: EnvironmentLike,
                   result: DownResult | None, reason: str) -> list[str]:
        body = self._render(CommentInput(
            "", "torn_down", pr, env,
            removed_in=result.seconds if result is not None and result.existed else None,
            removed_because=reason))
        warnings = self._comment(pr, env, body)
        if self.gh is not None and self.deployments:
            warnings += self._guard("deployment", lambda: self._deployments(pr).deactivate_all(
                env.name))
        warnings += self._guard("step outputs", lambda: self.actions.set_outputs({
            "namespace": env.namespace, "vcluster": env.vcluster, "status": "torn-down"}))
        warnings += self._guard("step summary",
                                lambda: self.actions.write_summary(body(COMMENT_LIMIT)))
        return warnings

    def _slept(self, pr: PullRequestLike, env: EnvironmentLike, url: str, since: str,
               wake_command: str, cost: str, url_wakes: bool) -> list[str]:
        body = self._render(CommentInput("", "asleep", pr, env, url=url, asleep_since=since,
                                         wake_command=wake_command, cost=cost,
                                         url_wakes=url_wakes))
        warnings = self._comment(pr, env, body)
        if self.gh is not None and self.deployments:
            warnings += self._guard("deployment", lambda: self._deployments(pr).say(
                pr.head_sha, env.name, f"asleep since {since}: "
                + ("opening the URL, " if url_wakes else "")
                + f"a push or `{wake_command}` wakes it", url))
        return warnings

    def _woken(self, pr: PullRequestLike, env: EnvironmentLike, result: UpResult,
               cost: str) -> list[str]:
        body = self._render(CommentInput("", "ready", pr, env, result, cost=cost,
                                         now=dt.datetime.now(dt.UTC)))
        warnings = self._comment(pr, env, body)
        if self.gh is not None and self.deployments:
            warnings += self._guard("deployment", lambda: self._deployments(pr).say(
                pr.head_sha, env.name, "preview environment ready (woken up)", result.url))
        return warnings

    def _body(self, state: str, pr: PullRequestLike, env: EnvironmentLike,
              result: UpResult | None) -> Section:
        return self._render(CommentInput("", state, pr, env, result,
                                         now=dt.datetime.now(dt.UTC)))

    @staticmethod
    def _render(data: CommentInput) -> Section:
        """The environment's section, fitted to the room the comment leaves it. Rendered
        once here, so a template that cannot render fails the report as one warning."""
        whole = render_comment(data, COMMENT_LIMIT)
        return lambda limit: whole if length(whole) <= limit else render_comment(data, limit)

    def _comment(self, pr: PullRequestLike, env: EnvironmentLike, body: Section) -> list[str]:
        if self.gh is None:
            if self.out is not None:
                self.out.write(body(COMMENT_LIMIT))
                self.out.flush()
            return []
        return self._guard("comment", lambda: self._upsert(pr, env, body))

    def _upsert(self, pr: PullRequestLike, env: EnvironmentLike, body: Section) -> int:
        assert self.gh is not None
        return StickyComment(self.gh, _full_name(pr), pr.number,
                             marker(_full_name(pr), pr.number), self._login()
                             ).upsert(env.name, body)

    def _login(self) -> str:
        if self._author is None:
            assert self.gh is not None
            self._author = self.gh.login()
        return self._author

    def _deployments(self, pr: PullRequestLike) -> Deployments:
        assert self.gh is not None
        return Deployments(self.gh, _full_name(pr))

    def _start_deployment(self, pr: PullRequestLike, env: EnvironmentLike) -> None:
        if self.gh is None or not self.deployments:
            return
        deployments = self._deployments(pr)
        self._deployment = deployments.start(pr.head_sha, env.name,
                                             f"preview of #{pr.number} at {pr.head_sha[:7]}")
        deployments.set_status(self._deployment, "in_progress", log_url=pr.run_url,
                               description="building the preview environment")

    def _finish_deployment(self, pr: PullRequestLike, env: EnvironmentLike,
                           result: UpResult) -> None:
        if self.gh is None or not self.deployments:
            return
        deployments = self._deployments(pr)
        deployment = self._deployment or deployments.start(
            pr.head_sha, env.name, f"preview of #{pr.number} at {pr.head_sha[:7]}")
        if result.status == "ready":
            deployments.set_status(deployment, "success", environment_url=result.url,
                                   log_url=pr.run_url, description="preview environment ready")
            deployments.supersede(env.name, int(deployment["id"]))
        else:
            summary = result.diagnostics.sentence if result.diagnostics else "deploy failed"
            deployments.set_status(deployment, "failure", log_url=pr.run_url,
                                   description=summary)

    def _safely(self, report: Callable[[], list[str]]) -> list[str]:
        """Run one report; its own failures (rendering, say) become a warning too."""
        try:
            return report()
        except Exception as e:  # by contract nothing here may fail `up`/`down`
            return [self._warn("report", e)]

    def _guard(self, what: str, effect: Callable[[], object]) -> list[str]:
        """Run one GitHub side effect; a failure becomes a warning, never an exception."""
        try:
            effect()
        except Exception as e:  # by contract nothing here may fail `up`/`down`
            return [self._warn(what, e)]
        return []

    def _warn(self, what: str, error: Exception) -> str:
        message = f"could not update the GitHub {what}: {error}"
        log.warning("%s", message, exc_info=log.isEnabledFor(logging.DEBUG))
        self.actions.warning(message, title="preview-vcluster")
        return message

def _full_name(pr: PullRequestLike) -> str:
    return f"{pr.owner}/{pr.repo}"

