"""What the `preview vcluster` commands share: `-n`, the vcluster CLI's flags we refuse with
ours named, and running an operation on the host of --kubeconfig/--context."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from preview.cli.inputs import host_cluster

if TYPE_CHECKING:
    from preview.kube.host import HostCluster

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])


def namespace_option(help_text: str) -> Callable[[F], F]:
    def decorate(fn: F) -> F:
        return click.option("-n", "--namespace", default=None, help=help_text)(fn)
    return decorate


def refuse(equivalent: str,
            origin: str) -> Callable[[click.Context, click.Parameter, Any], Any]:
    """A callback for a vcluster-CLI flag we do not have: name ours instead."""
    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        # `--connect=false` asks for what preview does anyway: accepted.
        if value not in (None, False, "false", "False", "0"):
            flag = param.opts[0] if param.opts else param.name
            raise click.UsageError(f"{flag} is a flag of {origin}; with preview: "
                                   f"{equivalent}", ctx)
        return value
    return callback


def foreign(flag: str, equivalent: str, origin: str = "the vcluster CLI",
             **kwargs: Any) -> Callable[[F], F]:
    return click.option(flag, hidden=True, expose_value=False,
                        callback=refuse(equivalent, origin), **kwargs)


def run(kubeconfig: Path | None, context: str | None,
         operation: Callable[[HostCluster], Coroutine[Any, Any, T]]) -> T:
    """Run `operation` on the host of --kubeconfig/--context: one value for the API client
    and helm, so both talk to the same cluster."""
    return asyncio.run(operation(host_cluster(kubeconfig, context)))
