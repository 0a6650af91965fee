"""Time `preview vcluster create` (until ready) and `delete` (until the namespace is gone).

Starts `preview sandbox apiserver --flavour host` as a subprocess; its kubelet runs the
chart's control-plane pod for real (a virtual API server and the real syncer), so the time
covers detection, helm, scheduling, both processes starting, the syncer publishing the
kubeconfig, and on delete helm uninstall plus namespace termination.

    .venv/bin/python bench/vcluster_lifecycle.py [--runs 3] [-o json]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from _common import apiserver, header, report, timed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("-o", "--output", choices=["text", "json"], default="text")
    args = parser.parse_args()
    creates, deletes = [], []
    with tempfile.TemporaryDirectory() as tmp:
        kubeconfig = Path(tmp) / "kubeconfig"
        with apiserver(kubeconfig):
            for i in range(args.runs):
                name = f"bench-{i}"
                creates.append(timed("vcluster", "create", name, "-n", name, "--kubeconfig",
                                     str(kubeconfig))[0])
                deletes.append(timed("vcluster", "delete", name, "-n", name, "--kubeconfig",
                                     str(kubeconfig))[0])
    result = {**header(),
              "runs": args.runs,
              "create_median_s": round(statistics.median(creates), 1),
              "create_max_s": round(max(creates), 1),
              "delete_median_s": round(statistics.median(deletes), 1)}
    report(result, args.output)


if __name__ == "__main__":
    main()
