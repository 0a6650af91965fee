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
import statistics
import tempfile
from pathlib import Path

from _common import ROOT, apiserver, header, report, timed

CONFIG = ROOT / "examples" / "app" / "preview.yaml"


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
        with apiserver(kubeconfig):
            for run in range(1, args.runs + 1):
                pr = ("--repo", "bench/app", "--pr", str(run), "--kubeconfig", str(kubeconfig))
                wall, out = timed("up", "--config", str(CONFIG), "--sha", f"{run:040x}",
                                  "-o", "json", *pr)
                result = json.loads(out)
                assert result["status"] == "ready", result
                walls.append(wall)
                for name, seconds in result["phases"].items():
                    phases.setdefault(name, []).append(seconds)
                again.append(timed("up", "--config", str(CONFIG), "--sha", f"{run:040x}",
                                   "-o", "json", *pr)[0])
                downs.append(timed("down", *pr)[0])
    result = {**header(),
              "runs": args.runs,
              "up_median_s": round(statistics.median(walls), 1),
              "up_max_s": round(max(walls), 1),
              "phases_median_s": {name: round(statistics.median(values), 2)
                                  for name, values in phases.items()},
              "up_unchanged_median_s": round(statistics.median(again), 1),
              "down_median_s": round(statistics.median(downs), 1)}
    report(result, args.output)


if __name__ == "__main__":
    main()
