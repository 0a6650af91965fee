"""The host ingress serves the example app: Ingress -> Service -> the python pod, over HTTP(S).

The example chart (`examples/app/chart`) is installed with the real helm; requests go to the
ingress controller's loopback ports with the preview's Host, as a browser sends them for
`http://pr-1-app.localhost:PORT/`.
"""

from __future__ import annotations

import html
import http.client
import json
import socket
import ssl
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from preview.sandbox.runner import Sandbox
from tests.conftest import KubectlRunner, wait_for

pytestmark = pytest.mark.sandbox
CHART = Path(__file__).resolve().parents[2] / "examples" / "app" / "chart"
SHA = "0123456789abcdef0123456789abcdef01234567"


class _HTTPSTo(http.client.HTTPSConnection):
    """HTTPS to 127.0.0.1 with `name` as SNI and the name the certificate must carry."""

    def __init__(self, port: int, name: str, context: ssl.SSLContext) -> None:
        super().__init__("127.0.0.1", port, context=context, timeout=10)
        self.name = name

    def connect(self) -> None:
        http.client.HTTPConnection.connect(self)
        self.sock = self._context.wrap_socket(self.sock, server_hostname=self.name)  # type: ignore[attr-defined]


def get(sandbox: Sandbox, host: str, path: str = "/", https: bool = False,
        method: str = "GET", context: ssl.SSLContext | None = None
        ) -> tuple[int, dict[str, str], str]:
    conn: http.client.HTTPConnection
    if https:
        ctx = context or ssl.create_default_context(cadata=sandbox.ca_pem.decode())
        conn = _HTTPSTo(sandbox.ingress_https_port, host, ctx)
    else:
        conn = http.client.HTTPConnection("127.0.0.1", sandbox.ingress_http_port, timeout=10)
    try:
        conn.request(method, path, headers={"Host": host})
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read().decode(errors="replace")
    finally:
        conn.close()


def status_of(sandbox: Sandbox, host: str, path: str = "/") -> int:
    return get(sandbox, host, path)[0]


@pytest.fixture
def app(helm: KubectlRunner, namespace: str, sandbox: Sandbox) -> str:
    """The example installed as release `app` for PR #1; its (per-test unique) host."""
    host = f"pr-1-{namespace}.localhost"
    helm("install", "app", str(CHART), "-n", namespace, "--set", f"ingress.host={host}",
         "--set", "pr.number=1", "--set", f"pr.sha={SHA}",
         "--set-string", "pr.branch=feature/<b>bold</b>", "--wait", "--timeout", "60s")
    wait_for(lambda: status_of(sandbox, host) == 200, 30, 0.1, "the page to answer 200")
    return host


def test_the_page_shows_the_pull_request(sandbox: Sandbox, app: str) -> None:
    status, headers, body = get(sandbox, app)
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert "pull request <strong>#1</strong>" in body
    assert f"<code>{SHA[:7]}</code>" in body and SHA[:8] not in body
    # The branch is the PR author's text: escaped, never markup.
    assert "feature/&lt;b&gt;bold&lt;/b&gt;" in body and "<b>bold" not in body
    assert get(sandbox, app, method="HEAD")[0] == 200


def test_ingress_status_publishes_the_loopback_ports(sandbox: Sandbox, app: str,
                                                      api_client: client.ApiClient,
                                                      namespace: str) -> None:
    net = client.NetworkingV1Api(api_client)

    def published() -> list[Any]:
        status = net.read_namespaced_ingress("app", namespace).status
        lb = status.load_balancer if status else None
        return list((lb.ingress if lb else None) or [])

    [entry] = wait_for(published, what="the ingress address")
    assert entry.ip == "127.0.0.1"
    assert [(p.port, p.protocol) for p in entry.ports] == [
        (sandbox.ingress_http_port, "TCP"), (sandbox.ingress_https_port, "TCP")]


def test_https_with_the_sandbox_ca(sandbox: Sandbox, app: str) -> None:
    status, _, body = get(sandbox, app, https=True)
    assert status == 200 and "#1" in body
    # The certificate names the requested host, and only the sandbox's CA vouches for it.
    with pytest.raises(ssl.SSLCertVerificationError):
        get(sandbox, app, https=True, context=ssl.create_default_context())
    with socket.create_connection(("127.0.0.1", sandbox.ingress_https_port), 10) as raw, \
            ssl.create_default_context(cadata=sandbox.ca_pem.decode()).wrap_socket(
                raw, server_hostname=app) as tls:
        cert = tls.getpeercert() or {}
        names = [str(entry[1]) for entry in cert.get("subjectAltName", ())]
    assert names == [app]


