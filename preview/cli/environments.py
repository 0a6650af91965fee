"""`preview up | down | list | kubeconfig`: preview environments, one per pull request.

Exit codes: 0 ok; 1 the deploy failed (the environment is left for inspection) or the
cluster refused; 2 bad input (preview.yaml, flags, the PR context, the chart's templates,
a namespace that is not ours), nothing created; 3 a teardown left something behind; 4 another
run works on the environment and --no-wait was given (nothing done).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import click

from preview import render
from preview.cli import options, reporting
from preview.errors import BadInput

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_INCOMPLETE, EXIT_BUSY = 0, 1, 2, 3, 4

UP_EXAMPLES = """
\b
Examples:
  preview up --repo octo-org/app --pr 42 --sha 1a2b3c4 --domain preview.example.com
  preview up --config deploy/preview.yaml --set image.tag=dev -o json
  preview up        # in GitHub Actions: the pull request comes from the event
"""


def host_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    fn = click.option("--context", default=None, help="Context of that kubeconfig to use.")(fn)
    return click.option(
        "--kubeconfig", type=click.Path(path_type=Path), default=None,
        help="Kubeconfig of the host cluster.  [default: $KUBECONFIG, ~/.kube/config, "
                   "else the pod's own ServiceAccount when run in one]")(fn)


def pr_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    fn = click.option("--environment", "app", default=None, metavar="NAME",
                      help="One of several environments of the pull request (a monorepo's "
                           "api, web): pr-<n>-NAME, with its own namespace and URL.  "
                           "[default: the pull request's one environment, pr-<n>]")(fn)
    fn = click.option("--pr", "pr_number", default=None,
                      help="Pull request number.  [default: from $GITHUB_EVENT_PATH]")(fn)
    return click.option("--repo", default=None, metavar="OWNER/NAME",
                        help="Repository of the pull request.  [default: from the event]")(fn)


def policy_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--policy", "policy_path", type=click.Path(path_type=Path), default=None,
        envvar="PREVIEW_POLICY", show_envvar=True,
        help="The platform policy file: what no pull request may relax (docs/policy.md). "
             "[default: the built-in defaults]")(fn)


def api_options(fn: Callable[..., Any]) -> Callable[..., Any]:
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


def _api(api_url: str, audience: str | None) -> Any:
    from preview.serve import client

    token = asyncio.run(client.id_token(os.environ, audience or api_url))
    return client.Api(api_url, token)


def github_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--github-token", default=None, metavar="TOKEN",
                        help=reporting.TOKEN_HELP)(fn)


def lock_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--no-wait", is_flag=True,
        help="When another run works on this environment, exit at once (exit code 4) "
             "instead of waiting for it to finish.")(fn)


def run_lock(no_wait: bool, timeout: float) -> Any:
    """This process as the holder of an environment's lock (docs/up.md, "One run at a time")."""
    import getpass
    import socket

    from preview import lease
    from preview.operations import exclusive

    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    holder = lease.Holder.of_process(os.environ, user, socket.gethostname(), os.getpid())
    return exclusive.Lock(holder, wait=not no_wait, timeout=timeout)


def _yielded(error: Any) -> None:
    """A run that found another one working and was told not to wait: say so, exit 4."""
    click.echo(f"yielded: {error}", err=True)
    sys.exit(EXIT_BUSY)


def _host(kubeconfig: Path | None, context: str | None) -> Any:
    from preview.kube.host import HostCluster

    return HostCluster.from_kubeconfig(kubeconfig, context)


def _bad_input(fn: Callable[[], Any]) -> Any:
    """Run `fn`; a ValueError (naming.environment_for on a name GitHub could not have) is the
    user's input being wrong (exit 2). The config and PR-context layers raise BadInput
    themselves; any other PreviewError keeps its own exit code."""
    try:
        return fn()
    except ValueError as e:
        raise BadInput(str(e)) from e


