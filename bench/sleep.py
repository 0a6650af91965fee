"""Time `preview sleep` and `preview wake` of the example app on the sandbox, and how long
after the wake starts its URL answers 200 again.

Starts `preview sandbox apiserver --flavour host` as a subprocess, `preview up` of
examples/app under a policy that keeps the control plane's data on a claim (sleep needs it),
then per run: `preview sleep` (until no pod of the environment is left on the host), and
`preview wake` started while the URL is polled through the sandbox's ingress (the URL's
Host header): *first 200* is from the wake's start to the first answer 200, *wake* the
command's whole run (it goes on waiting for every workload to be ready). The wake page
(a request waking it) is not built: the wake is the command.

    .venv/bin/python bench/sleep.py [--runs 3] [-o json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

from _common import ROOT, apiserver, header, report, timed

CONFIG = ROOT / "examples" / "app" / "preview.yaml"


def answers(port: int, host: str) -> bool:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/", headers={"Host": host})
    try:
        with urllib.request.urlopen(request, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("-o", "--output", choices=["text", "json"], default="text")
    args = parser.parse_args()
    sleeps: list[float] = []
    wakes: list[float] = []
    first: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        kubeconfig = Path(tmp) / "kubeconfig"
        policy = Path(tmp) / "policy.yaml"
        policy.write_text("vcluster:\n  persistence:\n    enabled: true\n")
        with apiserver(kubeconfig):
            pr = ("--repo", "bench/app", "--pr", "1", "--kubeconfig", str(kubeconfig))
            _, out = timed("up", "--config", str(CONFIG), "--sha", "1" * 40, "-o", "json",
                           "--policy", str(policy), *pr)
            url = urlsplit(json.loads(out)["url"])
            assert url.hostname and url.port, url
            for _ in range(args.runs):
                sleeps.append(timed("sleep", *pr)[0])
                assert not answers(url.port, url.hostname)
                started = time.monotonic()
                wake = subprocess.Popen([sys.executable, "-m", "preview", "wake", *pr],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                        text=True)
                while not answers(url.port, url.hostname):
                    if wake.poll() not in (None, 0):
                        raise SystemExit(f"wake failed: {wake.stderr.read() if wake.stderr else ''}")
                    time.sleep(0.05)
                first.append(time.monotonic() - started)
                if wake.wait(timeout=300):
                    raise SystemExit("wake failed")
                wakes.append(time.monotonic() - started)
            timed("down", *pr)
    report({**header(), "runs": args.runs,
            "sleep_median_s": round(statistics.median(sleeps), 1),
            "wake_first_200_median_s": round(statistics.median(first), 1),
            "wake_first_200_max_s": round(max(first), 1),
            "wake_median_s": round(statistics.median(wakes), 1)}, args.output)


if __name__ == "__main__":
    main()
