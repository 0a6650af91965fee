"""Time the composite action's installation (action.yml's steps before `preview action`).

Runs those steps as a runner does (`bash -eo pipefail`, inputs and step outputs through
`env:`, the `uses:` actions/cache steps skipped) with an empty tool cache of its own, three
times:

- cold: nothing installed; a fresh venv, `pip install` of this checkout (from the configured
  index, as on a runner's first job) and, when helm or kubectl are not on PATH, both of them;
- warm: the next job on the same runner (a self-hosted runner keeps its tool cache): found;
- restored: the tool-cache entry packed with tar + zstd, deleted and unpacked again before
  the steps run, which is the local part of what actions/cache does on a GitHub-hosted runner
  (its download from the cache service comes on top: the archive's size is printed).

    .venv/bin/python bench/action_install.py [--without-tools] [-o json]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml
from _common import ROOT, header, report

EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def run_install_steps(environ: dict[str, str], work: Path) -> dict[str, dict[str, str]]:
    """action.yml's steps up to `preview action`; returns each step id's outputs."""
    steps = yaml.safe_load((ROOT / "action.yml").read_text())["runs"]["steps"][:-1]
    outputs: dict[str, dict[str, str]] = {}

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "inputs.install":
            return "auto"
        if name == "github.action_path":
            return str(ROOT)
        step, _, output = name.removeprefix("steps.").partition(".outputs.")
        return outputs.get(step, {}).get(output, "")

    for index, step in enumerate(steps):
        if "uses" in step:
            continue
        output = work / f"output-{index}"
        output.write_text("")
        env = {**environ, "GITHUB_OUTPUT": str(output),
               **{k: EXPRESSION.sub(value, str(v)) for k, v in step.get("env", {}).items()}}
        done = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c",
                               step["run"]], env=env, capture_output=True, text=True)
        if done.returncode:
            raise SystemExit(f"step {step['name']!r} failed:\n{done.stdout}\n{done.stderr}")
        outputs[step["id"]] = dict(line.split("=", 1) for line in
                                   output.read_text().splitlines() if "=" in line)
    return outputs


def timed(environ: dict[str, str], work: Path) -> tuple[float, dict[str, dict[str, str]]]:
    started = time.monotonic()
    outputs = run_install_steps(environ, work)
    return time.monotonic() - started, outputs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--without-tools", action="store_true",
                        help="hide helm and kubectl from PATH, so the steps install them too")
    parser.add_argument("-o", "--output", choices=["json", "table"], default="table")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="action-install-") as tmp:
        work = Path(tmp)
        environ = {k: v for k, v in os.environ.items()
                   if not k.startswith(("GITHUB_", "RUNNER_", "VIRTUAL_ENV"))}
        path = [p for p in environ["PATH"].split(os.pathsep)
                if not p.startswith(str(ROOT / ".venv"))]
        if args.without_tools:
            path = [p for p in path if not p.startswith(str(ROOT / ".tools"))]
        environ.update(PATH=os.pathsep.join(path), RUNNER_TEMP=str(work / "temp"),
                       RUNNER_TOOL_CACHE=str(work / "toolcache"), RUNNER_OS="Linux",
                       RUNNER_ARCH="X64")
        cold, first = timed(environ, work)
        assert first["install"]["installed"] == "true", first
        warm, second = timed(environ, work)
        assert second["install"]["installed"] == "false", second
        root = Path(first["locate"]["root"])
        archive = work / "cache.tzst"
        subprocess.run(["tar", "--use-compress-program", "zstd -T0", "-cf", str(archive),
                        "-C", str(root.parent), root.name], check=True)
        shutil.rmtree(root)
        started = time.monotonic()
        subprocess.run(["tar", "--use-compress-program", "zstd -d", "-xf", str(archive),
                        "-C", str(root.parent)], check=True)
        restored, third = timed(environ, work)
        restored += time.monotonic() - started
        assert third["install"]["installed"] == "false", third
        result: dict[str, Any] = {
            **header(),
            "helm and kubectl": "installed by the steps" if args.without_tools else "on PATH",
            "cold s": round(cold, 1), "warm s": round(warm, 2),
            "restored s": round(restored, 2),
            "cache archive MB": round(archive.stat().st_size / 1e6, 1),
        }
        report(result, args.output)


if __name__ == "__main__":
    main()
