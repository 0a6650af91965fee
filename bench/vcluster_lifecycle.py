"""Time `preview vcluster create` (until ready) and `delete` (until the namespace is gone).

Starts `preview sandbox apiserver --flavour host` as a subprocess; its kubelet runs the
chart's control-plane pod for real (a virtual API server and the real syncer), so the time
covers detection, helm, scheduling, both processes starting, the syncer publishing the
kubeconfig, and on delete helm uninstall plus namespace termination.

    .venv/bin/python bench/vcluster_lifecycle.py [--runs 3] [-o json]
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


def timed(*args: str) -> float:
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "preview", *args], check=True,
                   stdout=subprocess.DEVNULL)
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("-o", "--output", choices=["text", "json"], default="text")
    args = parser.parse_args()
    creates, deletes = [], []
    with tempfile.TemporaryDirectory() as tmp:
        kubeconfig = Path(tmp) / "kubeconfig"
        server = subprocess.Popen([sys.executable, "-m", "preview", "sandbox", "apiserver",
                                   "--flavour", "host", "--kubeconfig", str(kubeconfig)],
                                  stdout=subprocess.PIPE, text=True)
        try:
            assert server.stdout is not None and server.stdout.readline()
            for i in range(args.runs):
                name = f"bench-{i}"
                creates.append(timed("vcluster", "create", name, "-n", name, "--kubeconfig",
                                     str(kubeconfig)))
                deletes.append(timed("vcluster", "delete", name, "-n", name, "--kubeconfig",
                                     str(kubeconfig)))
        finally:
            server.terminate()
            server.wait(10)
    result = {"date": time.strftime("%Y-%m-%d"),
              "machine": f"{platform.machine()} {os.cpu_count()} cores, "
                         f"Python {platform.python_version()}",
              "runs": args.runs,
              "create_median_s": round(statistics.median(creates), 1),
              "create_max_s": round(max(creates), 1),
              "delete_median_s": round(statistics.median(deletes), 1)}
    if args.output == "json":
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>16}: {value}")


if __name__ == "__main__":
    main()
