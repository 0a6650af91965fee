"""Fixtures shared by every suite: sandboxes over real HTTP, the official client, kubectl."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
from kubernetes import client, config

from preview.sandbox.runner import Sandbox
from preview.tools import find_tool
from tests import processes

# MUTANT_UNDER_TEST in mutmut's own process (`./dev mutants`); in a mutant's child, its name.
_MUTMUTS_OWN = ("", "stats", "list_all_tests", "mutant_generation", "fail")


def _in_mutmuts_process() -> bool:
    return "mutmut" in sys.modules and os.environ.get("MUTANT_UNDER_TEST", "") in _MUTMUTS_OWN


def pytest_configure(config: pytest.Config) -> None:
    # `./dev mutants` (TESTING.md): each mutant's tests run in a process group of their own,
    # so a mutant that signals its group (`os.kill(0, …)` from a flipped `pid == 0` in the
    # templating worker) ends its own run, not mutmut's.
    if os.environ.get("MUTANT_UNDER_TEST", "") not in _MUTMUTS_OWN:
        os.setpgid(0, 0)


def raw_request(sb: Sandbox, method: str, path: str, body: bytes | None = None,
                content_type: str = "application/json") -> tuple[int, dict]:
    """One HTTP request with plain urllib: what is on the wire, no client interpreting it."""
    req = urllib.request.Request(sb.url + path, data=body, method=method, headers={
        "Authorization": f"Bearer {sb.admin_token}", "Content-Type": content_type})
    try:
        with urllib.request.urlopen(req, timeout=10, context=sb.ssl_context()) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


T = TypeVar("T")


def wait_for(predicate: Callable[[], T], timeout: float = 30.0, interval: float = 0.05,
             what: str = "condition") -> T:
    """Poll until `predicate()` is truthy and return it; fail the test after `timeout`.

    The default bound is generous: it only says when to give up, a passing test returns as
    soon as the condition holds, and `./dev test` runs three test files at once on machines
    as small as 2 cores shared with other work, where a sandbox can take 10 s to get going."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


@pytest.fixture(scope="session", autouse=True)
def no_process_left_behind() -> Iterator[None]:
    """Fail the run when a test leaves a process running (a tunnel, a syncer, a helm).

    Set up first and so torn down last, after every sandbox has stopped its own. Not in
    mutmut's own process (`./dev mutants` runs its first tests there): a subreaper there
    would inherit the orphans of later mutants' tests, and mutmut's `os.wait()` takes their
    ends for a mutant's (a KeyError that stops the run). A mutant's tests, in a child of
    their own, keep the check: a mutant that leaves its worker running is killed by it."""
    if _in_mutmuts_process() or not processes.become_subreaper():
        yield
        return
    before = set(processes.descendants())
    yield
    leftovers: dict[int, str] = {}

    def settled() -> bool:
        nonlocal leftovers
        processes.reap()
        leftovers = {pid: cmd for pid, cmd in processes.descendants().items()
                     if pid not in before}
        return not leftovers

    try:
        wait_for(settled, timeout=15, interval=0.2, what="the tests' processes to exit")
    except AssertionError:
        processes.kill(leftovers)
        processes.reap()
        raise AssertionError("processes left running after the tests (killed now):\n" +
                             "\n".join(f"  {pid}: {cmd}" for pid, cmd in leftovers.items())
                             ) from None


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Sandbox]:
    """One emulated API server for the session; tests isolate themselves by namespace."""
    with Sandbox() as sb:
        yield sb


@pytest.fixture(scope="session")
def api_client(sandbox: Sandbox) -> Iterator[client.ApiClient]:
    with config.new_client_from_config(sandbox.kubeconfig) as c:
        yield c


@pytest.fixture
def core(api_client: client.ApiClient) -> client.CoreV1Api:
    return client.CoreV1Api(api_client)


@pytest.fixture
def apps(api_client: client.ApiClient) -> client.AppsV1Api:
    return client.AppsV1Api(api_client)


@pytest.fixture
def namespace(core: client.CoreV1Api) -> str:
    """A fresh namespace per test (left for the sandbox to discard at session end)."""
    name = f"t-{uuid.uuid4().hex[:10]}"
    core.create_namespace({"metadata": {"name": name}})
    return name


KubectlRunner = Callable[..., subprocess.CompletedProcess[str]]


def tool_runner(tool: str, default_kubeconfig: str, timeout: float) -> KubectlRunner:
    """Run the real `tool` binary (kubectl, helm); `check=False` to inspect failures."""
    binary = str(find_tool(tool))

    def run(*args: str, input: str | None = None, check: bool = True,
            kubeconfig: str | Path | None = None) -> subprocess.CompletedProcess[str]:
        cmd = [binary, "--kubeconfig", str(kubeconfig or default_kubeconfig), *args]
        result = subprocess.run(cmd, input=input, capture_output=True, text=True,
                                timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(f"{tool} {' '.join(args)} failed ({result.returncode}):\n"
                                 f"{result.stderr}{result.stdout}")
        return result

    return run


@pytest.fixture
def kubectl(sandbox: Sandbox) -> KubectlRunner:
    """The real kubectl against the session's sandbox."""
    return tool_runner("kubectl", sandbox.kubeconfig, 60)


@pytest.fixture
def helm(sandbox: Sandbox) -> KubectlRunner:
    """The real helm (v4) against the session's sandbox."""
    return tool_runner("helm", sandbox.kubeconfig, 120)


@pytest.fixture(scope="session")
def kubectl_path() -> str:
    """The real kubectl binary, for tests that run it themselves."""
    return str(find_tool("kubectl"))
