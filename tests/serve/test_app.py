"""`preview serve` for real: the API as a subprocess against the host sandbox, a local OIDC
issuer minting GitHub-like tokens over HTTPS, `preview up --api` and `down --api` as the
action runs them — tried as an attacker would: forged tokens, another repository's or pull
request's environment, a hostile preview.yaml, a hostile bundle; nothing may be created."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from kubernetes import client

from preview import naming
from preview.sandbox.oidc import OidcIssuer
from preview.sandbox.runner import Sandbox
from preview.serve import bundle, openapi
from tests.conftest import wait_for
from tests.operations.test_environments import SHA1, namespace_of
from tests.serve import healthy

pytestmark = [pytest.mark.sandbox, pytest.mark.tools]
ROOT = Path(__file__).resolve().parents[2]
AUDIENCE = "preview-sandbox"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Platform:
    """The issuer (on a background loop), the Actions runtime's token endpoint and the API."""

    issuer: OidcIssuer
    loop: asyncio.AbstractEventLoop
    api_url: str
    runtime_url: str
    log: Path
    token_claims: dict[str, Any]  # what the runtime endpoint mints tokens with

    def mint(self, repository: str = "example/app", pr: int = 61, **overrides: Any) -> str:
        return self.issuer.mint(self.issuer.claims(repository, pr=pr, **overrides))

    def request(self, method: str, path: str, token: str | None, body: bytes | None = None,
                query: str = "") -> tuple[int, str]:
        headers = {"Content-Type": "application/gzip"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        req = urllib.request.Request(f"{self.api_url}{path}{query}", data=body, method=method,
                                     headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=240) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()


@pytest.fixture(scope="module")
def platform(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    with running_platform(sandbox, tmp_path_factory.mktemp("serve")) as started:
        yield started


@contextlib.contextmanager
def running_platform(sandbox: Sandbox, workdir: Path, *serve_flags: str) -> Iterator[Platform]:
    """The issuer, the runtime's token endpoint and `preview serve SERVE_FLAGS…` on the
    sandbox. The runtime mints tokens of `Platform.token_claims`, the pull request of a
    `pr=N` in its query first (runs for two pull requests at once)."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    issuer = asyncio.run_coroutine_threadsafe(OidcIssuer(audience=AUDIENCE).start(),
                                              loop).result(30)
    claims: dict[str, Any] = {}

    async def token(request: web.Request) -> web.Response:
        # The Actions runtime: a token for the asked audience, of the job's claims.
        if request.headers.get("Authorization") != "Bearer runtime-secret":
            return web.Response(status=401)
        job = {**claims, **({"pr": int(request.query["pr"])} if "pr" in request.query
                            else {})}
        minted = issuer.mint(issuer.claims(**job, aud=request.query.get("audience")))
        return web.json_response({"value": minted})

    runtime = web.Application()
    runtime.router.add_get("/token", token)
    runner = web.AppRunner(runtime)
    asyncio.run_coroutine_threadsafe(runner.setup(), loop).result(30)
    runtime_port = free_port()
    asyncio.run_coroutine_threadsafe(
        web.TCPSite(runner, "127.0.0.1", runtime_port).start(), loop).result(30)
    policy = workdir / "policy.yaml"
    policy.write_text(json.dumps({"repositories": ["example/*"],
                                  "api": {"issuer": issuer.url, "audience": AUDIENCE}}))
    ca = workdir / "issuer-ca.pem"
    ca.write_bytes(issuer.ca_pem)
    port = free_port()
    log = workdir / "serve.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "preview", "serve", "--policy", str(policy), "--issuer-ca",
             str(ca), "--listen", f"127.0.0.1:{port}", "--kubeconfig", sandbox.kubeconfig,
             "--workdir", str(workdir / "bundles"), *serve_flags], stdout=out,
            stderr=subprocess.STDOUT)
    api_url = f"http://127.0.0.1:{port}"

    try:
        wait_for(lambda: healthy(api_url), timeout=60, what="preview serve to answer")
        yield Platform(issuer, loop, api_url, f"http://127.0.0.1:{runtime_port}/token?x=1",
                       log, claims)
    finally:
        server.terminate()
        server.wait(timeout=60)
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(30)
        asyncio.run_coroutine_threadsafe(issuer.stop(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


def example_bundle(extra: str = "") -> bytes:
    repo = ROOT / "examples" / "app"
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w:gz") as tar:
        text = (repo / "preview.yaml").read_text() + extra
        info = tarfile.TarInfo("preview.yaml")
        info.size = len(text.encode())
        tar.addfile(info, io.BytesIO(text.encode()))
        tar.add(repo / "chart", arcname="chart")
    return data.getvalue()


def nothing_for(api_client: client.ApiClient, repo: str, pr: int) -> bool:
    owner, name = repo.split("/")
    env = naming.environment_for(owner, name, pr)
    return namespace_of(client.CoreV1Api(api_client), env.namespace) is None


def test_forged_tokens_are_401_and_create_nothing(platform: Platform,
                                                  api_client: client.ApiClient) -> None:
    body = example_bundle()
    hostile = platform.issuer.hostile("example/app", pr=61)
    assert {"signed by another key", "alg none", "HS256 signed with the public key", "expired",
            "not yet valid", "wrong aud", "wrong iss", "missing repository"} <= set(hostile)
    for name, token in [*hostile.items(), ("no token", None)]:
        status, text = platform.request("PUT", "/v1/environments/example/app/61", token, body,
                                        f"?sha={SHA1}")
        assert status == 401, (name, status, text)
        assert token is None or token not in text
    assert nothing_for(api_client, "example/app", 61)


def test_a_token_acts_only_on_its_own_repository_and_pull_request(
        platform: Platform, api_client: client.ApiClient) -> None:
    token = platform.mint("example/app", 61)
    body = example_bundle()
    for method, path in (("PUT", "/v1/environments/example/other/61"),
                         ("PUT", "/v1/environments/example/app/62"),
                         ("DELETE", "/v1/environments/example/other/61"),
                         ("DELETE", "/v1/environments/example/app/62"),
                         ("GET", "/v1/environments/example/other"),
                         ("GET", "/v1/environments/example/other/61")):
        status, text = platform.request(method, path, token, body if method == "PUT" else None,
                                        f"?sha={SHA1}")
        assert status == 403, (method, path, status, text)
    status, text = platform.request("PUT", "/v1/environments/mallory/app/61",
                                    platform.mint("mallory/app", 61), body, f"?sha={SHA1}")
    assert status == 403 and "mallory/app" in text
    assert nothing_for(api_client, "example/other", 61)
    assert nothing_for(api_client, "example/app", 62)
    assert nothing_for(api_client, "mallory/app", 61)


@pytest.mark.parametrize(("member", "words"), [
    ("link-to-passwd", "chart/files/k: a link to /etc/passwd, outside the bundle"),
    ("traversal", "'..' leaves the bundle"),
])
def test_a_hostile_bundle_is_400_and_creates_nothing(platform: Platform,
                                                     api_client: client.ApiClient,
                                                     member: str, words: str) -> None:
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w:gz") as tar:
        info = tarfile.TarInfo("chart/files/k" if member == "link-to-passwd" else "../k")
        if member == "link-to-passwd":
            info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
            tar.addfile(info)
        else:
            info.size = 1
            tar.addfile(info, io.BytesIO(b"x"))
    status, text = platform.request("PUT", "/v1/environments/example/app/61",
                                    platform.mint("example/app", 61), data.getvalue(),
                                    f"?sha={SHA1}")
    assert status == 400 and words in text, text
    assert nothing_for(api_client, "example/app", 61)
    assert not Path("/tmp/k").exists() or Path("/tmp/k").read_bytes() != b"x"


def preview_api(platform: Platform, *args: str, repo: str = "example/app", pr: int = 61,
                code: int = 0) -> subprocess.CompletedProcess[str]:
    """`preview ARGS --api URL` as the action runs it on a pull_request job."""
    platform.token_claims.clear()
    platform.token_claims.update(repository=repo, pr=pr)
    environ = {k: v for k, v in os.environ.items()
               if not k.startswith(("GITHUB_", "ACTIONS_", "KUBECONFIG"))}
    environ.update(ACTIONS_ID_TOKEN_REQUEST_URL=platform.runtime_url,
                   ACTIONS_ID_TOKEN_REQUEST_TOKEN="runtime-secret")
    result = subprocess.run([sys.executable, "-m", "preview", *args, "--api", platform.api_url,
                             "--audience", AUDIENCE], env=environ, capture_output=True,
                            text=True, timeout=300, cwd=ROOT)
    assert result.returncode == code, (result.returncode, result.stderr, result.stdout)
    assert "Traceback" not in result.stderr
    return result


def test_the_policy_example_is_refused_by_the_api_whatever_the_workflow_says(
        platform: Platform, api_client: client.ApiClient, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "examples" / "app", repo)
    (repo / ".git").mkdir()
    config = repo / "preview.yaml"
    config.write_text(config.read_text() + "vcluster:\n  syncer: {image: attacker.example/x}\n"
                      "  sync: {allow: [privileged]}\n")
    result = preview_api(platform, "up", "--config", str(config), "--repo", "example/app",
                         "--pr", "61", "--sha", SHA1, code=2)
    assert "vcluster.syncer.image: set by the platform policy" in result.stderr
    assert "'privileged' may not be relaxed" in result.stderr
    assert nothing_for(api_client, "example/app", 61)


def test_a_chart_linking_outside_the_repository_is_refused_before_the_upload(
        platform: Platform, api_client: client.ApiClient, tmp_path: Path) -> None:
    # API mode reads the chart on the runner too: a link to the runner's files is refused
    # there, naming it, and nothing of the pull request is uploaded or created.
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "examples" / "app", repo)
    (repo / ".git").mkdir()
    secret = tmp_path / "runner-secret"
    secret.write_text("s3cret-of-the-runner")
    (repo / "chart" / "files").mkdir(exist_ok=True)
    (repo / "chart" / "files" / "k").symlink_to(secret)
    result = preview_api(platform, "up", "--config", str(repo / "preview.yaml"), "--repo",
                         "example/app", "--pr", "63", "--sha", SHA1, code=2)
    assert f"chart.path: files/k is a link to {secret.resolve()}, outside the repository" \
        in result.stderr, result.stderr
    assert "uploading" not in result.stderr
    assert "s3cret" not in result.stderr + result.stdout + platform.log.read_text()
    assert nothing_for(api_client, "example/app", 63)


def test_up_and_down_through_the_api(platform: Platform, sandbox: Sandbox,
                                     api_client: client.ApiClient) -> None:
    config = ROOT / "examples" / "app" / "preview.yaml"
    up = preview_api(platform, "up", "--config", str(config), "--repo", "example/app", "--pr",
                     "61", "--sha", SHA1, "-o", "json")
    result = json.loads(up.stdout)
    assert result["status"] == "ready", result
    assert result["url"] == f"http://pr-61-app.localhost:{sandbox.ingress_http_port}"
    assert "uploading" in up.stderr and "checking the chart" in up.stderr  # streamed
    env = naming.environment_for("example", "app", 61)
    status, text = platform.request("GET", "/v1/environments/example/app",
                                    platform.mint("example/app", 61))
    assert status == 200 and [e["pr"] for e in json.loads(text)["environments"]] == [61]
    # The audit: a JSON line naming the run, and an Event on the environment's namespace.
    audit = [json.loads(line.split(": ", 1)[1]) for line in platform.log.read_text().splitlines()
             if "preview.serve.audit" in line]
    assert any(a["audit"] == "create" and a["repository"] == "example/app" and a["pr"] == 61
               and a["outcome"] == "ready" for a in audit), audit
    events = client.CoreV1Api(api_client).list_namespaced_event(env.namespace).items
    assert any(e.reason == "PreviewCreate" and "ready" in e.message for e in events)
    down = preview_api(platform, "down", "--repo", "example/app", "--pr", "61")
    assert "is gone" in down.stdout
    assert nothing_for(api_client, "example/app", 61)


def test_metrics_and_the_openapi_document(platform: Platform) -> None:
    # A request of this test's own, so the counter does not depend on the tests before it.
    status, _ = platform.request("DELETE", "/v1/environments/example/app/64", None, b"")
    assert status == 401
    with urllib.request.urlopen(f"{platform.api_url}/metrics", timeout=10) as response:
        text = response.read().decode()
    assert ('preview_serve_requests_total{method="DELETE",'
            'route="/v1/environments/{owner}/{repo}/{pr}",status="401"}') in text
    served = {"/v1/environments/{owner}/{repo}", "/v1/environments/{owner}/{repo}/{pr}",
              "/v1/environments/{owner}/{repo}/{pr}/kubeconfig",
              "/healthz", "/readyz", "/metrics", "/openapi.json"}
    assert set(openapi.DOCUMENT["paths"]) == served
    with urllib.request.urlopen(f"{platform.api_url}/openapi.json", timeout=10) as response:
        assert json.loads(response.read())["paths"].keys() == served


def test_bundle_files_are_what_up_reads(tmp_path: Path) -> None:
    from preview import config

    loaded = config.load(ROOT / "examples" / "app" / "preview.yaml")
    files = bundle.files_of(loaded)
    assert files[0] == ROOT / "examples" / "app" / "preview.yaml"
    assert (ROOT / "examples" / "app" / "chart").resolve() in [f.resolve() for f in files]


def test_the_action_in_api_mode_holds_no_host_credential(platform: Platform,
                                                         api_client: client.ApiClient,
                                                         tmp_path: Path) -> None:
    # The action's own entry point on a pull_request event: no kubeconfig input at all,
    # the OIDC token from the runtime, the comment and outputs as in kubeconfig mode.
    from tests.e2e.runner import Step, pull_request_event
    from tests.e2e.test_github_flow import TOKEN, make_fake

    platform.token_claims.clear()
    platform.token_claims.update(repository="example/app", pr=63)
    with make_fake("example/app", 63, SHA1) as fake:
        step = Step.create(tmp_path / "opened",
                           pull_request_event("opened", "example/app", 63, SHA1))
        environ = step.environ(fake.url, "example/app")
        environ.update({"INPUT_API_URL": platform.api_url, "INPUT_AUDIENCE": AUDIENCE,
                        "INPUT_GITHUB_TOKEN": TOKEN, "INPUT_CONFIG": "examples/app/preview.yaml",
                        "ACTIONS_ID_TOKEN_REQUEST_URL": platform.runtime_url,
                        "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "runtime-secret"})
        environ.pop("KUBECONFIG", None)
        result = subprocess.run([sys.executable, "-m", "preview", "action"], env=environ,
                                cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr + result.stdout
        assert step.outputs()["status"] == "ready"
        [comment] = fake.comments("example/app", 63)
        assert "is ready" in comment["body"]
        # The developer's way to a kubeconfig is the API too: no host credential.
        assert (f"preview kubeconfig --api {platform.api_url} --repo example/app --pr 63"
                in comment["body"]), comment["body"]
        closed = Step.create(tmp_path / "closed",
                             pull_request_event("closed", "example/app", 63, SHA1,
                                                state="closed"))
        environ.update(GITHUB_EVENT_PATH=str(closed.event_path),
                       GITHUB_OUTPUT=str(closed.output_path))
        result = subprocess.run([sys.executable, "-m", "preview", "action"], env=environ,
                                cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr + result.stdout
    assert nothing_for(api_client, "example/app", 63)


def test_two_creates_for_one_pull_request_at_once(platform: Platform,
                                                  api_client: client.ApiClient) -> None:
    # Both sent at once: the API takes the environment's Lease for each in turn, so one
    # builds it and the other finds it built; both answers say ready, one environment.
    config = ROOT / "examples" / "app" / "preview.yaml"
    platform.token_claims.clear()
    platform.token_claims.update(repository="example/app", pr=64)
    environ = {k: v for k, v in os.environ.items()
               if not k.startswith(("GITHUB_", "ACTIONS_", "KUBECONFIG"))}
    environ.update(ACTIONS_ID_TOKEN_REQUEST_URL=platform.runtime_url,
                   ACTIONS_ID_TOKEN_REQUEST_TOKEN="runtime-secret")
    runs = [subprocess.Popen(
        [sys.executable, "-m", "preview", "up", "--config", str(config), "--repo",
         "example/app", "--pr", "64", "--sha", sha, "-o", "json", "--api", platform.api_url,
         "--audience", AUDIENCE], env=environ, cwd=ROOT, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True) for sha in (SHA1, "5e6f7a8b" * 5)]
    answers = [run.communicate(timeout=300) for run in runs]
    for run, (out, err) in zip(runs, answers, strict=True):
        assert run.returncode == 0, err
        assert json.loads(out)["status"] == "ready"
    env = naming.environment_for("example", "app", 64)
    core = client.CoreV1Api(api_client)
    namespaces = [ns.metadata.name for ns in core.list_namespace(
        label_selector=f"{naming.REPO}={env.repo_label},{naming.PR}=64").items]
    assert namespaces == [env.namespace]
    preview_api(platform, "down", "--repo", "example/app", "--pr", "64", pr=64)
    assert nothing_for(api_client, "example/app", 64)
