"""The `preview` command line: parses flags, calls one operation, renders its result.

One module per command (`up`, `down`, `listing`, `kubeconfig`, `gc`, `action`, `serve`) or
command group (`sandbox`, `syncer`, `vcluster`); the options they share in `options` and
`inputs`, what they print in `texts`. Exit codes: 0 ok, 1 failed (a deploy, the cluster),
2 bad input, 3 a teardown left something behind, 4 another run works on the environment.
"""

from __future__ import annotations

import logging
import sys

import click

from preview import __version__, logs
from preview.cli.action import action_command
from preview.cli.cost import cost_command
from preview.cli.down import down_command
from preview.cli.gc import gc_command
from preview.cli.kubeconfig import kubeconfig_command
from preview.cli.listing import list_command
from preview.cli.sandbox import sandbox
from preview.cli.serve import serve_command
from preview.cli.sleep import sleep_command, wake_command
from preview.cli.syncer import syncer_command
from preview.cli.up import up_command
from preview.cli.vcluster import vcluster
from preview.errors import PreviewError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="preview")
@click.option("-v", "--verbose", count=True, help="More log output (repeat for debug).")
def main(verbose: int) -> None:
    """Ephemeral preview environments: one virtual Kubernetes cluster per pull request."""
    logs.configure(logging.WARNING - 10 * min(verbose, 2))


main.add_command(action_command)
main.add_command(cost_command)
main.add_command(gc_command)
main.add_command(sandbox)
main.add_command(serve_command)
main.add_command(sleep_command)
main.add_command(wake_command)
main.add_command(syncer_command)
main.add_command(vcluster)
for _command in (up_command, down_command, list_command, kubeconfig_command):
    main.add_command(_command)


def run() -> None:
    """Console entry point: a PreviewError becomes one clear line and its exit code (1; 2 for
    bad input; 3 for an incomplete teardown); API failures are PreviewErrors too."""
    import aiohttp

    try:
        main(standalone_mode=True)
    except PreviewError as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(e.exit_code)
    except aiohttp.ClientConnectionError as e:
        click.echo(f"error: cannot reach the Kubernetes API server: {e}\n"
                   "hint: check the kubeconfig's server address and that the cluster is up",
                   err=True)
        sys.exit(1)

