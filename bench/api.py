"""The API's own cost: `preview up --api` against `preview up` of the example, and 20
pull requests created through one `preview serve` at once.

Starts `preview sandbox apiserver --flavour host`, `preview sandbox oidc` (the OIDC issuer
and the runner's token endpoint) and `preview serve` as subprocesses. Then, per run, one
fresh pull request with `preview up --kubeconfig` (on the "runner") and another with `preview
up --api` (the same example uploaded, built by `preview serve`); the API's overhead is the
difference of the two medians (upload, login, unpacking, streaming) — both walls include
the CLI's start-up. That difference carries the noise of the cluster's own work (the
phases: helm, the control plane's start, the workloads), identical code on both sides, so
the API's own time is also reported apart from it: per run, the wall less the sum of the
phases `up` reports (what remains is the CLI's start, login, upload, unpacking, rendering,
streaming and exit); `api_own_overhead_median_s` is the difference of those medians.

Then `--concurrent` pull requests are created through the API at once (`preview serve
--max-concurrent-creates`, default its own): how many end ready (a failure is printed, not
fatal), the wall time, the slowest create, and the peak RSS of the `preview serve` process
(VmHWM, its helm children not counted) are reported. Everything is torn down through the
API.

    .venv/bin/python bench/api.py [--runs 3] [--concurrent 20] [--max-concurrent-creates N]
                                  [-o json]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import (
    ROOT,
    answers,
    apiserver,
    free_port,
    header,
    process,
    report,
    timed,
    until,
)

from preview.serve.slots import DEFAULT_LIMIT

CONFIG = ROOT / "examples" / "app" / "preview.yaml"
AUDIENCE = "preview-bench"


def api_env(oidc: dict[str, str], repo: str, pr: int) -> dict[str, str]:
    """A job's environment for `preview up --api`: the runner's token endpoint, no kubeconfig."""
    environ = {k: v for k, v in os.environ.items()
               if not k.startswith(("GITHUB_", "ACTIONS_", "KUBECONFIG"))}
    environ.update(ACTIONS_ID_TOKEN_REQUEST_URL=f"{oidc['runtime_url']}?repository={repo}"
                                                f"&pr={pr}",
                   ACTIONS_ID_TOKEN_REQUEST_TOKEN=oidc["runtime_token"])
    return environ


def via_api(api_url: str, oidc: dict[str, str], command: str, pr: int,
            *extra: str, check: bool = True) -> tuple[float, str]:
    """`preview COMMAND --api` for PR `pr`: (seconds, stdout). A failure stops the benchmark,
    or (not `check`) is reported on stderr and answered with stdout "" ."""
    repo = "bench/app"
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "preview", command, "--repo", repo, "--pr",
                           str(pr), "--api", api_url, "--audience", AUDIENCE, *extra],
                          env=api_env(oidc, repo, pr), capture_output=True, text=True)
    if done.returncode:
        message = (f"`preview {command} --api` of PR {pr} failed ({done.returncode}):\n"
                   f"{done.stderr.strip()[-1500:]}")
        if check:
            raise SystemExit(message)
        print(message, file=sys.stderr)
        return time.monotonic() - started, ""
    return time.monotonic() - started, done.stdout


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise SystemExit(f"no VmHWM for process {pid}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--concurrent", type=int, default=20)
    parser.add_argument("--max-concurrent-creates", type=int, default=None,
                        help="passed to preview serve (default: its own default)")
    parser.add_argument("-o", "--output", choices=["text", "json"], default="text")
    args = parser.parse_args()
    direct: list[float] = []
    through: list[float] = []
    phases: dict[str, list[dict[str, float]]] = {"up": [], "up --api": []}
    with tempfile.TemporaryDirectory() as tmp:
        kubeconfig = Path(tmp) / "kubeconfig"
        with apiserver(kubeconfig), \
                process("sandbox", "oidc", "--audience", AUDIENCE, "--ca-file",
                        str(Path(tmp) / "issuer-ca.pem"), stdout=subprocess.PIPE,
                        text=True) as issuer:
            assert issuer.stdout is not None
            oidc = json.loads(issuer.stdout.readline())
            policy = Path(tmp) / "policy.yaml"
            policy.write_text(json.dumps({"repositories": ["bench/*"],
                                          "api": {"issuer": oidc["issuer"],
                                                  "audience": AUDIENCE}}))
            port = free_port()
            limit = [] if args.max_concurrent_creates is None else [
                "--max-concurrent-creates", str(args.max_concurrent_creates)]
            log = (Path(tmp) / "serve.log").open("w")
            with process("serve", "--policy", str(policy), "--issuer-ca", oidc["ca_file"],
                         "--listen", f"127.0.0.1:{port}", "--kubeconfig", str(kubeconfig),
                         "--workdir", str(Path(tmp) / "bundles"), *limit, stop_timeout=120,
                         stdout=log, stderr=subprocess.STDOUT) as serve:
                api_url = f"http://127.0.0.1:{port}"
                until(lambda: answers(f"{api_url}/healthz"), 60, 0.1)
                for run in range(1, args.runs + 1):
                    pr = ("--repo", "bench/app", "--pr", str(run), "--kubeconfig",
                          str(kubeconfig))
                    wall, out = timed("up", "--config", str(CONFIG), "--sha", f"{run:040x}",
                                      "-o", "json", *pr)
                    assert json.loads(out)["status"] == "ready", out
                    direct.append(wall)
                    phases["up"].append(json.loads(out)["phases"])
                    timed("down", *pr)
                    wall, out = via_api(api_url, oidc, "up", 100 + run, "--config",
                                        str(CONFIG), "--sha", f"{run:040x}", "-o", "json")
                    assert json.loads(out)["status"] == "ready", out
                    through.append(wall)
                    phases["up --api"].append(json.loads(out)["phases"])
                    via_api(api_url, oidc, "down", 100 + run)
                print(f"up: {direct}, up --api: {through}", file=sys.stderr)
                for kind, runs in phases.items():
                    print(f"phases of {kind}: {runs}", file=sys.stderr)
                prs = range(201, 201 + args.concurrent)
                started = time.monotonic()
                with concurrent.futures.ThreadPoolExecutor(args.concurrent) as pool:
                    outs = list(pool.map(lambda n: via_api(
                        api_url, oidc, "up", n, "--config", str(CONFIG), "--sha",
                        f"{n:040x}", "-o", "json", check=False), prs))
                concurrent_wall = time.monotonic() - started
                statuses = [json.loads(out)["status"] if out else "failed" for _, out in outs]
                rss = peak_rss_mib(serve.pid)
                with concurrent.futures.ThreadPoolExecutor(args.concurrent) as pool:
                    list(pool.map(lambda n: via_api(api_url, oidc, "down", n, check=False),
                                  prs))
    outside = {kind: [wall - sum(p.values()) for wall, p in zip(walls, phases[kind],
                                                               strict=True)]
               for kind, walls in (("up", direct), ("up --api", through))}
    load = os.getloadavg()
    result = {**header(),
              "load_avg_1_5_15": [round(x, 1) for x in load],
              "runs": args.runs,
              "up_median_s": round(statistics.median(direct), 1),
              "up_api_median_s": round(statistics.median(through), 1),
              "api_overhead_median_s": round(statistics.median(through)
                                             - statistics.median(direct), 2),
              "up_outside_phases_median_s": round(statistics.median(outside["up"]), 2),
              "up_api_outside_phases_median_s": round(statistics.median(outside["up --api"]),
                                                      2),
              "api_own_overhead_median_s": round(statistics.median(outside["up --api"])
                                                 - statistics.median(outside["up"]), 2),
              "max_concurrent_creates": args.max_concurrent_creates or DEFAULT_LIMIT,
              "concurrent": args.concurrent,
              "concurrent_ready": statuses.count("ready"),
              "concurrent_wall_s": round(concurrent_wall, 1),
              "concurrent_slowest_s": round(max(w for w, _ in outs), 1),
              "serve_peak_rss_mib": rss}
    report(result, args.output)



if __name__ == "__main__":
    main()
