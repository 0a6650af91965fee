"""The health check reaches the URL through the Ingress address, not DNS: the Host header
and SNI are the URL's host, the certificate is verified for it, redirects are answers."""

from __future__ import annotations

import dataclasses
import ssl
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp import web

from preview.deploy import HealthCheckFailed, IngressAddress, health, health_check
from preview.deploy.health import target
from preview.errors import PreviewError
from preview.kube import tls
from tests.deploy.conftest import Lines, run

HOST = "pr-7-shop.preview.test"  # does not resolve: the check must not need DNS


@dataclass
class App:
    """An ingress stand-in: answers for HOST only, 503 for the first `unready` requests."""

    unready: int = 0
    hosts: list[str] = field(default_factory=list)
    server_names: list[str | None] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        self.hosts.append(request.headers.get("Host", ""))
        if request.headers.get("Host") != HOST:
            return web.Response(status=404, text="default backend")
        if request.path == "/old":
            raise web.HTTPMovedPermanently("/new")
        if self.unready > 0:
            self.unready -= 1
            return web.Response(status=503, text="starting")
        return web.Response(text="ok")


@asynccontextmanager
async def serving(app_state: App, ca: tls.KeyPair, names: list[str] | None = None
                  ) -> AsyncIterator[IngressAddress]:
    app = web.Application()
    app.router.add_get("/{tail:.*}", app_state.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    names = names or [HOST]
    context = tls.server_context(tls.issue(ca, names, names[0]))

    def remember(sock: ssl.SSLObject, name: str | None, ctx: ssl.SSLContext) -> None:
        app_state.server_names.append(name)

    context.sni_callback = remember  # type: ignore[assignment]
    http, https = web.TCPSite(runner, "127.0.0.1", 0), web.TCPSite(runner, "127.0.0.1", 0,
                                                                      ssl_context=context)
    await http.start()
    await https.start()
    try:
        yield IngressAddress("127.0.0.1", port_of(http), port_of(https))
    finally:
        await runner.cleanup()


def port_of(site: web.TCPSite) -> int:
    server = site._server
    assert server is not None
    return int(server.sockets[0].getsockname()[1])  # type: ignore[union-attr]


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> tuple[tls.KeyPair, Path]:
    pair = tls.new_ca("test ingress CA")
    path = tmp_path_factory.mktemp("ca") / "ca.crt"
    path.write_bytes(pair.cert_pem)
    return pair, path


def test_http_retries_until_ready_with_the_url_host(ca: tuple[tls.KeyPair, Path]) -> None:
    app, lines = App(unready=2), Lines()

    async def scenario() -> int:
        async with serving(app, ca[0]) as address:
            return await health_check(f"http://{HOST}", address, "/", (200, 399), 20, lines)

    assert run(scenario()) == 200
    assert app.hosts == [HOST] * 3
    assert lines == [f"GET http://{HOST}/: 503 (retrying)", f"GET http://{HOST}/: 200"]


def test_https_verifies_the_certificate_for_the_url_host(
        ca: tuple[tls.KeyPair, Path]) -> None:
    app = App()

    async def scenario() -> None:
        async with serving(app, ca[0]) as address:
            url = f"https://{HOST}/"
            assert await health_check(url, address, "/", (200, 299), 10, Lines(),
                                      ca_file=ca[1]) == 200
            with pytest.raises(HealthCheckFailed) as e:  # not signed by a system CA
                await health_check(url, address, "/", (200, 299), 1.5, Lines())
            assert "certificate" in e.value.message.lower() and e.value.status is None
            assert await health_check(url, address, "/", (200, 299), 10, Lines(),
                                      insecure=True) == 200

    run(scenario())
    assert set(app.server_names) == {HOST}
    assert app.hosts == [HOST, HOST]  # the unverified attempts never got to send a request


def test_redirects_are_answers_not_followed(ca: tuple[tls.KeyPair, Path]) -> None:
    app = App()

    async def scenario() -> None:
        async with serving(app, ca[0]) as address:
            url = f"http://{HOST}"
            assert await health_check(url, address, "/old", (200, 399), 10, Lines()) == 301
            with pytest.raises(HealthCheckFailed) as e:
                await health_check(url, address, "/old", (200, 299), 1.5, Lines())
            assert e.value.status == 301 and "-> /new" in e.value.message
            assert e.value.hint and "healthCheck" in e.value.hint

    run(scenario())
    assert all(h == HOST for h in app.hosts)  # /new was never requested
    assert len(app.hosts) >= 2


def test_nothing_listening_fails_at_the_timeout() -> None:
    address = IngressAddress("127.0.0.1", 1, 1)  # nothing listens on port 1
    lines = Lines()
    with pytest.raises(HealthCheckFailed) as e:
        run(health_check(f"http://{HOST}", address, "/", (200, 399), 1.5, lines))
    assert e.value.status is None
    assert lines and lines[0].startswith(f"GET http://{HOST}/: ") and "(retrying)" in lines[0]


def test_target_connects_to_the_address_with_the_url_host() -> None:
    address = IngressAddress("10.0.0.5", 8080, 8443)
    assert target("https://a.example.com/app?x=1", address, "") == (
        "https://10.0.0.5:8443/app?x=1", "a.example.com", "a.example.com")
    assert target("http://a.example.com:8000/app", address, "/healthz") == (
        "http://10.0.0.5:8080/healthz", "a.example.com:8000", "a.example.com")
    assert target("http://a.example.com", IngressAddress("fd00::1"), "")[0] == \
        "http://[fd00::1]:80/"
    with pytest.raises(PreviewError):
        target("ftp://a.example.com", address, "/")


def test_a_lasting_gateway_error_names_the_backend(ca: tuple[tls.KeyPair, Path],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(health, "GATEWAY_GRACE_S", 1.0)
    app = App(unready=1000)  # 503 for ever
    asked: list[str] = []

    async def backend() -> str:
        asked.append("backend")
        return "ingress/app sends it to service/app port 80, which has no ready endpoints"

    async def scenario() -> None:
        async with serving(app, ca[0]) as address:
            with pytest.raises(HealthCheckFailed) as e:
                await health_check(f"http://{HOST}", address, "/", (200, 399), 30, Lines(),
                                   backend=backend)
            assert e.value.status == 503
            assert e.value.message == (
                f"GET http://{HOST}/: 503 for 1s: no backend answered the ingress; "
                "ingress/app sends it to service/app port 80, which has no ready endpoints")

    started = time.monotonic()
    run(scenario())
    assert time.monotonic() - started < 10 and asked == ["backend"]


def test_an_untrusted_certificate_for_the_host_fails_at_once_naming_it(
        ca: tuple[tls.KeyPair, Path]) -> None:
    async def scenario() -> None:
        async with serving(App(), ca[0]) as address:
            with pytest.raises(HealthCheckFailed) as e:
                await health_check(f"https://{HOST}/", address, "/", (200, 299), 30, Lines())
            assert e.value.message.startswith(
                f"GET https://{HOST}/: the ingress served a certificate for {HOST} issued by "
                "test ingress CA, which is not trusted")
            assert e.value.hint and "healthCheck.caFile" in e.value.hint

    started = time.monotonic()
    run(scenario())
    assert time.monotonic() - started < 5


def test_a_placeholder_certificate_is_waited_for_when_the_ingress_promises_one(
        ca: tuple[tls.KeyPair, Path]) -> None:
    # An ingress serving its own certificate for another name (ingress-nginx's "fake
    # certificate") while the Ingress's TLS secret may still be being issued.
    other = tls.new_ca("Kubernetes Ingress Controller Fake Certificate")

    async def scenario() -> None:
        async with serving(App(), other, names=["ingress.local"]) as address:
            promised = dataclasses.replace(address, tls_hosts=(HOST,))
            started = time.monotonic()
            with pytest.raises(HealthCheckFailed) as e:
                await health_check(f"https://{HOST}/", promised, "/", (200, 299), 3, Lines())
            assert time.monotonic() - started >= 1.5  # waited for the real certificate
            assert "a certificate for ingress.local issued by Kubernetes Ingress Controller " \
                   "Fake Certificate" in e.value.message
            with pytest.raises(HealthCheckFailed):  # nothing promised: no reason to wait
                await health_check(f"https://{HOST}/", address, "/", (200, 299), 30, Lines())

    run(scenario())
