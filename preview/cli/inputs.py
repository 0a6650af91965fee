"""The inputs `up`, `down` and `kubeconfig` share, spelled once: which pull request, the
platform policy, the API mode, the run's lock, the GitHub token — and the objects they
become (the host cluster, where environments are built, the pull request and environment).
"""

from __future__ import annotations

import asyncio
import getpass
import os
import socket
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from preview.cli import reporting
from preview.errors import BadInput, PreviewError

if TYPE_CHECKING:
    from preview.kube.host import HostCluster
    from preview.naming import Environment
    from preview.operations.run import Backend
    from preview.pullrequest import PullRequest

F = TypeVar("F", bound=Callable[..., Any])


def pr_options(fn: F) -> F:
    fn = click.option("--environment", "app", default=None, metavar="NAME",
                      help="One of several environments of the pull request (a monorepo's "
                           "api, web): pr-<n>-NAME, with its own namespace and URL.  "
                           "[default: the pull request's one environment, pr-<n>]")(fn)
    fn = click.option("--pr", "pr_number", default=None,
                      help="Pull request number.  [default: from $GITHUB_EVENT_PATH]")(fn)
    return click.option("--repo", default=None, metavar="OWNER/NAME",
                        help="Repository of the pull request.  [default: from the event]")(fn)


def policy_option(fn: F) -> F:
    return click.option(
        "--policy", "policy_path", type=click.Path(path_type=Path), default=None,
        envvar="PREVIEW_POLICY", show_envvar=True,
        help="The platform policy file: what no pull request may relax (docs/policy.md). "
             "[default: the built-in defaults]")(fn)


def api_options(fn: F) -> F:
    fn = click.option("--audience", envvar="PREVIEW_AUDIENCE", default=None,
                      show_envvar=True,
                      help="The OIDC token's audience the API expects.  [default: the API "
                           "URL]")(fn)
    return click.option(
        "--api", "api_url", envvar="PREVIEW_API_URL", default=None, metavar="URL",
        show_envvar=True,
        help="Run it through the platform's API (`preview serve`), logged in with the "
             "job's GitHub Actions OIDC token, instead of a host kubeconfig "
             "(docs/platform.md).")(fn)


def github_option(fn: F) -> F:
    fn = click.option("--no-deployments", is_flag=True,
                      help="Keep the pull request's comment but create no GitHub deployment "
                           "(no pr-N environment in the repository's settings).")(fn)
    return click.option("--github-token", default=None, metavar="TOKEN",
                        help=reporting.TOKEN_HELP)(fn)


def lock_option(fn: F) -> F:
    return click.option(
        "--no-wait", is_flag=True,
        help="When another run works on this environment, exit at once (exit code 4) "
             "instead of waiting for it to finish.")(fn)


def host_cluster(kubeconfig: Path | None, context: str | None) -> HostCluster:
    """The host cluster of `--kubeconfig`/`--context` (kubectl's defaults without them); a
    $KUBECONFIG naming no file that is there is said as such, not as a missing context
    (exit 1, as for a --kubeconfig that is not there)."""
    from preview.kube.host import HostCluster

    if kubeconfig is None and os.environ.get("KUBECONFIG"):  # --kubeconfig: said by kube/
        paths = [p for p in os.environ["KUBECONFIG"].split(os.pathsep) if p]
        if paths and not any(Path(p).is_file() for p in paths):
            raise PreviewError(f"KUBECONFIG: {os.pathsep.join(paths)} does not exist",
                               "point KUBECONFIG at the host cluster's kubeconfig, or pass "
                               "--kubeconfig PATH")
    return HostCluster.from_kubeconfig(kubeconfig, context)


def holder() -> Any:
    """This process as the holder of an environment's lock (docs/up.md, "One run at a time")."""
    from preview import lease

    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return lease.Holder.of_process(os.environ, user, socket.gethostname(), os.getpid())


def backend(api_url: str | None, audience: str | None, kubeconfig: Path | None,
            context: str | None, no_wait: bool) -> Backend:
    """Where environments are built: the platform's API (`--api`), else the host cluster."""
    if api_url:
        from preview.serve import client

        token = asyncio.run(client.id_token(os.environ, audience or api_url))
        return client.ApiBackend(client.Api(api_url, token))
    from preview.operations.run import HostBackend

    return HostBackend(host_cluster(kubeconfig, context), holder(), no_wait)


def environment(repo: str | None, pr_number: str | None,
                app: str | None = None) -> tuple[PullRequest, Environment]:
    """The pull request named by --repo/--pr, or by the pull_request event, and its
    environment (--environment: one of several of the pull request)."""
    from preview import naming, pullrequest

    pr = pullrequest.of_environment(repo, pr_number, os.environ)
    return pr, bad_input(lambda: naming.environment_for(pr.owner, pr.repo, pr.number,
                                                        app or ""))


T = TypeVar("T")


def bad_input(fn: Callable[[], T]) -> T:
    """Run `fn`; a ValueError (naming.environment_for on a name GitHub could not have) is the
    user's input being wrong (exit 2)."""
    try:
        return fn()
    except ValueError as e:
        raise BadInput(str(e)) from e
