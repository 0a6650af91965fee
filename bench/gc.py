"""Time the GC's plan over 1000 environments: host sandbox over HTTP, fake GitHub over HTTP.

Starts `preview sandbox apiserver --flavour host --nodes 10` as a subprocess and the fake
GitHub server of tests/fakegithub; makes 1000 labelled environment namespaces across 10
repositories (most with a ready virtual-cluster StatefulSet, some broken, expired or of a
closed PR), then times one `preview gc --dry-run` run in-process: list the host, ask GitHub,
plan. Half the repositories have more than 100 open PRs (two pages of pulls).

    .venv/bin/python bench/gc.py [--environments 1000] [-o json]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
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
from preview.operations.gc import GcOptions, gc
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
    rules = Counter(o.decision.rule for o in result.outcomes)
    report({**header(), "environments": len(result.outcomes), "repositories": REPOS,
            "plan_seconds": round(seconds, 2), "setup_seconds": round(setup_s, 1),
            "github_requests": result.github_requests,
            "github_requests_by_route": dict(routes), "decisions": dict(rules)}, args.output)


if __name__ == "__main__":
    main()
