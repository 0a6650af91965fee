"""How the CLI shows things: progress on long waits, tables, JSON and YAML for machines.

Progress goes to stderr, results to stdout, so `-o json` output can be piped. On a
terminal progress lines replace each other; elsewhere (CI logs) each is its own line with
the elapsed time.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import time
from collections.abc import Sequence
from typing import Any, TextIO

import yaml

OUTPUTS = ("table", "json", "yaml")


class ProgressPrinter:
    """A `Progress` callback: `printer("waiting for …")`."""

    def __init__(self, stream: TextIO | None = None, interactive: bool | None = None) -> None:
        self.stream = stream or sys.stderr
        if interactive is None:
            interactive = self.stream.isatty() and not os.environ.get("CI")
        self.interactive = interactive
        self.started = time.monotonic()
        self._open_line = False

    def __call__(self, message: str) -> None:
        elapsed = time.monotonic() - self.started
        if self.interactive:
            self.stream.write(f"\r\033[K{message} ({elapsed:.0f}s)")
            self._open_line = True
        else:
            self.stream.write(f"[{elapsed:5.1f}s] {message}\n")
        self.stream.flush()

    def done(self, message: str = "") -> None:
        if self._open_line:
            self.stream.write("\r\033[K")
            self._open_line = False
        if message:
            self.stream.write(message + "\n")
        self.stream.flush()


def plain(value: Any) -> Any:
    """Dataclasses (and tuples of them) as JSON-ready data."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: plain(v) for k, v in dataclasses.asdict(value).items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def dump(value: Any, output: str) -> str:
    data = plain(value)
    if output == "yaml":
        return str(yaml.safe_dump(data, sort_keys=False)).rstrip("\n")
    return json.dumps(data, indent=2)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Columns aligned like kubectl's: upper-case headers, two spaces between columns."""
    cells = [[str(h).upper() for h in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    return "\n".join("   ".join(cell.ljust(width) for cell, width in zip(row, widths,
                                                                          strict=True)).rstrip()
                     for row in cells)


def age(seconds: int) -> str:
    """kubectl's short age: 45s, 12m, 5h, 3d."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size * (2 if unit != "m" else 1):
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
