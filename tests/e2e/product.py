"""The whole product on a host cluster, as a pull request lives it: the check
`workflows/e2e-kind.yml` runs on kind and tests/e2e/test_product.py runs on the sandbox.

    python -m tests.e2e.product --kubeconfig HOST.kubeconfig --ingress-address 127.0.0.1:80 \\
        [--policy POLICY.yaml] [--install skip|auto] [--repo example/app] [--pr 1]

1. `opened`: action.yml's steps (tests/e2e/composite.py, as a runner runs them) on a
   synthetic `pull_request` event for examples/app, with the host kubeconfig as the
   `kubeconfig` input and no GitHub token (so no comment; the outputs are still written):
   status `ready`, the URL, the namespace carries the contract's labels and the head SHA.
2. The URL answers through the host's ingress controller (`--ingress-address`, the URL's host
   as the Host header) with the commit's page.
3. `preview kubeconfig --tunnel` (the preview the action installed), then `kubectl logs` and
   `kubectl exec` into the app's pod through the virtual cluster's API server.
4. `synchronize` with a new SHA: upgraded in place (same namespace, same uid and created-at,
   the new head SHA, the app's Helm release at revision 2), the page shows the new commit.
5. `closed`: status `torn-down`, and nothing of the environment is left on the host
   (namespace, objects labelled by the chart or the syncer, volumes, cluster-wide RBAC).

Why not `uses: ./` in the workflow: the runner gives a step the job's own event, and a step's
`env:` cannot override `GITHUB_*` variables (docs.github.com, "Variables reference": "You
can't overwrite the value of the default environment variables named GITHUB_* and
RUNNER_*"), so a workflow cannot hand the action a synthetic `pull_request`. This script
runs action.yml's steps itself, with the same runner the suite uses.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from preview import naming
from preview.tools import find_tool
from tests.e2e.composite import StepFailed, action_inputs, run_steps
from tests.e2e.runner import ROOT, Step, pull_request_event

T = TypeVar("T")
CONFIG = "examples/app/preview.yaml"  # relative to GITHUB_WORKSPACE, as a workflow names it
SHA1, SHA2 = "e2e0c0de" * 5, "e2e1face" * 5
NO_GITHUB = "http://127.0.0.1:9"  # nothing listens: without a token nothing may call it
# What the chart and the syncer label (naming.py): the chart's objects, the namespace, copies.
SELECTORS = (f"app.kubernetes.io/part-of={naming.MANAGED_BY_VALUE}", naming.MANAGED_BY)
NAMESPACED = ("all,configmaps,secrets,serviceaccounts,roles,rolebindings,resourcequotas,"
              "limitranges,networkpolicies,ingresses,persistentvolumeclaims")
CLUSTER_WIDE = "namespaces,clusterroles,clusterrolebindings,persistentvolumes"


class CheckFailed(Exception):
    """A step of the check saw something else than the product promises."""


def wait_for(predicate: Callable[[], T | None], timeout: float, what: str) -> T:
    """Poll until `predicate()` is truthy (state another component writes is eventual)."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while True:
        try:
            value = predicate()
            if value:
                return value
        except (CheckFailed, OSError, subprocess.SubprocessError) as e:
            last = e
        if time.monotonic() > deadline:
            raise CheckFailed(f"timed out after {timeout:g}s waiting for {what}"
                              + (f": {last}" if last else ""))
        time.sleep(0.5)


def say(text: str) -> None:
    print(text, flush=True)


