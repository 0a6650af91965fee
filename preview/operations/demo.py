"""The demo behind `./dev sandbox`: `up` an example as a pull request, serve, then `down`.

Cluster-agnostic: it takes a `HostCluster` like every operation (the sandbox is started by
`preview/cli/sandbox/`, which alone imports `preview.sandbox`), so the demo is exactly
what `preview up` / `preview down` do for a user.
"""

from __future__ import annotations

import asyncio
import getpass
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from preview import config as configuration
from preview import naming, policy
from preview.kube.host import HostCluster
from preview.operations import down, exclusive, up
from preview.pullrequest import PullRequest
from preview.results import DownResult, UpResult
from preview.vcluster.model import Progress

DEMO_OWNER, DEMO_REPO, DEMO_PR = "example", "app", 1
# The sandbox's platform policy: the defaults, with the control plane's data on a claim so
# that the demo can sleep and wake (docs/sleep.md).
DEMO_POLICY = policy.parse({"vcluster": {"persistence": {"enabled": True}}},
                           "the sandbox demo's policy")


@dataclass(frozen=True)
class DemoResult:
    up: UpResult
    down: DownResult


def checkout_head(directory: Path) -> tuple[str, str]:
    """(sha, branch) of the git checkout holding `directory`; a stand-in outside one."""
    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=directory, capture_output=True,
                                  text=True, timeout=10, check=True).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    sha = git("rev-parse", "HEAD")
    branch = git("rev-parse", "--abbrev-ref", "HEAD")
    return (sha if len(sha) == 40 else "0" * 40), (branch if branch not in ("", "HEAD")
                                                   else "main")


def demo_pull_request(example: Path) -> PullRequest:
    """PR #1 of example/app at the checkout's HEAD."""
    sha, branch = checkout_head(example)
    try:
        author = getpass.getuser()
    except (KeyError, OSError):
        author = "developer"
    return PullRequest(owner=DEMO_OWNER, repo=DEMO_REPO, number=DEMO_PR, head_sha=sha,
                       branch=branch, author=author, title="Preview of the example app")


async def demo(host: HostCluster, example: Path, progress: Progress,
               announce: Callable[[UpResult], None], stop: asyncio.Event,
               lock: exclusive.Lock) -> DemoResult:
    """`up` the example at `example` (its preview.yaml), announce, wait for `stop`, `down`
    (each holding the environment's lock as `lock` says)."""
    pr = demo_pull_request(example)
    env = naming.environment_for(pr.owner, pr.repo, pr.number)
    loaded = configuration.load(example / configuration.DEFAULT_FILE, cwd=example)
    rendered = configuration.render(loaded, pr, env, DEMO_POLICY)
    result = await up.up(host, pr, rendered, env, progress, lock=lock)
    announce(result)
    await stop.wait()
    return DemoResult(result, await down.down(host, env, progress, lock=lock))
