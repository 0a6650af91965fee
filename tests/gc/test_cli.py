"""`preview gc` on the command line: table, JSON, the step summary and the exit code."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from preview.cli import main
from tests.conftest import wait_for
from tests.gc.hostenvs import Spec, make, ready

pytestmark = pytest.mark.sandbox


def setup(host: Any, specs: list[Spec]) -> str:
    sb, core, apps = host
    now = dt.datetime.now(dt.UTC)
    for spec in specs:
        make(core, apps, spec, now)
    wait_for(lambda: ready(apps, specs), 120, what="virtual clusters ready")
    return str(sb.kubeconfig)


def test_json_report_and_step_summary_without_a_token(host: Any, tmp_path: Path) -> None:
    kubeconfig = setup(host, [Spec("acme/web", 1), Spec("acme/web", 2, healthy=False),
                              Spec("acme/web", 3, expires_in=dt.timedelta(hours=-1))])
    summary = tmp_path / "summary.md"
    result = CliRunner().invoke(main, ["gc", "--kubeconfig", kubeconfig, "-o", "json"],
                                env={"GITHUB_TOKEN": "", "GH_TOKEN": "",
                                     "GITHUB_STEP_SUMMARY": str(summary)})
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert [(e["pr"], e["decision"], e["rule"], e["outcome"]) for e in report["environments"]] \
        == [(1, "keep", "unknown", "kept"), (2, "delete", "broken", "deleted"),
            (3, "delete", "ttl-expired", "deleted")]
    assert set(report["environments"][0]) >= {"repo", "pr", "age", "decision", "reason",
                                              "outcome"}
    assert "no GitHub token" in report["notes"][0]
    # Deleted as `preview down` deletes (verified gone), not only asked to go.
    assert report["environments"][1]["detail"].startswith("torn down in")
    _, core, _ = host
    names = {ns.metadata.name for ns in core.list_namespace().items}
    assert "preview-acme-web-pr-1" in names and "preview-acme-web-pr-2" not in names
    markdown = summary.read_text()
    assert markdown.startswith("## preview gc")
    assert "| preview-acme-web-pr-2 | acme/web | 2 |" in markdown
    # The cost so far of what it found, read before the deletions (docs/cost.md).
    assert "### Cost so far (3 environments, USD)" in markdown
    assert "| acme/web | 3 |" in markdown and "| team | environments |" in markdown


def test_table_and_refusal_exit_code(host: Any) -> None:
    specs = [Spec("acme/web", n, healthy=False) for n in range(1, 4)]
    kubeconfig = setup(host, specs)
    result = CliRunner().invoke(main, ["gc", "--kubeconfig", kubeconfig, "--max-deletions",
                                       "2"], env={"GITHUB_TOKEN": "", "GH_TOKEN": ""})
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0].split()[:6] == ["NAMESPACE", "REPO", "PR", "AGE", "DECISION", "OUTCOME"]
    assert "not deleted" in lines[1]
    assert "3 environments would be deleted, more than --max-deletions 2" in result.stderr


def test_bad_flags_are_usage_errors() -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["gc", "--older-than", "soon"])
    assert result.exit_code == 2 and "not a duration" in result.output
    result = runner.invoke(main, ["gc", "--repo", "no-slash"])
    assert result.exit_code == 2 and "OWNER/REPO" in result.output
