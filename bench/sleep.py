"""Time `preview sleep` of the example app on the sandbox, and its wake by a request to its
URL: from the first request (answered by the wake page) to the app's first 200.

Starts `preview sandbox apiserver --flavour host` and `preview serve --wake-listen` as
subprocesses, `preview up` of examples/app under a policy that keeps the control plane's data
on a claim (sleep needs it) and names the wake listener (`wakePage`), then per run:
`preview sleep` (until no pod of the environment is left on the host, the URL pointed at the
wake page), then GETs of the URL through the sandbox's ingress (the URL's Host header), as a
browser reloading the wake page: *wake: first 200* is from the first request to the first
answer 200 from the app; every answer before it is checked to be the wake page.

    .venv/bin/python bench/sleep.py [--runs 3] [-o json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

from _common import ROOT, answers, apiserver, free_port, header, process, report, timed

CONFIG = ROOT / "examples" / "app" / "preview.yaml"


def get(port: int, host: str) -> tuple[int, str]:
    """GET / through the ingress with this Host: (status, body); (0, why) when unreachable."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}/", headers={"Host": host})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode(errors="replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")
    except (urllib.error.URLError, OSError) as e:
        return 0, str(e)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("-o", "--output", choices=["text", "json"], default="text")
    args = parser.parse_args()
    sleeps: list[float] = []
    first: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        kubeconfig = Path(tmp) / "kubeconfig"
        policy = Path(tmp) / "policy.yaml"
        wake_port, api_port = free_port(), free_port()
        policy.write_text(json.dumps({
            "vcluster": {"persistence": {"enabled": True}},
            "api": {"issuer": "https://127.0.0.1:9", "audience": "bench"},
            "wakePage": {"service": "127.0.0.1", "port": wake_port}}))
        with apiserver(kubeconfig), process(
                "serve", "--policy", str(policy), "--kubeconfig", str(kubeconfig),
                "--listen", f"127.0.0.1:{api_port}", "--wake-listen", f"127.0.0.1:{wake_port}",
                "--workdir", str(Path(tmp) / "bundles"), stderr=subprocess.DEVNULL):
            while not answers(f"http://127.0.0.1:{api_port}/healthz"):
                time.sleep(0.2)
            pr = ("--repo", "bench/app", "--pr", "1", "--kubeconfig", str(kubeconfig))
            _, out = timed("up", "--config", str(CONFIG), "--sha", "1" * 40, "-o", "json",
                           "--policy", str(policy), *pr)
            url = urlsplit(json.loads(out)["url"])
            assert url.hostname and url.port, url
            for _ in range(args.runs):
                sleeps.append(timed("sleep", "--policy", str(policy), *pr)[0])
                started = time.monotonic()
                while (answer := get(url.port, url.hostname))[0] != 200:
                    if "is waking up" not in answer[1]:
                        raise SystemExit(f"not the wake page: {answer}")
                    if time.monotonic() - started > 300:
                        raise SystemExit("the app did not answer within 300 s")
                    time.sleep(0.05)
                first.append(time.monotonic() - started)
            timed("down", *pr)
    report({**header(), "runs": args.runs,
            "sleep_median_s": round(statistics.median(sleeps), 1),
            "wake_first_200_median_s": round(statistics.median(first), 1),
            "wake_first_200_max_s": round(max(first), 1)}, args.output)


if __name__ == "__main__":
    main()
