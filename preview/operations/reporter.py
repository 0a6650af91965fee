"""Who hears the story of `up` and `down`: the pull request's comment and deployment, the
workflow's step outputs — or nobody (`SILENT`). The operations tell it; the CLI picks it.

The operations stay free of GitHub: they call these methods at the right moments (building
once the environment's lock is held, the result whatever happened, torn down, refused) and
ask `closed` after a deploy, so a pull request closed meanwhile is torn down by the same run.
An implementation never raises for GitHub's failures: a comment that could not be written
must not fail an environment that deployed.
"""

from __future__ import annotations

from typing import Protocol

from preview.errors import BadInput
from preview.naming import Environment
from preview.pullrequest import PullRequest
from preview.results import DownResult, UpResult


class Reporter(Protocol):
    def building(self, pr: PullRequest, env: Environment) -> None:
        """The environment is being built (this run holds its lock)."""

    def result(self, pr: PullRequest, env: Environment, result: UpResult) -> None:
        """`up` ended: ready, or failed with its diagnostics."""

    def torn_down(self, pr: PullRequest, env: Environment, result: DownResult,
                  reason: str = "") -> None:
        """`down` ended: gone, or nothing was there (`reason`: why, and how to bring it
        back)."""

    def refused(self, error: BadInput) -> None:
        """The run was refused before anything touched the cluster."""

    def closed(self, pr: PullRequest) -> bool:
        """Whether the pull request is closed now (False when nobody can tell)."""


class _Silent:
    """Nobody to tell (no token, not in GitHub Actions)."""

    def building(self, pr: PullRequest, env: Environment) -> None:
        return None

    def result(self, pr: PullRequest, env: Environment, result: UpResult) -> None:
        return None

    def torn_down(self, pr: PullRequest, env: Environment, result: DownResult,
                  reason: str = "") -> None:
        return None

    def refused(self, error: BadInput) -> None:
        return None

    def closed(self, pr: PullRequest) -> bool:
        return False


SILENT: Reporter = _Silent()
