"""The GC report: a table for a terminal, JSON for machines, markdown for the step summary.

Pure: a GcResult in, text out.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import yaml

from preview.gc.model import GcResult, Outcome
from preview.gc.plan import duration


def rows(result: GcResult) -> list[dict[str, Any]]:
    """One plain dict per environment (the JSON shape)."""
    return [{"namespace": o.decision.namespace, "repo": o.decision.repo, "pr": o.decision.pr,
             "age_seconds": o.decision.age_seconds, "age": duration(o.decision.age_seconds),
             "decision": o.decision.action, "rule": o.decision.rule,
             "reason": o.decision.reason, "outcome": o.outcome, "detail": o.detail}
            for o in result.outcomes]


def summary(result: GcResult) -> str:
    counts = Counter(o.outcome for o in result.outcomes)
    parts = [f"{n} {what}" for what, n in sorted(counts.items())]
    head = "dry run: " if result.dry_run else ""
    return f"{head}{len(result.outcomes)} environments: {', '.join(parts) or 'none'}"


def to_json(result: GcResult) -> str:
    return json.dumps(document(result), indent=2)


def to_yaml(result: GcResult) -> str:
    return str(yaml.safe_dump(document(result), sort_keys=False)).rstrip("\n")


def document(result: GcResult) -> dict[str, object]:
    """The report as `-o json` and `-o yaml` print it."""
    return {"dry_run": result.dry_run, "refused": result.refused,
            "notes": list(result.notes), "github_requests": result.github_requests,
            "summary": summary(result), "environments": rows(result)}


def to_table(result: GcResult) -> str:
    header = ("NAMESPACE", "REPO", "PR", "AGE", "DECISION", "OUTCOME", "REASON")
    table = [header] + [(o.decision.namespace, o.decision.repo or "?", str(o.decision.pr),
                         duration(o.decision.age_seconds), o.decision.action,
                         _outcome(o), o.decision.reason) for o in result.outcomes]
    widths = [max(len(r[i]) for r in table) for i in range(len(header) - 1)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r[:-1], widths, strict=True))
             + "  " + r[-1] for r in table]
    return "\n".join([*lines, "", *_footer(result)])


def to_markdown(result: GcResult) -> str:
    lines = ["## preview gc" + (" (dry run)" if result.dry_run else ""), ""]
    lines += [f"> **{_md(line)}**" for line in _footer(result)[:1] if result.refused]
    lines += [f"- {_md(note)}" for note in result.notes]
    lines += ["", summary(result), "",
              "| namespace | repo | PR | age | decision | outcome | reason |",
              "|---|---|---|---|---|---|---|"]
    lines += [f"| {_md(o.decision.namespace)} | {_md(o.decision.repo or '?')} | "
              f"{o.decision.pr} | {duration(o.decision.age_seconds)} | {o.decision.action} | "
              f"{_md(_outcome(o))} | {_md(o.decision.reason)} |" for o in result.outcomes]
    return "\n".join(lines) + "\n"


def _outcome(o: Outcome) -> str:
    return f"{o.outcome}: {o.detail}" if o.outcome in ("failed", "skipped") and o.detail \
        else o.outcome


def _footer(result: GcResult) -> list[str]:
    lines = [f"refused: {result.refused}"] if result.refused else []
    lines += [f"note: {note}" for note in result.notes]
    lines.append(summary(result))
    return lines


def _md(text: str) -> str:
    """Text safe inside a markdown table cell (no pipes, newlines or HTML)."""
    return (text.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;")
            .replace(">", "&gt;").replace("\n", " "))
