"""Concurrent runs of one pull request, round after round: the stress version of
tests/operations/test_concurrency.py (issue 29's acceptance: ten rounds, no broken
environment).

Starts `preview sandbox apiserver --flavour host` as a subprocess, then per round starts
`preview up` of examples/app two at a time, then three at a time (each with its own commit),
then an `up` racing a `down` both ways, every one a real CLI process. After each group it
checks what the issue asks: every run exited 0 (or named the run it waited for), and the
environment is exactly one, ready, at the commit of the run that finished last — or gone,
when the later run was a `down`. A broken round stops the benchmark with what it saw.

    .venv/bin/python bench/concurrency.py [--rounds 10] [-o json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import ROOT, apiserver, header, report, until
from kubernetes import client, config

sys.path.insert(0, str(ROOT))

from preview import lease, naming

CONFIG = ROOT / "examples" / "app" / "preview.yaml"
REPO, PR = "bench/race", 7
NAMESPACE = naming.environment_for("bench", "race", PR).namespace


def holder(coordination: client.CoordinationV1Api) -> str:
    """What the run holding the environment's Lease is doing ("" when none holds it)."""
    try:
        held = coordination.read_namespaced_lease(lease.LEASE_NAME, NAMESPACE)
    except client.ApiException as e:
        if e.status == 404:
            return ""
        raise
    return str((held.metadata.annotations or {}).get(naming.LOCK_OPERATION, ""))


def start(kubeconfig: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "preview", *args, "--repo", REPO, "--pr",
                             str(PR), "-o", "json", "--kubeconfig", str(kubeconfig)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def up(kubeconfig: Path, sha: str) -> subprocess.Popen[str]:
    return start(kubeconfig, "up", "--config", str(CONFIG), "--sha", sha)


def finish(procs: list[subprocess.Popen[str]]) -> list[tuple[int, dict[str, Any], str]]:
    """Each run's (exit code, result, stderr), in the order they were started."""
    runs = []
    for proc in procs:
        out, err = proc.communicate(timeout=600)
        runs.append((proc.returncode, json.loads(out) if out.strip() else {}, err))
    return runs


def environments(kubeconfig: Path) -> list[dict[str, Any]]:
    out = subprocess.run([sys.executable, "-m", "preview", "list", "--repo", REPO, "-o",
                          "json", "--kubeconfig", str(kubeconfig)],
                         capture_output=True, text=True, check=True).stdout
    rows: list[dict[str, Any]] = json.loads(out)
    return rows


def check_ups(kubeconfig: Path, runs: list[tuple[int, dict[str, Any], str]],
              shas: list[str], where: str) -> int:
    """All ready, the waiters said so; one ready environment at one of the shas. Waiters."""
    for code, result, err in runs:
        if code != 0 or result.get("status") != "ready":
            raise SystemExit(f"{where}: a run exited {code}: {err[-2000:]}")
        if result["waited_for"] and f"waiting for {result['waited_for']}" not in err:
            raise SystemExit(f"{where}: a run waited without saying so: {err[-2000:]}")
    rows = environments(kubeconfig)
    if len(rows) != 1 or rows[0]["status"] != "ready" or rows[0]["head_sha"] not in shas:
        raise SystemExit(f"{where}: the environment is {rows}")
    return sum(1 for _, result, _ in runs if result["waited_for"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("-o", "--output", choices=["text", "json"], default="text")
    args = parser.parse_args()
    seconds: dict[str, list[float]] = {"2 ups": [], "3 ups": [], "up then down": [],
                                       "down then up": []}
    waited = 0
    with tempfile.TemporaryDirectory() as tmp:
        kubeconfig = Path(tmp) / "kubeconfig"
        with apiserver(kubeconfig), config.new_client_from_config(str(kubeconfig)) as api:
            coordination = client.CoordinationV1Api(api)
            for rnd in range(1, args.rounds + 1):
                for count in (2, 3):
                    shas = [f"{rnd:02d}{count}{i}".ljust(40, "0") for i in range(count)]
                    t0 = time.monotonic()
                    runs = finish([up(kubeconfig, sha) for sha in shas])
                    seconds[f"{count} ups"].append(time.monotonic() - t0)
                    waited += check_ups(kubeconfig, runs, shas, f"round {rnd}, {count} ups")
                # up racing down: the down starts while the up holds the lock; the later one
                # (the down) wins.
                t0 = time.monotonic()
                racing = up(kubeconfig, f"{rnd:02d}a".ljust(40, "0"))
                until(lambda: holder(coordination) == "up", timeout=120, interval=0.05)
                runs = finish([racing, start(kubeconfig, "down")])
                seconds["up then down"].append(time.monotonic() - t0)
                if any(code for code, _, _ in runs) or environments(kubeconfig):
                    raise SystemExit(f"round {rnd}, up then down: {runs}, "
                                     f"{environments(kubeconfig)}")
                # down racing up: bring it up, start the down, then an up: the up wins.
                finish([up(kubeconfig, f"{rnd:02d}b".ljust(40, "0"))])
                t0 = time.monotonic()
                tearing = start(kubeconfig, "down")
                until(lambda: holder(coordination) == "down", timeout=120, interval=0.05)
                sha = f"{rnd:02d}e".ljust(40, "0")
                runs = finish([tearing, up(kubeconfig, sha)])
                seconds["down then up"].append(time.monotonic() - t0)
                if runs[0][0] != 0:
                    raise SystemExit(f"round {rnd}, down then up: the down: {runs[0]}")
                check_ups(kubeconfig, runs[1:], [sha], f"round {rnd}, down then up")
                finish([start(kubeconfig, "down")])
                print(f"round {rnd}: ok", file=sys.stderr)
    report({**header(), "rounds": args.rounds, "broken_rounds": 0, "runs_that_waited": waited,
            **{f"{name} median_s": round(statistics.median(values), 1)
               for name, values in seconds.items()}}, args.output)


if __name__ == "__main__":
    main()
