"""workflows/gc.yml: nightly and on demand (dry run by default), through the action."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = yaml.safe_load((ROOT / "workflows" / "gc.yml").read_text())
ACTION = yaml.safe_load((ROOT / "action.yml").read_text())


def test_nightly_and_on_demand_with_a_dry_run_input() -> None:
    triggers = WORKFLOW[True]  # YAML 1.1 reads the key `on` as a boolean
    assert triggers["schedule"][0]["cron"]
    dispatch = triggers["workflow_dispatch"]["inputs"]
    assert dispatch["dry-run"]["type"] == "boolean" and dispatch["dry-run"]["default"] is True


def test_runs_gc_through_the_action_with_inputs_it_has() -> None:
    (job,) = WORKFLOW["jobs"].values()
    (step,) = [s for s in job["steps"] if "preview-vcluster@" in s.get("uses", "")]
    assert step["with"]["command"] == "gc"
    assert set(step["with"]) <= set(ACTION["inputs"])
    assert "inputs.dry-run" in step["with"]["dry-run"]
    assert WORKFLOW["concurrency"]["cancel-in-progress"] is False