@dataclass(frozen=True)
class Tools:
    """The binaries the check drives, all against the host kubeconfig unless told."""

    kubeconfig: Path
    path: str  # PATH for every tool: what the action installed first

    def run(self, tool: str, *args: str, kubeconfig: Path | None = None,
            check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        binary = shutil.which(tool, path=self.path) or str(find_tool(tool))
        result = subprocess.run([binary, "--kubeconfig", str(kubeconfig or self.kubeconfig),
                                 *args], env={**os.environ, "PATH": self.path},
                                capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise CheckFailed(f"{tool} {' '.join(args)} exited {result.returncode}: "
                              f"{result.stderr.strip()}")
        return result

    def json(self, tool: str, *args: str, kubeconfig: Path | None = None) -> Any:
        return json.loads(self.run(tool, *args, "-o", "json", kubeconfig=kubeconfig).stdout)


@dataclass(frozen=True)
class Product:
    """One pull request's life against one host cluster."""

    args: argparse.Namespace
    work: Path
    inputs: dict[str, str]
    env: naming.Environment

    def action(self, event_action: str, sha: str) -> dict[str, dict[str, str]]:
        """action.yml's steps on a `pull_request` event; every step id's outputs."""
        repo, number = self.args.repo, self.args.pr
        state = "closed" if event_action == "closed" else "open"
        step = Step.create(self.work / event_action,
                           pull_request_event(event_action, repo, number, sha, state=state))
        environ = step.environ(NO_GITHUB, repo)
        environ.update({"RUNNER_TOOL_CACHE": str(self.work / "toolcache"),
                        "RUNNER_OS": platform.system(),
                        "RUNNER_ARCH": {"x86_64": "X64", "aarch64": "ARM64"}.get(
                            platform.machine(), platform.machine())})
        context = {"github.action_path": str(ROOT), "github.token": ""}
        say(f"== pull_request {event_action} {sha[:7]}: action.yml's steps")
        return run_steps(step, environ, self.inputs, context, log=say)

    def tools(self, steps: dict[str, dict[str, str]]) -> tuple[str, Tools]:
        """The preview the action ran, and the PATH it ran with (its helm and kubectl)."""
        installed = steps.get("install", {}).get("tools", "")
        path = os.pathsep.join([p for p in (installed, os.environ["PATH"]) if p])
        return steps["locate"]["preview"], Tools(Path(self.args.kubeconfig), path)

    def namespace(self, tools: Tools) -> dict[str, Any] | None:
        found = tools.run("kubectl", "get", "namespace", self.env.namespace,
                          "--ignore-not-found", "-o", "json").stdout
        return json.loads(found) if found.strip() else None

    def fetch(self, url: str) -> str:
        """GET the preview URL through the ingress address, the URL's host as Host."""
        host = url.split("://", 1)[1].split("/", 1)[0]
        request = urllib.request.Request(f"http://{self.args.ingress_address}/",
                                         headers={"Host": host})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return str(response.read().decode())
        except urllib.error.HTTPError as e:
            raise CheckFailed(f"{url} answered {e.code}") from e

    @contextmanager
    def tunnel(self, preview: str, tools: Tools) -> Iterator[Path]:
        """`preview kubeconfig --tunnel`: a kubeconfig of the virtual cluster while it runs."""
        output = self.work / f"virtual-{time.monotonic_ns()}.kubeconfig"
        process = subprocess.Popen(
            [preview, "kubeconfig", "--repo", self.args.repo, "--pr", str(self.args.pr),
             "--tunnel", "--file", str(output), "--kubeconfig", str(tools.kubeconfig)],
            env={**os.environ, "PATH": tools.path}, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True)
        try:
            wait_for(lambda: output.exists() or process.poll() is not None, 60,
                     "the tunnel's kubeconfig")
            if not output.exists():
                raise CheckFailed(f"preview kubeconfig --tunnel exited {process.returncode}: "
                                  f"{process.communicate()[1]}")
            yield output
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                _, err = process.communicate(timeout=30)
            finally:
                process.kill()
        if process.returncode != 0:
            raise CheckFailed(f"the tunnel ended with {process.returncode}: {err}")

    def leftovers(self, tools: Tools) -> list[str]:
        """What of this environment is still on the host: objects in its namespace or named
        after it that carry our labels, its namespace, volumes its claims bound."""
        found = []
        for selector in SELECTORS:
            for kinds, scope in ((NAMESPACED, ("--all-namespaces",)), (CLUSTER_WIDE, ())):
                for item in tools.json("kubectl", "get", kinds, *scope, "-l",
                                       selector)["items"]:
                    meta = item["metadata"]
                    if self.env.namespace in (meta.get("namespace"), meta["name"]) \
                            or meta["name"].endswith(f"-{self.env.namespace}-nodes"):
                        found.append(f"{item['kind']} {meta.get('namespace', '')}/"
                                     f"{meta['name']}")
        for volume in tools.json("kubectl", "get", "persistentvolumes")["items"]:
            claim = volume["spec"].get("claimRef") or {}
            if claim.get("namespace") == self.env.namespace:
                found.append(f"PersistentVolume {volume['metadata']['name']} (claim "
                             f"{claim.get('name')})")
        if self.namespace(tools) is not None:
            found.append(f"Namespace {self.env.namespace}")
        return sorted(set(found))


def expect(condition: object, message: str) -> None:
    if not condition:
        raise CheckFailed(message)


def showing(read: Callable[[], str], needle: str) -> Callable[[], str | None]:
    """A `wait_for` predicate: what `read` returns, once it holds `needle`."""
    def poll() -> str | None:
        text = read()
        return text if needle in text else None
    return poll


def exec_sha(tools: Tools, virtual: Path) -> str:
    """`kubectl exec` into the app's pod through the virtual cluster: the commit it runs."""
    return tools.run("kubectl", "exec", "deployment/app", "-n", "default", "--", "sh", "-c",
                     'echo "sha=$PR_SHA"', kubeconfig=virtual).stdout


def check(product: Product) -> None:
    env, number = product.env, product.args.pr
    opened = product.action("opened", SHA1)
    preview, tools = product.tools(opened)
    out = opened["run"]
    expect(out.get("status") == "ready", f"opened: status {out.get('status')!r}, not ready")
    expect((out.get("namespace"), out.get("vcluster")) == (env.namespace, env.vcluster),
           f"opened: outputs name {out.get('namespace')}/{out.get('vcluster')}, the contract "
           f"{env.namespace}/{env.vcluster}")
    url = out.get("url", "")
    host = url.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0]
    expect(host == f"pr-{number}-{product.args.repo.split('/')[1]}.localhost",
           f"opened: url {url!r} is not examples/app's pr-N-NAME.localhost")
    expect("preview kubeconfig" in out.get("kubeconfig", ""), "opened: no kubeconfig output")
    first = product.namespace(tools)
    expect(first is not None, f"opened: no namespace {env.namespace} on the host")
    assert first is not None
    meta = first["metadata"]
    expect(naming.namespace_labels(env).items() <= meta["labels"].items(),
           f"opened: namespace labels {meta['labels']}")
    expect(meta["annotations"].get(naming.HEAD_SHA) == SHA1, "opened: head-sha annotation")
    say(f"ready at {url}; namespace {env.namespace}")

    page = wait_for(showing(lambda: product.fetch(url), SHA1[:7]), 60,
                    f"{url} through {product.args.ingress_address} to show {SHA1[:7]}")
    expect(f"#{number}" in page, "the page does not name the pull request")
    say(f"{url} answers through the ingress with commit {SHA1[:7]}")

    with product.tunnel(preview, tools) as virtual:
        logs = wait_for(showing(lambda: tools.run(
            "kubectl", "logs", "deployment/app", "-n", "default", kubeconfig=virtual).stdout,
            "serving on"), 60, "the app's log line through the virtual cluster")
        say(f"kubectl logs through the virtual cluster: {logs.splitlines()[0]}")
        shown = exec_sha(tools, virtual)
        expect(f"sha={SHA1[:7]}" in shown, f"kubectl exec printed {shown!r}")
        say("kubectl exec through the virtual cluster: " + shown.strip())

    pushed = product.action("synchronize", SHA2)["run"]
    expect(pushed.get("status") == "ready", f"synchronize: status {pushed.get('status')!r}")
    expect(pushed.get("namespace") == env.namespace and pushed.get("url") == url,
           f"synchronize: moved to {pushed.get('namespace')} {pushed.get('url')}")
    second = product.namespace(tools)
    expect(second is not None, "synchronize: the namespace is gone")
    assert second is not None
    expect(second["metadata"]["uid"] == meta["uid"] and
           second["metadata"]["annotations"].get(naming.CREATED_AT) ==
           meta["annotations"].get(naming.CREATED_AT),
           "synchronize: the namespace was recreated, not upgraded in place")
    expect(second["metadata"]["annotations"].get(naming.HEAD_SHA) == SHA2,
           "synchronize: head-sha annotation not moved to the new commit")
    wait_for(showing(lambda: product.fetch(url), SHA2[:7]), 60, f"{url} to show {SHA2[:7]}")
    with product.tunnel(preview, tools) as virtual:
        history = tools.json("helm", "history", naming.APP_RELEASE, "-n", "default",
                             kubeconfig=virtual)
        revisions = [(row["revision"], row["status"]) for row in history]
        expect(revisions == [(1, "superseded"), (2, "deployed")],
               f"synchronize: the app's release history is {revisions}, not an upgrade")
        shown = wait_for(showing(lambda: exec_sha(tools, virtual), f"sha={SHA2[:7]}"), 60,
                         "the new pod to run the new commit")
        say("upgraded in place: helm revision 2, " + shown.strip())

    closed = product.action("closed", SHA2)["run"]
    expect(closed.get("status") == "torn-down", f"closed: status {closed.get('status')!r}")
    def nothing_left() -> bool:
        left = product.leftovers(tools)
        if left:
            say("still on the host: " + ", ".join(left))
        return not left
    wait_for(nothing_left, 120, "nothing of the environment left on the host")
    say(f"torn down: nothing of {env.namespace} left on the host")


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.e2e.product",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--kubeconfig", required=True, help="the host cluster's kubeconfig")
    parser.add_argument("--ingress-address", required=True, metavar="HOST:PORT",
                        help="where the host's ingress controller serves HTTP")
    parser.add_argument("--policy", help="platform policy file (e.g. its syncer.image)")
    parser.add_argument("--install", choices=("skip", "auto"), default="skip",
                        help="the action's install input (skip: preview, helm, kubectl "
                             "from PATH)")
    parser.add_argument("--repo", default="example/app")
    parser.add_argument("--pr", type=int, default=1)
    parser.add_argument("--work", help="directory for the step files (default: a temporary "
                                       "one)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    owner, name = args.repo.split("/")
    given = {"kubeconfig": Path(args.kubeconfig).read_text(), "github-token": "",
             "config": CONFIG, "install": args.install}
    if args.policy:
        given["policy"] = Path(args.policy).read_text()  # the YAML itself, as vars would
    work = Path(args.work or tempfile.mkdtemp(prefix="preview-product-"))
    context = {"github.action_path": str(ROOT), "github.token": ""}
    product = Product(args, work, action_inputs(given, context),
                      naming.environment_for(owner, name, args.pr))
    try:
        check(product)
    except StepFailed as e:  # its output is in the log already
        print(f"FAILED: {str(e).splitlines()[0]}", file=sys.stderr, flush=True)
        return 1
    except CheckFailed as e:
        print(f"FAILED: {e}", file=sys.stderr, flush=True)
        return 1
    say("the product check passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