def test_forwarded_headers_reach_the_pod(sandbox: Sandbox, namespace: str,
                                         kubectl: KubectlRunner, app: str) -> None:
    get(sandbox, app, "/?from=test")
    logs = kubectl("logs", "deploy/app", "-n", namespace).stdout
    assert '"GET /?from=test HTTP/1.1" 200' in logs


def test_unknown_host_and_path_are_404(sandbox: Sandbox, app: str) -> None:
    status, _, body = get(sandbox, "nobody.localhost")
    assert status == 404 and "no Ingress rule matches" in body
    # The app's own 404 for a path it does not serve comes through unchanged.
    assert get(sandbox, app, "/missing")[0] == 404


def test_no_ready_endpoint_is_503(sandbox: Sandbox, app: str, kubectl: KubectlRunner,
                                  namespace: str) -> None:
    kubectl("scale", "deployment/app", "-n", namespace, "--replicas=0")
    wait_for(lambda: status_of(sandbox, app) == 503, 30, 0.1, "503 once no pod is ready")
    _, _, body = get(sandbox, app)
    assert f'no ready endpoints for service "{namespace}/app"' in html.unescape(body)
    kubectl("scale", "deployment/app", "-n", namespace, "--replicas=2")
    wait_for(lambda: status_of(sandbox, app) == 200, 30, 0.1, "200 once pods are ready again")

    def served_by() -> set[str]:
        return {get(sandbox, app)[2].split("Served by pod ")[1].split(".")[0] for _ in range(4)}

    # Once both replicas are ready, consecutive requests are spread over them (round robin).
    wait_for(lambda: len(served_by()) == 2, 30, 0.1, "both replicas to serve")


def test_path_routing_and_simulated_backends(sandbox: Sandbox, app: str,
                                             kubectl: KubectlRunner, namespace: str) -> None:
    """One host, two paths: the python app under /, a simulated nginx under /sim."""
    kubectl("create", "deployment", "sim", "--image=nginx:1.27", "--port=80", "-n", namespace)
    kubectl("expose", "deployment", "sim", "--port=80", "-n", namespace)
    kubectl("rollout", "status", "deployment/sim", "-n", namespace, "--timeout=60s")
    host = f"paths-{namespace}.localhost"
    ingress = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
               "metadata": {"name": "paths", "namespace": namespace},
               "spec": {"rules": [{"host": host, "http": {"paths": [
                   {"path": "/", "pathType": "Prefix", "backend": {"service": {
                       "name": "app", "port": {"name": "http"}}}},
                   {"path": "/sim", "pathType": "Prefix", "backend": {"service": {
                       "name": "sim", "port": {"number": 80}}}},
                   {"path": "/healthz", "pathType": "Exact", "backend": {"service": {
                       "name": "missing", "port": {"number": 80}}}}]}}]}}
    kubectl("apply", "-f", "-", input=json.dumps(ingress))
    wait_for(lambda: status_of(sandbox, host, "/") == 200, 30, 0.1, "the new rule to serve")
    status, _, body = get(sandbox, host, "/sim/page")
    assert status == 502 and "simulated container" in body
    status, _, body = get(sandbox, host, "/healthz")  # Exact rule to a missing Service
    assert status == 503 and f'service "{namespace}/missing" not found' in html.unescape(body)
    assert get(sandbox, host, "/healthz/")[0] == 404  # not the Exact path: the app's 404
    assert get(sandbox, host, "/simulator")[0] == 404  # Prefix /sim is element-wise


def test_tls_hosts_redirect_to_https(sandbox: Sandbox, app: str, kubectl: KubectlRunner,
                                     namespace: str) -> None:
    kubectl("patch", "ingress", "app", "-n", namespace, "--type=merge", "-p", json.dumps(
        {"spec": {"tls": [{"hosts": [app], "secretName": "unused"}]}}))
    wait_for(lambda: status_of(sandbox, app, "/x?y=1") == 308, 30, 0.1, "the redirect")
    _, headers, _ = get(sandbox, app, "/x?y=1")
    assert headers["Location"] == f"https://{app}:{sandbox.ingress_https_port}/x?y=1"
    assert get(sandbox, app, https=True)[0] == 200
