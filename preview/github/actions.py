"""GitHub Actions plumbing: step outputs, the step summary, log groups, annotations, masks.

Workflow commands are lines on stdout (`::name key=value::data`); the runner un-escapes `%25`,
`%0D`, `%0A` in data and additionally `%3A`, `%2C` in property values ("Workflow commands for
GitHub Actions"). Outputs go to the file in `$GITHUB_OUTPUT` in the multiline
`name<<DELIMITER` form with a random delimiter, so no value can end the block early and inject
another output. The writer stream is passed in: services never print on their own.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

_OUTPUT_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def escape_data(value: str) -> str:
    """Escape a workflow command's message."""
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(value: str) -> str:
    """Escape a workflow command's property value (`title=`, `file=`)."""
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")


def command(name: str, message: str, **properties: str) -> str:
    """One workflow command line, e.g. `::error title=Deploy failed::pod app-1 …`."""
    props = ",".join(f"{k}={escape_property(v)}" for k, v in properties.items() if v)
    return f"::{name}{' ' + props if props else ''}::{escape_data(message)}"


def mask_lines(secret: str) -> list[str]:
    """`::add-mask::` commands for every line of a secret (a multi-line value masks nothing
    unless each line is registered)."""
    return [f"::add-mask::{escape_data(line.strip())}" for line in secret.splitlines()
            if line.strip()]


def output_block(name: str, value: str, delimiter: str | None = None) -> str:
    """One `$GITHUB_OUTPUT` entry in `name<<DELIM` form."""
    if not _OUTPUT_NAME.match(name):
        raise ValueError(f"invalid output name {name!r}")
    delimiter = delimiter or f"ghadelimiter_{secrets.token_hex(16)}"
    if delimiter in value or delimiter in name:
        raise ValueError("output delimiter occurs in the value")
    return f"{name}<<{delimiter}\n{value}\n{delimiter}\n"


@dataclass(frozen=True)
class Actions:
    """The runner's channels for one step; `None` paths outside Actions.

    Commands are written to `out` (the step's stdout); nothing is written when not running in
    Actions, except through the explicit file paths given.
    """

    out: TextIO
    enabled: bool
    output_path: Path | None = None
    summary_path: Path | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str], out: TextIO) -> Actions:
        def path(key: str) -> Path | None:
            value = environ.get(key, "")
            return Path(value) if value else None
        return cls(out=out, enabled=environ.get("GITHUB_ACTIONS") == "true",
                   output_path=path("GITHUB_OUTPUT"), summary_path=path("GITHUB_STEP_SUMMARY"))

    def _emit(self, line: str) -> None:
        if self.enabled:
            self.out.write(line + "\n")
            self.out.flush()

    def mask(self, secret: str) -> None:
        """Hide every line of `secret` in the rest of the job's log. Call before any use."""
        for line in mask_lines(secret):
            self._emit(line)

    def error(self, message: str, title: str = "") -> None:
        self._emit(command("error", message, title=title))

    def warning(self, message: str, title: str = "") -> None:
        self._emit(command("warning", message, title=title))

    def notice(self, message: str, title: str = "") -> None:
        self._emit(command("notice", message, title=title))

    @contextmanager
    def group(self, title: str) -> Iterator[None]:
        """Fold a long phase's log lines under one title."""
        self._emit(command("group", title))
        try:
            yield
        finally:
            self._emit("::endgroup::")

    def set_outputs(self, values: Mapping[str, str]) -> None:
        """Append step outputs to `$GITHUB_OUTPUT` (no-op outside Actions)."""
        if self.output_path is None:
            return
        with self.output_path.open("a", encoding="utf-8") as f:
            for name, value in values.items():
                f.write(output_block(name, value))

    def write_summary(self, markdown: str) -> None:
        """Append to `$GITHUB_STEP_SUMMARY` (no-op outside Actions)."""
        if self.summary_path is None:
            return
        with self.summary_path.open("a", encoding="utf-8") as f:
            f.write(markdown.rstrip("\n") + "\n")
