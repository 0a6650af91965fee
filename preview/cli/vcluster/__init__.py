"""`preview vcluster …`: create, connect to, list and delete virtual clusters on a host.

One module per command (`create` with `convert`, `connect`, `manage`: list and delete); what
they share in `common`.
"""

from __future__ import annotations

import click

from preview.cli.options import examples, verbose_option
from preview.cli.vcluster.connect import connect_command
from preview.cli.vcluster.create import convert_command, create_command
from preview.cli.vcluster.manage import delete_command, list_command


class _Group(click.Group):
    """The `vcluster` group, with kubectl's and vcluster's short aliases (`ls`)."""

    aliases = {"ls": "list"}

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return super().get_command(ctx, self.aliases.get(cmd_name, cmd_name))


@click.group("vcluster", cls=_Group, epilog=examples(
    "preview vcluster create team-a",
    "preview vcluster connect team-a -- kubectl get ns",
    "preview vcluster ls",
    "preview vcluster delete team-a"))
@verbose_option
def vcluster() -> None:
    """Virtual clusters in a host cluster: one namespace each, a kubeconfig to use them.

    The host cluster comes from --kubeconfig / --context, or KUBECONFIG, as kubectl does.
    """


for _command in (create_command, convert_command, connect_command, list_command,
                 delete_command):
    vcluster.add_command(_command)
