"""`preview serve`: the platform's API (docs/platform.md). Runs in the host cluster with its
own ServiceAccount; workflows log in with their GitHub Actions OIDC token."""

from __future__ import annotations

import asyncio
import logging
import signal
import ssl
import tempfile
from pathlib import Path
from typing import Any

import click

from preview.cli.options import examples
from preview.serve.slots import DEFAULT_LIMIT

log = logging.getLogger(__name__)


@click.command("serve", epilog=examples(
    "preview serve --policy /etc/preview/policy.yaml",
    "preview serve --policy policy.yaml --kubeconfig host.kubeconfig --listen 127.0.0.1:8080"))
@click.option("--policy", "policy_path", type=click.Path(path_type=Path), default=None,
              envvar="PREVIEW_POLICY", show_envvar=True,
              help="The platform policy file (docs/policy.md).  [default: the built-in "
                   "defaults]")
@click.option("--issuer-ca", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="A CA bundle to trust for the issuer (besides the system's).")
@click.option("--listen", default="0.0.0.0:8080", show_default=True, metavar="HOST:PORT",
              help="Where to serve HTTP (put TLS in front, or pass --tls-cert/--tls-key).")
@click.option("--wake-listen", default=None, metavar="HOST:PORT",
              help="Also serve the wake page there: what a sleeping environment's URL "
                   "answers (the policy's wakePage names this port as the ingress controller "
                   "reaches it; docs/sleep.md). Plain HTTP, no login: it only wakes "
                   "environments that are asleep.  [default: not served]")
@click.option("--github-token", envvar="GITHUB_TOKEN", default="", show_default=False,
              show_envvar=True,
              help="Token that tells a pull request its environment is ready again when the "
                   "wake page woke it (its comment and deployment status), e.g. a GitHub App "
                   "installation token. Without one the wake page wakes all the same and the "
                   "comment says asleep until the next push.")
@click.option("--tls-cert", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="Serve HTTPS with this certificate (PEM)…")
@click.option("--tls-key", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="…and this key.")
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where uploaded bundles are unpacked, one private directory each.  "
                   "[default: a new temporary directory]")
@click.option("--shutdown-grace", type=click.FloatRange(min=0), default=25.0,
              show_default=True, metavar="SECONDS",
              help="On SIGTERM, how long to let running operations end (keep it under the "
                   "pod's terminationGracePeriodSeconds).")
@click.option("--lease-duration", type=click.IntRange(min=5), default=None,
              metavar="SECONDS",
              help="How long an environment's Lease outlives its holder's last renewal: an API "
                   "process killed mid-create blocks the environment this long, then the next "
                   "create takes over.  [default: 30]")
@click.option("--max-concurrent-creates", type=click.IntRange(min=1), default=DEFAULT_LIMIT,
              show_default=True, envvar="PREVIEW_MAX_CONCURRENT_CREATES", show_envvar=True,
              metavar="N",
              help="How many creates and upgrades are built at once; the others wait in "
                   "order, their progress saying \"queued behind N environments\" (each "
                   "runs helm and a port-forward: size it to the pod's CPU).")
@click.option("--kubeconfig", type=click.Path(path_type=Path), default=None,
              help="Kubeconfig of the host cluster.  [default: $KUBECONFIG, "
                   "~/.kube/config, else the pod's own ServiceAccount (in-cluster), as in "
                   "charts/preview-platform]")