def _environment(repo: str | None, pr_number: str | None, app: str | None) -> Any:
    """The environment named by --repo/--pr/--environment, or by the pull_request event."""
    from preview import naming, pullrequest

    def build() -> naming.Environment:
        if repo is not None and pr_number is not None:
            owner, name = pullrequest.split_repo(repo)
            return naming.environment_for(owner, name, pullrequest.check_number(pr_number),
                                          app or "")
        payload = pullrequest.read_event(os.environ)
        if payload is None:
            raise BadInput("which pull request? pass --repo OWNER/NAME --pr N",
                           "or run on a pull_request event in GitHub Actions")
        pr = pullrequest.from_event(payload, os.environ)
        owner, name = pullrequest.split_repo(repo) if repo else (pr.owner, pr.repo)
        number = pullrequest.check_number(pr_number) if pr_number else pr.number
        return naming.environment_for(owner, name, number, app or "")

    return _bad_input(build)


@click.command("up", epilog=UP_EXAMPLES)
@click.option("--config", "config_path", type=click.Path(path_type=Path), default=None,
              help="The preview.yaml.  [default: ./preview.yaml when present]")
@options.config_options
@pr_options
@click.option("--sha", default=None, help="Head commit of the pull request.")
@click.option("--branch", default=None, help="Head branch of the pull request.")
@click.option("--author", default=None, help="Author of the pull request.")
@click.option("-o", "--output", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@click.option("--allow-forks", is_flag=True,
              help="Deploy a pull request whose head is in a fork (its code then runs with "
                   "this kubeconfig; see docs/action.md).")
@policy_option
@api_options
@lock_option
@github_option
@host_options
def up_command(config_path: Path | None, overrides: Any, repo: str | None,
               pr_number: str | None, app: str | None, sha: str | None,
               branch: str | None, author: str | None, output: str, allow_forks: bool,
               policy_path: Path | None, api_url: str | None, audience: str | None,
               no_wait: bool, github_token: str | None, kubeconfig: Path | None,
               context: str | None) -> None:
    """Create or upgrade the preview environment of a pull request and check its URL.

    A virtual cluster in a host namespace, the chart installed in it, workloads ready, the
    URL answering. The same commit twice changes nothing; a new one upgrades in place.
    Exit codes: 0 ready, 1 deploy failed (left for inspection), 2 bad input, 4 another
    run works on it (--no-wait).

    One run at a time per environment: a second `up` or `down` waits until the first is
    done (saying which run it waits for), then does its own work on what that run left.

    With a GitHub token (--github-token, $GITHUB_TOKEN) it keeps the pull request's comment
    and deployment up to date (docs/github.md). A fork's pull request is refused before
    anything else unless --allow-forks.
    """
    from preview import config as configuration
    from preview import lease, naming, policy, pullrequest
    from preview.operations import down, up

    flags = pullrequest.PullRequestFlags(repo=repo, pr=pr_number, sha=sha, branch=branch,
                                         author=author)
    pr = _bad_input(lambda: pullrequest.resolve(flags, os.environ))
    env = _bad_input(lambda: naming.environment_for(pr.owner, pr.repo, pr.number, app or ""))
    reporter = reporting.Reporter.create(os.environ, github_token, output)
    event_name = os.environ.get("GITHUB_EVENT_NAME", "")
    if pullrequest.refuses_fork(pr.is_fork, event_name, allow_forks):
        raise reporter.refuse(reporting.fork_refusal(pr.number, pr.head_repo, event_name))
    printer = reporter.progress(output)
    locked: list[bool] = []

    def on_locked() -> None:
        # Only once this run holds the environment: a run that waits or yields must not
        # say "being built" over the comment of the run that works.
        locked.append(True)
        reporter.building(pr, env)

    try:
        rules = policy.load(policy_path)
        budget = configuration.template_budget(rules)
        loaded = _bad_input(lambda: configuration.load(config_path, overrides, budget=budget))
        if api_url:
            from preview.serve import client

            if app:
                raise BadInput("--environment: in API mode the API builds the pull request's "
                               "one environment", "drop --environment (or the action's "
                               "environment input), or deploy in kubeconfig mode")
            refused = [row.flag for row in overrides.given() if row.name != "timeout"]
            if refused or policy_path:
                raise BadInput("--api: the API builds the environment from preview.yaml "
                               "alone, under its own platform policy",
                               f"drop {'/'.join(refused or ['--policy'])}; put them in "
                               "preview.yaml")
            api = _api(api_url, audience)
            on_locked()  # the API serializes runs of one environment with the same Lease
            with reporter.phases(f"preview up {env.name}"):
                result = asyncio.run(client.remote_up(api, pr, loaded, printer))
                printer.done()
        else:
            rendered = _bad_input(lambda: configuration.render(loaded, pr, env, rules))
            host = _host(kubeconfig, context)
            timeouts = rendered.timeouts
            # Another run may need all of its phases: wait as long as ours may take.
            lock = run_lock(no_wait, timeouts.vcluster + timeouts.deploy + timeouts.health)
            with reporter.phases(f"preview up {env.name}") as phase_started:
                result = asyncio.run(up.up(host, pr, rendered, env, printer,
                                           phase_started=phase_started, lock=lock,
                                           on_locked=on_locked))
                printer.done()
    except lease.Busy as e:
        printer.done()
        _yielded(e)
    except Exception as e:
        if locked or isinstance(e, BadInput):
            reporter.error(pr, env, e)  # the comment must not stay "being built"
        raise
    if reporter.closed_meanwhile(pr):
        # Its teardown may have run while this deploy was still going: finish the job.
        click.echo(f"pull request #{pr.number} was closed meanwhile: tearing {env.name} down",
                   err=True)
        with reporter.group(f"preview down: {env.name} (the pull request is closed)"):
            gone = asyncio.run(client.remote_down(api, pr.full_name, pr.number, printer)
                               if api_url else
                               down.down(host, env, printer, lock=run_lock(False, 300.0)))
            printer.done()
        reporter.torn_down(pr, env, gone, "the pull request was closed while it was being "
                                          "deployed; reopening it brings the environment back")
        click.echo(render.dump(gone, "json") if output == "json" else down_text(gone))
        return
    reporter.result(pr, env, result)
    if output == "json":
        click.echo(render.dump(result, "json"))
    else:
        click.echo(up_text(result, pr.full_name))
    if result.status != "ready":
        sys.exit(EXIT_FAILED)


def up_text(result: Any, repo: str) -> str:
    """What `preview up` prints for people (pure)."""
    total = sum(result.phases.values())
    phases = ", ".join(f"{name} {seconds:.1f}s" for name, seconds in result.phases.items())
    if result.status == "ready":
        head = f"environment {result.environment} of {repo} is ready ({total:.1f}s)"
    else:
        head = (f"environment {result.environment} of {repo} FAILED to deploy; it is left in "
                "place for inspection")
    lines = [head,
             f"  url:        {result.url}",
             f"  namespace:  {result.namespace} (virtual cluster {result.vcluster})",
             f"  commit:     {result.head_sha}",
             f"  expires:    {result.expires_at}",
             f"  phases:     {phases}",
             f"  kubectl:    {result.kubeconfig_hint}"]
    if result.waited_for:
        lines.append(f"  waited for: {result.waited_for} (another run of this environment)")
    if result.diagnostics is not None:
        lines += ["", diagnostics_text(result.diagnostics)]
    return "\n".join(lines)


def diagnostics_text(diagnostics: Any) -> str:
    """The failure summary (pure). preview.deploy writes it for people: the failing pods,
    their reasons, events and last log lines, helm's status; the same data is structured in
    `-o json`. Without a summary, the pods are listed here."""
    if diagnostics.summary.strip():
        return str(diagnostics.summary).strip()
    lines = []
    for pod in diagnostics.pods:
        container = f" container {pod.container}" if pod.container else ""
        lines.append(f"pod {pod.pod}{container}: {pod.reason}"
                     + (f" — {pod.message}" if pod.message else ""))
        lines += [f"  event: {event}" for event in pod.events[-5:]]
        lines += [f"  log: {line}" for line in pod.logs[-10:]]
    if diagnostics.helm_status:
        lines.append(f"helm: {diagnostics.helm_status.strip()}")
    return "\n".join(lines)


@click.command("down")
@pr_options
@click.option("--reason", default="", metavar="TEXT",
              help="Why it is removed and how to bring it back, for the pull request's "
                   "comment (the action says it from the event).")
@click.option("--timeout", type=click.IntRange(min=1), default=300, show_default=True,
              help="Seconds to wait for the namespace to be gone.")
@click.option("-o", "--output", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@api_options
@lock_option
@github_option
@host_options
def down_command(repo: str | None, pr_number: str | None, app: str | None, reason: str,
                 timeout: int, output: str,
                 api_url: str | None, audience: str | None, no_wait: bool,
                 github_token: str | None, kubeconfig: Path | None,
                 context: str | None) -> None:
    """Tear down the preview environment of a pull request, and verify it is gone.

    Success also when nothing existed. A namespace of that name without our labels is
    refused (exit 2); something left behind is exit 3. A running `up` of the environment is
    waited for (up to --timeout), or with --no-wait exit 4 and nothing done.

    \b
    Examples:
      preview down --repo octo-org/app --pr 42
      preview down      # in GitHub Actions, on the pull_request `closed` event
    """
    from preview import lease
    from preview.operations import down

    env = _environment(repo, pr_number, app)
    reporter = reporting.Reporter.create(os.environ, github_token, output)
    printer = reporter.progress(output)
    with reporter.group(f"preview down: {env.name} of {env.full_name}"):
        if api_url:
            from preview.serve import client

            if app:
                raise BadInput("--environment: in API mode the pull request has one "
                               "environment", "drop --environment")
            result = asyncio.run(client.remote_down(_api(api_url, audience), env.full_name,
                                                    env.pr, printer))
        else:
            try:
                result = asyncio.run(down.down(_host(kubeconfig, context), env, printer,
                                               timeout, lock=run_lock(no_wait, timeout)))
            except lease.Busy as e:
                printer.done()
                _yielded(e)
        printer.done()
    reporter.torn_down(_bad_input(lambda: reporting.pull_request_of(env, os.environ)), env,
                       result, reason)
    click.echo(render.dump(result, "json") if output == "json" else down_text(result))


def down_text(result: Any) -> str:
    """What `preview down` prints for people (pure)."""
    waited = f"; waited for {result.waited_for} first" if result.waited_for else ""
    if result.existed:
        return (f"environment {result.environment} ({result.namespace}) is gone "
                f"({result.seconds:.1f}s){waited}")
    return f"environment {result.environment} does not exist: nothing to tear down{waited}"


@click.command("list")
@click.option("--repo", default=None, metavar="OWNER/NAME", help="Only this repository's.")
@click.option("-o", "--output", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
@host_options
def list_command(repo: str | None, output: str, kubeconfig: Path | None,
                 context: str | None) -> None:
    """Every preview environment on the host: repo, PR, commit, URL, age, expiry, status."""
    from preview import pullrequest
    from preview.operations import environments

    owner, name = _bad_input(lambda: pullrequest.split_repo(repo)) if repo else (None, None)
    rows = asyncio.run(environments.list_environments(_host(kubeconfig, context), owner, name))
    if output == "json":
        click.echo(render.dump(rows, "json"))
        return
    if not rows:
        click.echo("No preview environments found.", err=True)
        return
    click.echo(render.table(
        ("repo", "pr", "sha", "url", "age", "expires", "status"),
        [(r.repo, r.pr, r.head_sha[:7] or "-", r.url or "-", render.age(r.age_seconds),
          _expires(r.expires_in_seconds),
          f"{r.status}: {r.reason}" if r.reason else r.status) for r in rows]))


def _expires(seconds: int | None) -> str:
    if seconds is None:
        return "-"
    if seconds <= 0:
        return f"{render.age(-seconds)} ago"
    return f"in {render.age(seconds)}"


@click.command("kubeconfig")
@pr_options
@click.option("--output", "output_path", type=click.Path(path_type=Path), default=None,
              help="Write it to this file (mode 0600) instead of printing it.")
@click.option("--server", default=None,
              help="API address to put in it (e.g. the virtual cluster's Ingress or load "
                   "balancer).  [default: the in-cluster Service, or the tunnel's]")
@click.option("--tunnel", is_flag=True,
              help="Keep a port-forward to the virtual API open (Ctrl-C closes it); the "
                   "kubeconfig points at its local end.")
@click.option("--local-port", type=click.IntRange(0, 65535), default=0,
              show_default="a free port", help="Local end of the --tunnel.")
@click.option("--api", "api_url", envvar="PREVIEW_API_URL", default=None, metavar="URL",
              show_envvar=True,
              help="Get it from the platform's API (`preview serve`), logged in with your "
                   "GitHub token: a short-lived token inside the virtual cluster, no host "
                   "access needed (docs/platform.md).")
@click.option("--github-token", default=None, metavar="TOKEN",
              help="With --api: your GitHub token.  [default: $GITHUB_TOKEN, else `gh auth "
                   "token`]")
@host_options
def kubeconfig_command(repo: str | None, pr_number: str | None, app: str | None,
                       output_path: Path | None,
                       server: str | None, tunnel: bool, local_port: int,
                       api_url: str | None, github_token: str | None,
                       kubeconfig: Path | None, context: str | None) -> None:
    """A kubeconfig for the virtual cluster of a pull request's environment, for kubectl.

    Without --tunnel its server is the virtual cluster's in-cluster address (reachable
    from the host cluster's pods) or --server. With --tunnel it points at a port-forward
    through the host API that stays open until Ctrl-C. With --api it comes from the
    platform's API instead: you need no host credential, only a GitHub token of someone
    with the policy's role on the repository (write by default); it expires.

    \b
    Examples:
      preview kubeconfig --repo octo-org/app --pr 42 --tunnel --output pr-42.kubeconfig
      KUBECONFIG=pr-42.kubeconfig kubectl get pods     # in another terminal
      preview kubeconfig --api https://preview.example.com --repo octo-org/app --pr 42 \\
          --output pr-42.kubeconfig
    """
    import yaml

    from preview.operations import kubeconfig as operation

    env = _environment(repo, pr_number, app)
    if api_url:
        from preview.serve import client

        if tunnel or server or kubeconfig or context:
            raise BadInput("--api gives the kubeconfig the platform policy says (its server "
                           "and credential)", "drop --tunnel/--server/--kubeconfig/--context, "
                           "or drop --api")
        token = developer_token(github_token, os.environ)
        answer = asyncio.run(client.Api(api_url, token).kubeconfig(env.full_name, env.pr))
        text = yaml.safe_dump(answer["kubeconfig"])
        note = (f"{answer.get('login')} as {answer.get('serviceAccount')} "
                f"({answer.get('clusterRole')}) until {answer.get('expiresAt')}")
        if output_path is None:
            click.echo(text.rstrip())
        else:
            write_private(output_path, text.encode())
            click.echo(f"wrote {output_path}", err=True)
        click.echo(f"kubeconfig for {env.full_name} PR {env.pr}: {note}", err=True)
        return
    host = _host(kubeconfig, context)
    if tunnel:
        path = output_path or Path(f"{env.name}.kubeconfig")

        async def hold() -> None:
            # Our own handlers: a shell starts a background job with SIGINT ignored, and
            # Python then never raises KeyboardInterrupt; SIGTERM is how tools stop us.
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(signum, stop.set)
            async with operation.tunnel(host, env, path, local_port) as written:
                click.echo(f"kubeconfig for {env.full_name} PR {env.pr}: {written}", err=True)
                click.echo(f"  export KUBECONFIG={written.resolve()}", err=True)
                click.echo("  (Ctrl-C closes the tunnel)", err=True)
                await stop.wait()
            click.echo("tunnel closed", err=True)

        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(hold())
        return
    document = asyncio.run(operation.environment_kubeconfig(host, env, server))
    text = yaml.safe_dump(document)
    if output_path is None:
        click.echo(text.rstrip())
        return
    write_private(output_path, text.encode())
    click.echo(f"wrote {output_path}", err=True)


def developer_token(given: str | None, environ: Mapping[str, str]) -> str:
    """The developer's GitHub token: --github-token, $GITHUB_TOKEN, else `gh auth token`."""
    token = given or environ.get("GITHUB_TOKEN", "")
    if not token and shutil.which("gh"):
        answer = subprocess.run(["gh", "auth", "token"], capture_output=True, text=True,
                                check=False, timeout=30)
        token = answer.stdout.strip() if answer.returncode == 0 else ""
    if not token:
        raise BadInput("--api needs your GitHub token to log in",
                       "pass --github-token, set GITHUB_TOKEN, or run `gh auth login`")
    return token


def write_private(path: Path, data: bytes) -> None:
    """Write credentials readable by the owner only (never briefly world-readable)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as file:
        file.write(data)
    path.chmod(0o600)  # an existing file keeps its old mode through os.open


COMMANDS = (up_command, down_command, list_command, kubeconfig_command)
