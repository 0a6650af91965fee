"""The `preview.yaml` fields a workflow may override, spelled once: field → flag → action input.

`OVERRIDES` is the one table. `preview up`'s options are made from it
(`preview.cli.options.config_options`), the action's planner turns its inputs into those flags
from it (`preview.cli.action.plan`), and tests check action.yml and docs/config.md against it.
Adding an overridable field is one row here, its attribute of `ConfigOverrides`, and its use
in `preview.config.load`.

Flags come from the workflow and are trusted (paths given as flags may be anywhere); they win
over the file, field by field.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Override:
    """One overridable field: its name in `ConfigOverrides`, in preview.yaml, as a flag of
    `preview up` and as an input of the action."""

    name: str  # attribute of ConfigOverrides
    field: str  # the field of preview.yaml, as docs/config.md names it
    flag: str  # preview up's option
    input: str  # the action's input
    help: str
    metavar: str = "TEXT"
    repeatable: bool = False  # a flag given once per item; an input with one item per line


OVERRIDES: tuple[Override, ...] = (
    Override("chart", "chart", "--chart", "chart",
             "Chart directory or oci:// reference (replaces preview.yaml's chart).",
             "PATH|oci://REF"),
    Override("chart_version", "chart.version", "--chart-version", "chart-version",
             "Version of a repo or oci chart (with --chart oci://…, or the file's chart).",
             "VERSION"),
    Override("values_files", "valuesFiles", "--values", "values",
             "Values file for the chart. Repeatable; after preview.yaml's.", "FILE",
             repeatable=True),
    Override("set_values", "set", "--set", "set",
             "Set one chart value (templated). Repeatable; wins over files.", "KEY=VALUE",
             repeatable=True),
    Override("release", "release", "--release", "release",
             "Helm release name of the app inside the virtual cluster.", "NAME"),
    Override("namespace", "namespace", "--namespace", "namespace",
             "Namespace inside the virtual cluster the chart is installed into.", "NAME"),
    Override("url", "url", "--url", "url",
             "The environment's URL (a template), e.g. https://pr-{{ pr.number }}.example.com.",
             "TEMPLATE"),
    Override("domain", "domain", "--domain", "domain", "Domain of preview URLs.", "DOMAIN"),
    Override("ttl", "ttl", "--ttl", "ttl",
             "Lifetime, e.g. 36h or 7d (extended by each up).", "DURATION"),
    Override("timeout", "timeouts", "--timeout", "timeout",
             "Timeout of every phase, e.g. 300 or 10m.", "DURATION"),
)
BY_NAME = {override.name: override for override in OVERRIDES}


@dataclass(frozen=True)
class ConfigOverrides:
    """The values of `OVERRIDES` given for one run (None / empty: not given); one attribute
    per row of the table (a test keeps the two the same)."""

    chart: str | None = None
    chart_version: str | None = None
    values_files: tuple[str | Path, ...] = ()
    set_values: tuple[str, ...] = ()
    release: str | None = None
    namespace: str | None = None
    url: str | None = None
    domain: str | None = None
    ttl: str | None = None
    timeout: str | None = None

    def given(self) -> list[Override]:
        """The rows given in this run, in the table's order."""
        return [override for override in OVERRIDES
                if getattr(self, override.name) not in (None, ())]


def flag_of(name: str) -> str:
    """The flag of a ConfigOverrides attribute or a preview.yaml field (`set` → `--set`)."""
    for override in OVERRIDES:
        if name in (override.name, override.field):
            return override.flag
    return f"--{name}"

