"""`preview.serve.slots`: at most `limit` creates at once, the others in arrival order, each
told where it stands; and `preview serve --max-concurrent-creates 1` for real: two pull
requests' creates at once, the second queued, both ready."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator

import pytest
from kubernetes import client

from preview.sandbox.runner import Sandbox
from preview.serve.slots import Slots, queued_line
from tests.conftest import wait_for
from tests.operations.test_environments import SHA1
from tests.serve.test_app import AUDIENCE, ROOT, Platform, nothing_for, running_platform


class Said(list[str]):
    def __call__(self, line: str) -> None:
        self.append(line)


def test_the_queued_line_names_how_many_are_ahead() -> None:
    assert queued_line(1, 1, 1) == ("queued behind 1 environment (1 being built, at most 1 at "
                                    "once on this API)")
    assert queued_line(5, 4, 4).startswith("queued behind 5 environments (4 being built")


def test_a_limit_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one"):
        Slots(0)


def test_creates_beyond_the_limit_wait_in_order_and_say_where_they_stand() -> None:
    async def scenario() -> tuple[list[str], dict[str, Said], list[tuple[int, int]]]:
        counts: list[tuple[int, int]] = []
        slots = Slots(2, on_change=lambda running, queued: counts.append((running, queued)))
        order: list[str] = []
        said = {name: Said() for name in "abcde"}
        done = {name: asyncio.Event() for name in "abcde"}

        async def create(name: str) -> None:
            async with slots.take(said[name]):
                order.append(name)
                await done[name].wait()

        tasks = {}
        for name in "abcde":
            tasks[name] = asyncio.create_task(create(name))
            await asyncio.sleep(0)  # arrive in this order
        await asyncio.sleep(0)
        assert order == ["a", "b"] and (slots.running, slots.queued) == (2, 3)
        for name in "bacde":
            done[name].set()
            await tasks[name]
        return order, said, counts

    order, said, counts = asyncio.run(scenario())
    assert order == ["a", "b", "c", "d", "e"]  # first come, first built
    assert said["a"] == [] and said["b"] == []
    assert said["c"][0].startswith("queued behind 2 environments (2 being built")
    assert said["e"][0].startswith("queued behind 4 environments")
    # e moves up as those ahead of it end, and says so (a place it passed through between
    # two of its turns may go unsaid), then builds.
    places = [int(line.split()[2]) for line in said["e"][:-1]]
    assert places[0] == 4 and places == sorted(set(places), reverse=True) and len(places) > 1
    assert said["e"][-1].startswith("building: waited")
    assert max(running for running, _ in counts) == 2
    assert counts[-1] == (0, 0)


def test_a_queued_create_cancelled_leaves_the_queue_and_a_cancelled_holder_its_slot() -> None:
    async def scenario() -> tuple[list[str], int, int]:
        slots = Slots(1)
        order: list[str] = []
        release = asyncio.Event()

        async def create(name: str) -> None:
            async with slots.take(Said()):
                order.append(name)
                await release.wait()

        first = asyncio.create_task(create("first"))
        await asyncio.sleep(0)
        waiting = asyncio.create_task(create("cancelled"))
        last = asyncio.create_task(create("last"))
        await asyncio.sleep(0)
        waiting.cancel()
        await asyncio.gather(waiting, return_exceptions=True)
        assert slots.queued == 1
        first.cancel()  # the holder goes away: its slot passes to the next in line
        await asyncio.gather(first, return_exceptions=True)
        await asyncio.sleep(0)
        release.set()
        await last
        return order, slots.running, slots.queued

    assert asyncio.run(scenario()) == (["first", "last"], 0, 0)


def test_a_long_wait_is_said_again_at_the_heartbeat() -> None:
    async def scenario() -> Said:
        slots = Slots(1, heartbeat=0.05)
        said = Said()
        release = asyncio.Event()

        async def hold() -> None:
            async with slots.take(Said()):
                await release.wait()

        holder = asyncio.create_task(hold())
        await asyncio.sleep(0)
        waiter = asyncio.create_task(slots.take(said).__aenter__())
        while len(said) < 3:  # the same place, said again while nothing moves
            await asyncio.sleep(0.01)
        release.set()
        await holder
        await waiter
        return said

    said = asyncio.run(scenario())
    assert said[0] == said[1] == said[2] == queued_line(1, 1, 1)


@pytest.fixture(scope="module")
def one_at_a_time(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory
                  ) -> Iterator[Platform]:
    with running_platform(sandbox, tmp_path_factory.mktemp("serve-one"),
                          "--max-concurrent-creates", "1") as started:
        yield started


def job(platform: Platform, pr: int) -> dict[str, str]:
    """A pull_request job's environment for PR `pr`: its OIDC token from the runtime."""
    environ = {k: v for k, v in os.environ.items()
               if not k.startswith(("GITHUB_", "ACTIONS_", "KUBECONFIG"))}
    environ.update(ACTIONS_ID_TOKEN_REQUEST_URL=f"{platform.runtime_url}&pr={pr}",
                   ACTIONS_ID_TOKEN_REQUEST_TOKEN="runtime-secret")
    return environ


def metrics_of(platform: Platform) -> dict[str, float]:
    with urllib.request.urlopen(f"{platform.api_url}/metrics", timeout=10) as response:
        lines = response.read().decode().splitlines()
    return {name: float(value) for name, value in (line.split() for line in lines if
                                                    line.startswith("preview_serve_creates_")
                                                    and " " in line)}


@pytest.mark.sandbox
@pytest.mark.tools
def test_a_create_beyond_the_limit_is_queued_says_so_and_ends_ready(
        one_at_a_time: Platform, api_client: client.ApiClient) -> None:
    platform = one_at_a_time
    platform.token_claims.clear()
    platform.token_claims.update(repository="example/app")
    config = ROOT / "examples" / "app" / "preview.yaml"

    def start(pr: int) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "preview", "up", "--config", str(config), "--repo",
             "example/app", "--pr", str(pr), "--sha", SHA1, "-o", "json", "--api",
             platform.api_url, "--audience", AUDIENCE], env=job(platform, pr), cwd=ROOT,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    runs = {pr: start(pr) for pr in (71, 72)}
    # While one is built the other waits, and /metrics says so.
    wait_for(lambda: metrics_of(platform) == {"preview_serve_creates_running": 1.0,
                                              "preview_serve_creates_queued": 1.0},
             timeout=120, what="one create running and one queued in /metrics")
    answers = {pr: run.communicate(timeout=600) for pr, run in runs.items()}
    for pr, (out, err) in answers.items():
        assert runs[pr].returncode == 0, err
        assert json.loads(out)["status"] == "ready", out
    queued = [pr for pr, (_, err) in answers.items()
              if "queued behind 1 environment (1 being built, at most 1 at once on this API)"
              in err]
    assert len(queued) == 1, {pr: err for pr, (_, err) in answers.items()}
    assert "building: waited" in answers[queued[0]][1]
    assert metrics_of(platform) == {"preview_serve_creates_running": 0.0,
                                    "preview_serve_creates_queued": 0.0}
    for pr in runs:
        down = subprocess.run([sys.executable, "-m", "preview", "down", "--repo", "example/app",
                               "--pr", str(pr), "--api", platform.api_url, "--audience",
                               AUDIENCE], env=job(platform, pr), cwd=ROOT, capture_output=True,
                              text=True, timeout=300)
        assert down.returncode == 0, down.stderr
        assert nothing_for(api_client, "example/app", pr)
