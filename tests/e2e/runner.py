"""What a GitHub Actions runner gives a step, for tests: the event payload file, the `GITHUB_*`
variables, the step's output and summary files, and a reader of `$GITHUB_OUTPUT`."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SERVER_URL = "https://github.example"
RUN_ID = "4242"


def pull_request_event(action: str, repo: str, number: int, sha: str, *,
                       head_repo: str | None = None, state: str = "open",
                       branch: str = "feature/login", title: str = "Add login",
                       author: str = "alice") -> dict[str, Any]:
    """A `pull_request` webhook payload with the fields GitHub sends that we read."""
    owner, name = repo.split("/")
    head_full = head_repo or repo
    return {
        "action": action, "number": number,
        "pull_request": {
            "number": number, "state": state, "title": title, "merged": False,
            "user": {"login": author, "type": "User"},
            "head": {"ref": branch, "sha": sha,
                     "repo": {"full_name": head_full, "name": name,
                              "fork": head_full != repo}},
            "base": {"ref": "main", "sha": "f" * 40,
                     "repo": {"full_name": repo, "name": name, "owner": {"login": owner}}},
        },
        "repository": {"full_name": repo, "name": name, "owner": {"login": owner}},
    }


@dataclass(frozen=True)
class Step:
    """The files of one step run: the event it saw, its outputs and summary."""

    directory: Path
    event_path: Path
    output_path: Path
    summary_path: Path

    @classmethod
    def create(cls, directory: Path, event: dict[str, Any]) -> Step:
        directory.mkdir(parents=True, exist_ok=True)
        step = cls(directory, directory / "event.json", directory / "output",
                   directory / "summary.md")
        step.event_path.write_text(json.dumps(event))
        step.output_path.touch()
        step.summary_path.touch()
        return step

    def environ(self, api_url: str, repo: str, event_name: str = "pull_request",
                **extra: str) -> dict[str, str]:
        """The process environment a runner gives the step (nothing of the test's own
        GITHUB_*/INPUT_*/RUNNER_* leaks in)."""
        base = {k: v for k, v in os.environ.items()
                if not k.startswith(("GITHUB_", "INPUT_", "RUNNER_", "ACTIONS_"))}
        (self.directory / "runner-temp").mkdir(exist_ok=True)
        return {**base, "CI": "true", "GITHUB_ACTIONS": "true", "GITHUB_API_URL": api_url,
                "GITHUB_SERVER_URL": SERVER_URL, "GITHUB_REPOSITORY": repo,
                "GITHUB_RUN_ID": RUN_ID, "GITHUB_EVENT_NAME": event_name,
                "GITHUB_EVENT_PATH": str(self.event_path),
                "GITHUB_OUTPUT": str(self.output_path),
                "GITHUB_STEP_SUMMARY": str(self.summary_path),
                "GITHUB_WORKSPACE": str(ROOT),
                "RUNNER_TEMP": str(self.directory / "runner-temp"), **extra}

    def outputs(self) -> dict[str, str]:
        return read_outputs(self.output_path.read_text())


def read_outputs(text: str) -> dict[str, str]:
    """`$GITHUB_OUTPUT` as the runner reads it: `name=value` or `name<<DELIM`…`DELIM`; a later
    value of a name wins."""
    outputs: dict[str, str] = {}
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            end = lines.index(delimiter, i + 1)
            outputs[name] = "\n".join(lines[i + 1:end])
            i = end + 1
            continue
        if "=" in line:
            name, value = line.split("=", 1)
            outputs[name] = value
        i += 1
    return outputs
