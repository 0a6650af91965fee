"""One table of overridable fields (`preview.config_overrides.OVERRIDES`): `preview up`'s
options, the action's inputs (action.yml and the planner), docs/config.md's flag column,
docs/action.md's inputs and `ConfigOverrides` all list the same fields."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import click
import yaml

from preview.cli import main as cli
from preview.cli.action import plan
from preview.config_overrides import OVERRIDES, ConfigOverrides

ROOT = Path(__file__).resolve().parents[1]
ACTION = yaml.safe_load((ROOT / "action.yml").read_text())
# preview up's options that are not a preview.yaml field: the file itself, the pull request,
# the output, the mode and the run.
UP_ONLY = {"--config", "--repo", "--pr", "--environment", "--sha", "--branch", "--author", "--output",
           "--allow-forks", "--policy", "--api", "--audience", "--no-wait", "--github-token",
           "--kubeconfig", "--context", "--kube-context", "--verbose", "--help",
           "--no-deployments"}


def _up_flags() -> set[str]:
    command = cli.commands["up"]
    assert isinstance(command, click.Command)
    return {opt for param in command.params for opt in param.opts if opt.startswith("--")}


def test_every_row_is_an_attribute_of_the_overrides_and_an_option_of_up() -> None:
    assert [f.name for f in dataclasses.fields(ConfigOverrides)] == [o.name for o in OVERRIDES]
    flags = _up_flags()
    assert {o.flag for o in OVERRIDES} <= flags
    assert flags - {o.flag for o in OVERRIDES} <= UP_ONLY  # no override outside the table


def test_every_row_is_an_input_of_action_yml_passed_to_the_entry_point() -> None:
    env = ACTION["runs"]["steps"][-1]["env"]
    for row in OVERRIDES:
        assert row.input in ACTION["inputs"], row.input
        assert env["INPUT_" + row.input.upper().replace("-", "_")] == \
            f"${{{{ inputs.{row.input} }}}}"


def test_the_planner_turns_every_input_into_its_flag() -> None:
    inputs = {row.input: f"v-{row.input}" for row in OVERRIDES}
    argv = plan(inputs, "pull_request",
                {"action": "opened", "pull_request": {"number": 1}}, "/kc").argv
    assert argv[:3] == ("up", "--kubeconfig", "/kc")
    pairs = list(zip(argv[3::2], argv[4::2], strict=True))
    assert pairs == [(row.flag, f"v-{row.input}") for row in OVERRIDES]


def _doc_rows(doc: str) -> dict[str, str]:
    """docs/config.md's field table: field -> its flag (rows with one)."""
    rows = {}
    for line in (ROOT / "docs" / doc).read_text().splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split(" | ")]
        if len(cells) == 4 and cells[0].startswith("`") and cells[2].startswith("`--"):
            rows[cells[0].strip("`")] = re.findall(r"--[a-z-]+", cells[2])[0]
    return rows


def test_docs_config_lists_every_flag_against_its_field() -> None:
    rows = _doc_rows("config.md")

    def row_of(field: str) -> str:
        matching = [o for o in OVERRIDES if field == o.field or field.startswith(o.field + ".")]
        return max(matching, key=lambda o: len(o.field)).flag if matching else ""

    assert {field: row_of(field) for field in rows} == rows
    assert {row_of(field) for field in rows} == {o.flag for o in OVERRIDES}


def test_docs_action_lists_every_input() -> None:
    text = (ROOT / "docs" / "action.md").read_text()
    documented = set(re.findall(r"^\| `([a-z-]+)` \|", text, re.MULTILINE))
    assert {o.input for o in OVERRIDES} <= documented
    assert set(ACTION["inputs"]) <= documented  # (the outputs table lists more)
