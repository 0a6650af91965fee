"""`preview sandbox` without a subcommand: the demo — the host sandbox, then
`operations.demo` on it — and what it prints."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import click

from preview.results import UpResult

if TYPE_CHECKING:
    from preview.kube.host import HostCluster
    from preview.sandbox.runner import ServerConfig

DEMO_AUDIENCE = "preview-sandbox"  # the audience `--api` tokens carry and the policy names
API_PR = 2  # the pull request the `--api` hints create (the demo's own is #1)


def run_demo(port: int, kubeconfig_path: Path, config: ServerConfig, example: Path,
             api: bool = False) -> None:
    """The sandbox glue of the demo: start the host sandbox, run `operations.demo` on it;
    with `api`, first charts/preview-platform and a local OIDC issuer (`operations.demo.
    platform_api`), and say how to create and delete an environment through the API."""
    import signal

    from preview import render
    from preview.cli.inputs import holder
    from preview.kube.host import HostCluster
    from preview.operations.demo import (
        DEMO_OWNER,
        DEMO_POLICY_VALUES,
        DEMO_PR,
        DEMO_REPO,
        checkout_head,
        demo,
        platform_api,
        platform_values,
    )
    from preview.operations.exclusive import Lock
    from preview.sandbox.oidc import ActionsRuntime, OidcIssuer
    from preview.sandbox.runner import Sandbox

    if not (example / "preview.yaml").is_file():
        raise click.ClickException(f"no preview.yaml in {example}: pass --example DIRECTORY")
    printer = render.ProgressPrinter()
    with Sandbox(config, port=port, kubeconfig_path=kubeconfig_path) as sb:
        path = kubeconfig_path.resolve()
        click.echo(f"Sandbox host cluster serving at {sb.url} (kubeconfig {path})")
        click.echo(f"Running `preview up` for {example} as PR #{DEMO_PR} of "
                   f"{DEMO_OWNER}/{DEMO_REPO}…")
        sys.stdout.flush()
        host = HostCluster.from_kubeconfig(path)

        hints: list[str] = []

        # The wake page, served by the demo itself, and a policy naming it for `preview sleep`.
        policy_path = path.with_name(path.name + ".policy.yaml")

        def announce(result: UpResult) -> None:
            printer.done()
            click.echo(demo_text(result, path, sb.ingress_http_port, hints, policy_path))
            sys.stdout.flush()

        async def main() -> None:
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            async with contextlib.AsyncExitStack() as stack:
                wake_port = await stack.enter_async_context(wake_page(host))
                policy_path.write_text(json.dumps({**DEMO_POLICY_VALUES, "wakePage": {
                    "service": "127.0.0.1", "port": wake_port}}) + "\n")
                if api:
                    issuer = await OidcIssuer(audience=DEMO_AUDIENCE).start()
                    stack.push_async_callback(issuer.stop)
                    runtime = await ActionsRuntime(issuer).start()
                    stack.push_async_callback(runtime.stop)
                    api_url = await stack.enter_async_context(platform_api(
                        host, platform_values(issuer.url, DEMO_AUDIENCE), issuer.ca_pem,
                        printer))
                    hints.extend(api_text(api_url, runtime.url(f"{DEMO_OWNER}/{DEMO_REPO}",
                                                                API_PR), runtime.secret,
                                          example, checkout_head(example)[0]))
                outcome = await demo(host, example, printer, announce, stop,
                                     Lock(holder(), wait=True, timeout=600.0))
            printer.done()
            click.echo(f"Environment {outcome.down.environment} torn down "
                       f"({outcome.down.seconds:.1f}s); stopping the sandbox.")

        asyncio.run(main())


@contextlib.asynccontextmanager
async def wake_page(host: HostCluster) -> AsyncIterator[int]:
    """The wake page (`preview serve --wake-listen`'s) on a free loopback port, for the
    demo's sleeping environment; yields the port."""
    from aiohttp import web

    from preview.serve import wake

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    runner = web.AppRunner(wake.make_wake_app(wake.Waker(host)), handle_signals=False,
                           access_log=None)
    await runner.setup()
    try:
        await web.SockSite(runner, sock).start()
        yield int(sock.getsockname()[1])
    finally:
        await runner.cleanup()
        sock.close()


def api_text(api_url: str, token_url: str, token_secret: str, example: Path,
             sha: str) -> list[str]:
    """How to create and delete an environment through the demo's API (pure): the commands
    the action runs in API mode, with the local issuer's stand-in of the Actions runtime."""
    from preview.operations.demo import DEMO_OWNER, DEMO_REPO, PLATFORM_NAME, PLATFORM_NAMESPACE

    where = f"--api {api_url} --audience {DEMO_AUDIENCE} --repo {DEMO_OWNER}/{DEMO_REPO} " \
            f"--pr {API_PR}"
    return [f"API mode (charts/preview-platform in namespace {PLATFORM_NAMESPACE}; "
            f"`preview serve` port-forwarded to {api_url}):",
            "  # the job's OIDC token, from the local issuer (as a runner's "
            "`permissions: id-token: write`)",
            f"  export ACTIONS_ID_TOKEN_REQUEST_URL='{token_url}'",
            f"  export ACTIONS_ID_TOKEN_REQUEST_TOKEN={token_secret}",
            f"  .venv/bin/preview up {where} --sha {sha} --config {example / 'preview.yaml'}",
            f"  .venv/bin/preview down {where}",
            f"  .tools/bin/kubectl -n {PLATFORM_NAMESPACE} logs deployment/{PLATFORM_NAME}"
            "   # its audit lines",
            ""]


def demo_text(result: UpResult, kubeconfig: Path, ingress_port: int,
              api_hints: list[str] | None = None, policy: Path | None = None) -> str:
    """What the demo prints once `up` finished (pure)."""
    from preview.cli.texts import up_text
    from preview.operations.demo import DEMO_OWNER, DEMO_PR, DEMO_REPO

    host = result.url.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0]
    lines = [up_text(result, f"{DEMO_OWNER}/{DEMO_REPO}"), ""]
    if result.status == "ready":
        lines += ["Open it:",
                  f"  {result.url.rstrip('/')}/",
                  f"  curl {result.url.rstrip('/')}/",
                  f"  curl -H 'Host: {host}' http://127.0.0.1:{ingress_port}/   "
                  "# where *.localhost does not resolve", ""]
    lines += ["kubectl:",
              f"  export KUBECONFIG={kubeconfig}                 # the host cluster",
              "  .tools/bin/kubectl get pods -A",
              f"  .venv/bin/preview kubeconfig --repo {DEMO_OWNER}/{DEMO_REPO} --pr {DEMO_PR} "
              "--tunnel --file pr-1.kubeconfig &",
              "  KUBECONFIG=pr-1.kubeconfig .tools/bin/kubectl get pods   # the virtual cluster",
              "",
              "Sleep (no pod on the host while asleep), then wake it by opening its URL:",
              f"  .venv/bin/preview sleep --repo {DEMO_OWNER}/{DEMO_REPO} --pr {DEMO_PR} "
              f"--kubeconfig {kubeconfig}" + (f" --policy {policy}" if policy else ""),
              f"  .venv/bin/preview list --kubeconfig {kubeconfig}       # status: asleep",
              *([f"  curl -i -H 'Host: {host}' http://127.0.0.1:{ingress_port}/   # 503: "
                 "the wake page, which wakes it;",
                 "  # in a browser the page reloads by itself into the app (about 20 s)",
                 f"  .venv/bin/preview list --kubeconfig {kubeconfig}       # status: ready"]
                if policy else []),
              "  # or by command:",
              f"  .venv/bin/preview wake --repo {DEMO_OWNER}/{DEMO_REPO} --pr {DEMO_PR} "
              f"--kubeconfig {kubeconfig}",
              f"  .venv/bin/preview cost --by repo --kubeconfig {kubeconfig}",
              "", *(api_hints or []),
              "Press Ctrl-C to tear the environment down and stop."]
    return "\n".join(lines)
