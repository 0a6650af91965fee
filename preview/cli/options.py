"""Options every command shares, spelled once: `-v`, `-o`, the host kubeconfig and context,
`--timeout` and every duration flag (read as `preview.durations` reads them: `90`, `10m`),
`preview up`'s overrides of preview.yaml (from `preview.config_overrides.OVERRIDES`), and the
examples that end each command's `--help`. Which commands take which: docs/up.md, "Options
every command has" (tests/test_cli_options.py checks it).

`-v` works before or after the subcommand (`preview -v vcluster list` and
`preview vcluster list -v` alike); the counts add up.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from preview import logs

F = TypeVar("F", bound=Callable[..., Any])
_VERBOSITY = "preview.verbosity"
# Libraries whose warnings are ours to explain: pyhelm3 logs "command failed: helm …" at
# WARNING for every failing helm call, including ones we expect (a release that is not
# there); the error we raise already says what matters. Shown with -v.
_QUIET_UNLESS_VERBOSE = ("pyhelm3",)


def verbosity(ctx: click.Context | None = None) -> int:
    """How many -v were given in this invocation, wherever they stood."""
    ctx = ctx or click.get_current_context(silent=True)
    return int(ctx.meta.get(_VERBOSITY, 0)) if ctx else 0


def _verbose(ctx: click.Context, _param: click.Parameter, value: int) -> None:
    # ctx.meta is shared by every context of one invocation; a root group that declares
    # its own `verbose` parameter (instead of this option) is counted once, here.
    if _VERBOSITY not in ctx.meta:
        ctx.meta[_VERBOSITY] = int(ctx.find_root().params.get("verbose") or 0) \
            if ctx.find_root() is not ctx else 0
    ctx.meta[_VERBOSITY] += value or 0
    configure_logging(ctx.meta[_VERBOSITY])


def configure_logging(verbose: int) -> None:
    """WARNING by default, INFO with -v, DEBUG with -vv; library chatter only with -v."""
    logs.configure(logging.WARNING - 10 * min(verbose, 2))
    for name in _QUIET_UNLESS_VERBOSE:
        logging.getLogger(name).setLevel(logging.NOTSET if verbose else logging.ERROR)


def verbose_option(fn: F) -> F:
    """`-v/--verbose` (repeatable), accepted at any level of the command line."""
    return click.option("-v", "--verbose", count=True, expose_value=False, callback=_verbose,
                        help="More log output (repeat for debug).")(fn)


def output_option(*choices: str, default: str) -> Callable[[F], F]:
    """`-o/--output` with the given formats (kubectl's flag)."""
    def decorate(fn: F) -> F:
        return click.option("-o", "--output", type=click.Choice(choices), default=default,
                            show_default=True, help="Output format.")(fn)
    return decorate


def host_options(fn: F) -> F:
    """`--kubeconfig` and `--context` of the host cluster, as kubectl spells them.

    Passes `kubeconfig: Path | None` and `context: str | None`; None means what kubectl
    would use ($KUBECONFIG, merged, then ~/.kube/config; its current context).
    """
    fn = click.option("--context", "--kube-context", "context", default=None,
                      help="Context of that kubeconfig to use.")(fn)
    return click.option(
        "--kubeconfig", type=click.Path(path_type=Path), default=None,
        help="Kubeconfig of the host cluster.  [default: $KUBECONFIG, ~/.kube/config, "
             "else the pod's own ServiceAccount when run in one]")(fn)


def examples(*lines: str) -> str:
    """An epilog of example command lines for `--help`, kept verbatim by click."""
    return "\b\nExamples:\n" + "\n".join(f"  {line}" for line in lines)


def config_options(fn: F) -> F:
    """`preview up`'s overrides of preview.yaml, one option per row of
    `preview.config_overrides.OVERRIDES`; the command receives them as one
    `overrides: ConfigOverrides`."""
    from preview.config_overrides import OVERRIDES, ConfigOverrides

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        given = {row.name: kwargs.pop(row.name) for row in OVERRIDES}
        return fn(*args, overrides=ConfigOverrides(**given), **kwargs)

    command: Any = wrapper
    for row in reversed(OVERRIDES):
        command = click.option(row.flag, row.name, multiple=row.repeatable, default=None,
                               metavar=row.metavar, help=row.help)(command)
    return command


def duration(_ctx: click.Context | None, param: click.Parameter | None,
             value: str | int | None) -> int | None:
    """A duration flag as every command reads it (`90`, `10m`, `1h30m`), in seconds."""
    from preview import durations

    if value is None:
        return None
    try:
        return durations.parse_duration(value)
    except ValueError as e:
        raise click.BadParameter(f"{e} — {durations.HINT}", param=param) from None


def grace(_ctx: click.Context | None, param: click.Parameter | None,
          value: str | int | None) -> int | None:
    """A grace period, read as `duration` reads a duration but `0` (`0s`) allowed: none."""
    from preview import durations

    if value is None:
        return None
    try:
        return durations.parse_duration(value, allow_zero=True)
    except ValueError as e:
        raise click.BadParameter(f"{e} — {durations.HINT}", param=param) from None


def timeout_option(default: str, what: str) -> Callable[[F], F]:
    """`--timeout DURATION` (`300`, `10m`), passed as seconds: how long `what` may take."""
    def decorate(fn: F) -> F:
        return click.option("--timeout", default=default, show_default=True,
                            callback=duration, metavar="DURATION",
                            help=f"How long {what} may take: 300, 10m.")(fn)
    return decorate
