"""Time the GC's plan over 1000 environments, then its deletion of 100: host sandbox over
HTTP, fake GitHub over HTTP.

Starts `preview sandbox apiserver --flavour host --nodes 10` as a subprocess and the fake
GitHub server of tests/fakegithub; makes 1000 labelled environment namespaces across 10
repositories (most with a ready virtual-cluster StatefulSet, some broken, expired or of a
closed PR), then times one `preview gc --dry-run` run in-process: list the host, ask GitHub,
plan. Half the repositories have more than 100 open PRs (two pages of pulls).

Deletion phase: 100 more environments of one repository, expired, then one `preview gc` run
in-process restricted to that repository, deleting them as the CLI does (`down_teardown`:
each under its environment's Lease, helm uninstall, the namespace deleted and awaited, a last
read) with `--parallel` at a time. `--serial` adds the same phase at `--parallel 1`, the
one-at-a-time figure to compare with.

    .venv/bin/python bench/gc.py [--environments 1000] [--deletions 100] [--parallel 8]
        [--serial] [-o json]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from _common import ROOT, apiserver, header, report
from kubernetes import client, config

sys.path.insert(0, str(ROOT))

from preview.gc.model import GcResult
from preview.github.pulls import GitHubApi
from preview.kube.client import KubeClient
from preview.kube.connection import from_kubeconfig
from preview.kube.host import HostCluster
from preview.lease import Holder
from preview.operations.exclusive import Lock
from preview.operations.gc import GcOptions, down_teardown, gc
from tests.fakegithub import FakeGitHub
from tests.gc.hostenvs import Spec, make, ready

REPOS = 10
TOKEN = "bench-token"


def specs(total: int) -> tuple[list[Spec], dict[str, set[int]]]:
    """Environments, and the open PRs of each repository."""
    per_repo = total // REPOS
    envs: list[Spec] = []
    open_prs: dict[str, set[int]] = {}
    for r in range(REPOS):
        repo = f"bench/app-{r}"
        open_prs[repo] = set(range(1000, 1000 + (120 if r < REPOS // 2 else 60)))  # no env
        for pr in range(1, per_repo + 1):
            kind = pr % 20
            if kind < 14:  # open, healthy
                envs.append(Spec(repo, pr))
                open_prs[repo].add(pr)
            elif kind < 18:  # closed
                envs.append(Spec(repo, pr))
            elif kind == 18:  # expired
                envs.append(Spec(repo, pr, expires_in=dt.timedelta(hours=-1)))
                open_prs[repo].add(pr)
            else:  # broken
                envs.append(Spec(repo, pr, healthy=False))
                open_prs[repo].add(pr)
    return envs, open_prs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--environments", type=int, default=1000)
    parser.add_argument("--ready-budget", type=float, default=600.0,
                        help="Seconds to wait for the healthy StatefulSets to report ready.")
    parser.add_argument("--deletions", type=int, default=100,
                        help="Environments the deletion phase deletes (0: no such phase).")
    parser.add_argument("--parallel", type=int, default=8, help="The GC's --parallel.")
    parser.add_argument("--serial", action="store_true",
                        help="Also time the deletion phase at --parallel 1.")
    parser.add_argument("-o", "--output", choices=["text", "json"], default="text")
    args = parser.parse_args()
    envs, open_prs = specs(args.environments)
    now = dt.datetime.now(dt.UTC)
    with tempfile.TemporaryDirectory() as tmp, FakeGitHub() as github:
        github.add_token(TOKEN, login="bench")
        for repo, numbers in open_prs.items():
            github.add_repo(repo, owner_type="Organization", private=True)
            for n in sorted(numbers):
                github.add_pull(repo, n)
        kubeconfig = Path(tmp) / "kubeconfig"
        with apiserver(kubeconfig, nodes=10, stop_timeout=30):
            started = time.monotonic()
            with config.new_client_from_config(str(kubeconfig)) as api:
                core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
                for spec in envs:
                    make(core, apps, spec, now)
                # The sandbox's StatefulSet controller reports readiness slowly at this scale;
                # after the budget the GC runs anyway (late ones are then judged "broken").
                deadline = time.monotonic() + args.ready_budget
                while not ready(apps, envs) and time.monotonic() < deadline:
                    time.sleep(2)
            setup_s = time.monotonic() - started
            api_client = GitHubApi(TOKEN, github.url)

            async def run() -> tuple[GcResult, float]:
                async with KubeClient(from_kubeconfig(kubeconfig), "bench") as host:
                    t0 = time.monotonic()
                    result = await gc(host, GcOptions(dry_run=True, max_deletions=10**6),
                                      api_client, now=now)
                    return result, time.monotonic() - t0

            result, seconds = asyncio.run(run())
            routes = Counter(f"{e.method} {e.route}" for e in github.log)
            deletions: dict[str, object] = {}
            for parallel in ([args.parallel, 1] if args.serial else [args.parallel]):
                if args.deletions:
                    deletions[f"parallel {parallel}"] = delete_phase(
                        kubeconfig, args.deletions, parallel, f"bench/gone-{parallel}", now)
    rules = Counter(o.decision.rule for o in result.outcomes)
    report({**header(), "environments": len(result.outcomes), "repositories": REPOS,
            "plan_seconds": round(seconds, 2), "setup_seconds": round(setup_s, 1),
            "github_requests": result.github_requests,
            "github_requests_by_route": dict(routes), "decisions": dict(rules),
            "deletion": deletions}, args.output)


def delete_phase(kubeconfig: Path, total: int, parallel: int, repo: str,
                 now: dt.datetime) -> dict[str, object]:
    """`total` expired environments of `repo`, deleted by one GC run; seconds and outcomes."""
    expired = [Spec(repo, pr, expires_in=dt.timedelta(hours=-1), healthy=False)
               for pr in range(1, total + 1)]
    with config.new_client_from_config(str(kubeconfig)) as api:
        core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
        for spec in expired:
            make(core, apps, spec, now)
    cluster = HostCluster.from_kubeconfig(kubeconfig)
    lock = Lock(Holder(f"bench/gc.py pid {os.getpid()}"), wait=False, timeout=0)

    async def run() -> tuple[GcResult, float]:
        async with KubeClient(from_kubeconfig(kubeconfig), "bench") as host:
            t0 = time.monotonic()
            result = await gc(host, GcOptions(repos=(repo,), max_deletions=total,
                                              parallel=parallel), None, now=now,
                              teardown_fn=down_teardown(cluster, host, lock))
            return result, time.monotonic() - t0

    result, seconds = asyncio.run(run())
    outcomes = Counter(o.outcome for o in result.outcomes)
    assert outcomes == {"deleted": total}, outcomes
    return {"environments": total, "seconds": round(seconds, 1),
            "per_environment": round(seconds / total, 2), "outcomes": dict(outcomes)}


if __name__ == "__main__":
    main()
