"""Concurrent runs of one pull request (issue 29): the real `preview up`/`down` CLI as
subprocesses, two and three at a time, against a host sandbox. Whatever the interleaving,
exactly one environment is left, ready (or gone, when the later run was a `down`), and every
run's exit code and words describe it. Ten rounds: bench/concurrency.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, config

from preview import lease, naming
from preview.sandbox.runner import Sandbox
from tests.conftest import wait_for

pytestmark = [pytest.mark.sandbox, pytest.mark.tools]
ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "examples" / "app" / "preview.yaml"
REPO, PR = "example/race", 7
ENV = naming.environment_for("example", "race", PR)


@pytest.fixture(scope="module")
def host() -> Iterator[tuple[Sandbox, client.CoreV1Api, client.CoordinationV1Api]]:
    with Sandbox() as sb, config.new_client_from_config(sb.kubeconfig) as api:
        yield sb, client.CoreV1Api(api), client.CoordinationV1Api(api)


def start(sb: Sandbox, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "preview", *args, "--repo", REPO, "--pr",
                             str(PR), "-o", "json", "--kubeconfig", sb.kubeconfig],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def start_up(sb: Sandbox, sha: str) -> subprocess.Popen[str]:
    return start(sb, "up", "--config", str(APP), "--sha", sha)


def finish(proc: subprocess.Popen[str]) -> tuple[int, dict[str, Any], str]:
    out, err = proc.communicate(timeout=300)
    assert "Traceback" not in err, err
    return proc.returncode, json.loads(out) if out.strip() else {}, err


def lease_of(coordination: client.CoordinationV1Api) -> Any:
    try:
        return coordination.read_namespaced_lease(lease.LEASE_NAME, ENV.namespace)
    except client.ApiException as e:
        if e.status == 404:
            return None
        raise


def environments(sb: Sandbox) -> list[dict[str, Any]]:
    out = subprocess.run([sys.executable, "-m", "preview", "list", "--repo", REPO, "-o",
                          "json", "--kubeconfig", sb.kubeconfig],
                         capture_output=True, text=True, check=True, timeout=60).stdout
    rows: list[dict[str, Any]] = json.loads(out)
    return rows


def assert_one_ready(sb: Sandbox, sha: str) -> None:
    rows = environments(sb)
    assert [(r["namespace"], r["status"], r["head_sha"]) for r in rows] == \
        [(ENV.namespace, "ready", sha)], rows


@pytest.mark.parametrize("runs", [2, 3])
def test_concurrent_ups_leave_one_ready_environment(host: Any, runs: int) -> None:
    sb, _, _ = host
    shas = [f"{runs}{i}".ljust(40, "a") for i in range(runs)]
    procs = [start_up(sb, sha) for sha in shas]
    results = [finish(p) for p in procs]
    for code, result, err in results:
        assert code == 0, err
        assert result["status"] == "ready", result
    waited = [r for _, r, _ in results if r["waited_for"]]
    assert len(waited) >= runs - 1, results  # all but the first waited for another run
    for _, result, err in results:
        if result["waited_for"]:
            assert f"waiting for {result['waited_for']} (up) of {REPO} PR {PR} to finish" \
                in err
    # The environment is the last run's commit, and every run said what it left.
    namespace = host[1].read_namespace(ENV.namespace)
    last = namespace.metadata.annotations[naming.HEAD_SHA]
    assert last in shas
    assert_one_ready(sb, last)
    assert lease_of(host[2]) is None  # released


def test_no_wait_yields_to_the_running_up(host: Any) -> None:
    sb, _, coordination = host
    first = start_up(sb, "b" * 40)
    wait_for(lambda: lease_of(coordination) is not None and first.poll() is None,
             timeout=60, what="the first up to hold the lock")
    code, result, err = finish(start(sb, "up", "--config", str(APP), "--sha", "c" * 40,
                                     "--no-wait"))
    assert code == 4 and result == {}, err
    assert "yielded:" in err and "(up) is working on example/race PR 7" in err, err
    assert finish(first)[0] == 0
    assert_one_ready(sb, "b" * 40)


def test_up_then_down_ends_gone(host: Any) -> None:
    sb, _, coordination = host
    up = start_up(sb, "d" * 40)
    wait_for(lambda: lease_of(coordination) is not None, timeout=60,
             what="the up to hold the lock")
    down = start(sb, "down")
    (up_code, up_result, up_err), (down_code, down_result, down_err) = finish(up), finish(down)
    assert up_code == 0 and up_result["status"] == "ready", up_err
    assert down_code == 0 and down_result["existed"], down_err
    assert "waiting for" in down_err and "(up) of example/race PR 7" in down_err
    assert environments(sb) == []


def test_down_then_up_ends_ready_and_fresh(host: Any) -> None:
    sb, core, coordination = host
    assert finish(start_up(sb, "e" * 40))[0] == 0
    old_uid = core.read_namespace(ENV.namespace).metadata.uid
    down = start(sb, "down")

    def down_holds() -> bool:
        held = lease_of(coordination)
        return held is not None and (held.metadata.annotations or {}).get(
            naming.LOCK_OPERATION) == "down"

    wait_for(down_holds, timeout=60, what="the down to hold the lock")
    up = start_up(sb, "f" * 40)
    (down_code, _, down_err), (up_code, up_result, up_err) = finish(down), finish(up)
    assert down_code == 0, down_err
    assert up_code == 0 and up_result["status"] == "ready", up_err
    if "(down) of example/race PR 7 to finish" in up_err:  # else it came after the down
        assert f"waiting for {up_result['waited_for']} (down)" in up_err
    assert core.read_namespace(ENV.namespace).metadata.uid != old_uid  # made afresh
    assert_one_ready(sb, "f" * 40)
