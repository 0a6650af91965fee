"""Time `preview up` of the example app on the sandbox, per phase, and `preview down`.

Starts `preview sandbox apiserver --flavour host` as a subprocess (its kubelet runs the
vcluster control plane and the example app for real; its ingress controller serves the
URL), then runs `preview up` of examples/app as a fresh pull request per run, reading the
per-phase timings from `-o json`, and `preview down`. The wall time includes the CLI's
start-up; the phases are namespace, vcluster, connect, deploy, wait, health check (plus the
chart check before any cluster is contacted).

    .venv/bin/python bench/up.py [--runs 3] [-o json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "examples" / "app" / "preview.yaml"


def preview(*args: str) -> tuple[float, str]:
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "preview", *args], check=True,
                          capture_output=True, text=True)
    return time.monotonic() - started, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("-o", "--output", choices=["text", "json"], default="text")
    args = parser.parse_args()
    walls: list[float] = []
    again: list[float] = []
    downs: list[float] = []
    phases: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        kubeconfig = Path(tmp) / "kubeconfig"
        server = subprocess.Popen([sys.executable, "-m", "preview", "sandbox", "apiserver",
                                   "--flavour", "host", "--kubeconfig", str(kubeconfig)],
                                  stdout=subprocess.PIPE, text=True)
        try:
            assert server.stdout is not None and server.stdout.readline()
            for run in range(1, args.runs + 1):
                pr = ("--repo", "bench/app", "--pr", str(run), "--kubeconfig", str(kubeconfig))
                wall, out = preview("up", "--config", str(CONFIG), "--sha", f"{run:040x}",
                                    "-o", "json", *pr)
                result = json.loads(out)
                assert result["status"] == "ready", result
                walls.append(wall)
                for name, seconds in result["phases"].items():
                    phases.setdefault(name, []).append(seconds)
                again.append(preview("up", "--config", str(CONFIG), "--sha", f"{run:040x}",
                                     "-o", "json", *pr)[0])
                downs.append(preview("down", *pr)[0])
        finally:
            server.terminate()
            server.wait(10)
    result = {"date": time.strftime("%Y-%m-%d"),
              "machine": f"{platform.machine()} {os.cpu_count()} cores, "
                         f"Python {platform.python_version()}",
              "runs": args.runs,
              "up_median_s": round(statistics.median(walls), 1),
              "up_max_s": round(max(walls), 1),
              "phases_median_s": {name: round(statistics.median(values), 2)
                                  for name, values in phases.items()},
              "up_unchanged_median_s": round(statistics.median(again), 1),
              "down_median_s": round(statistics.median(downs), 1)}
    if args.output == "json":
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>22}: {value}")


if __name__ == "__main__":
    main()