@click.option("--context", default=None, help="Context of that kubeconfig to use.")
def serve_command(policy_path: Path | None, issuer_ca: Path | None, listen: str,
                  wake_listen: str | None, github_token: str,
                  tls_cert: Path | None, tls_key: Path | None,
                  workdir: Path | None, shutdown_grace: float, lease_duration: int | None,
                  max_concurrent_creates: int, kubeconfig: Path | None,
                  context: str | None) -> None:
    """Serve the preview API: create, upgrade, list and delete environments for the
    workflows whose OIDC token the policy allows, streaming `preview up`'s progress.

    Who may log in is the policy's `api:` (issuer, audience, events, workflows) and
    `repositories:` (each naming its owner): docs/platform.md."""
    from aiohttp import web

    from preview import lease, policy
    from preview.errors import BadInput
    from preview.kube.host import HostCluster
    from preview.operations import cost
    from preview.serve import login, wake
    from preview.serve.app import State, make_app

    host_name, port = _address("--listen", listen, "0.0.0.0:8080")
    wake_at = _address("--wake-listen", wake_listen, "0.0.0.0:8081") if wake_listen else None
    if (tls_cert is None) != (tls_key is None):
        raise BadInput("--tls-cert and --tls-key go together", "pass both, or neither")
    # Audit lines are the API's record of who changed what: always written, whatever -v says.
    logging.getLogger("preview.serve.audit").setLevel(logging.INFO)
    rules = policy.load(policy_path)
    issuer, audience = rules.api.issuer, rules.api.audience
    if not audience:
        raise BadInput("the platform policy's api.audience is not set: no token could be "
                       "accepted", "set api.audience (the action's audience input) in the "
                       "policy file (docs/platform.md)")
    for pattern in login.open_patterns(rules):
        click.echo(f"warning: repositories pattern {pattern!r} names no owner: in API mode it "
                   "admits no one (any GitHub repository can get a token)", err=True)
    scratch = tempfile.TemporaryDirectory(prefix="preview-serve-") if workdir is None else None
    root = Path(scratch.name) if scratch else workdir
    assert root is not None
    root.mkdir(parents=True, exist_ok=True)
    root.chmod(0o700)
    host = HostCluster.from_kubeconfig(kubeconfig, context)
    tls = None
    if tls_cert is not None and tls_key is not None:
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(tls_cert, tls_key)

    async def main() -> None:
        verifier = login.OidcVerifier(issuer, audience, ca_file=issuer_ca)
        app = make_app(State(host, rules, verifier, root, shutdown_grace=shutdown_grace,
                             lease_duration=lease_duration or lease.DURATION_SECONDS,
                             max_creates=max_concurrent_creates))
        runner = web.AppRunner(app, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, host_name or "0.0.0.0", port, ssl_context=tls)
        await site.start()
        click.echo(f"preview serve listening on {'https' if tls else 'http'}://{listen} "
                   f"(issuer {issuer}, audience {audience})", err=True)
        waker = wake.Waker(host, lease_duration or lease.DURATION_SECONDS,
                           notify=_notifier(github_token), rates=cost.rates(rules))
        wake_runner = None
        if wake_at is not None:
            wake_runner = web.AppRunner(wake.make_wake_app(waker), handle_signals=False)
            await wake_runner.setup()
            await web.TCPSite(wake_runner, wake_at[0] or "0.0.0.0", wake_at[1]).start()
            click.echo(f"wake page on http://{wake_listen}", err=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await stop.wait()
        click.echo("stopping: waiting for running operations", err=True)
        if wake_runner is not None:
            await wake_runner.cleanup()
            if waker.running:  # a wake half-way leaves the URL on the wake page
                await asyncio.wait(list(waker.running), timeout=shutdown_grace)
        await runner.cleanup()

    try:
        asyncio.run(main())
    finally:
        if scratch is not None:
            scratch.cleanup()


def _address(flag: str, value: str, example: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    if not port.isdigit():
        from preview.errors import BadInput

        raise BadInput(f"{flag} {value!r}: expected HOST:PORT", f"e.g. {flag} {example}")
    return host, int(port)


def _notifier(token: str) -> Any:
    """The wake page's notifier for `--github-token`/GITHUB_TOKEN, or None without one."""
    import os

    from preview.github import GitHubSession
    from preview.operations import sleep_news

    if not token:
        return None
    # One comment per pull request; an API process has no step summary of its own.
    session = GitHubSession.from_env(
        {k: v for k, v in os.environ.items() if k != "GITHUB_STEP_SUMMARY"}, token)
    return sleep_news.notifier(session) if session is not None else None
