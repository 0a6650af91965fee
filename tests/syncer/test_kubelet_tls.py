"""The kubelet API's TLS: issued by k3s's server CA, only for clients of k3s's client CA, and
not served at all (the syncer not ready) until k3s has written both: it fails closed."""

from __future__ import annotations

import asyncio
import ssl
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from preview.errors import PreviewError
from preview.kube import tls
from preview.syncer.context import SyncContext
from preview.syncer.main import kubelet_tls, serve_kubelet
from preview.syncer.server import app
from preview.syncer.settings import SyncerConfig
from preview.syncer.syncer import SyncOptions
from tests.syncer.conftest import free_port


def config(ca_dir: Path | None, port: int = 1, wait: float = 300.0,
           address: str = "127.0.0.1") -> SyncerConfig:
    return SyncerConfig(SyncContext("vc", "ns"), Path("/nowhere"), kubelet_port=port,
                        kubelet_ca_dir=ca_dir, listen_host="127.0.0.1", wait_for_virtual=wait,
                        options=SyncOptions(kubelet_address=address, kubelet_port=port))


class K3s:
    """k3s's TLS directory as k3s writes it, and certificates of its own or another CA."""

    def __init__(self, tls_dir: Path) -> None:
        self.dir = tls_dir
        self.server_ca, self.client_ca = tls.new_ca("k3s-server-ca"), tls.new_ca("k3s-client-ca")

    def write(self) -> None:
        (self.dir / "server-ca.crt").write_bytes(self.server_ca.cert_pem)
        (self.dir / "server-ca.key").write_bytes(self.server_ca.key_pem)
        (self.dir / "client-ca.crt").write_bytes(self.client_ca.cert_pem)

    def client(self, ca: tls.KeyPair | None) -> ssl.SSLContext:
        """A client verifying the kubelet against k3s's server CA, presenting a certificate
        from `ca` (None: none at all)."""
        context = ssl.create_default_context(cadata=self.server_ca.cert_pem.decode())
        if ca is not None:
            cert = tls.issue(ca, [], "kube-apiserver", client=True)
            crt, key = self.dir / "client.crt", self.dir / "client.key"
            crt.write_bytes(cert.cert_pem)
            key.write_bytes(cert.key_pem)
            context.load_cert_chain(crt, key)
        return context


async def handshake(server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext,
                    name: str = "127.0.0.1") -> bytes:
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"ok")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=server_ctx)
    port = server.sockets[0].getsockname()[1]
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=client_ctx,
                                                       server_hostname=name)
        data = await reader.read()
        writer.close()
        return data
    finally:
        server.close()


def refused(server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext,
            name: str = "127.0.0.1") -> bool:
    try:  # TLS 1.3: the server refuses after the client's side of the handshake is done
        return asyncio.run(handshake(server_ctx, client_ctx, name)) == b""
    except (ssl.SSLError, ConnectionError):
        return True


def test_issued_by_k3s_and_only_for_its_clients(tmp_path: Path) -> None:
    k3s = K3s(tmp_path)
    k3s.write()
    server = kubelet_tls(config(tmp_path))
    assert server is not None
    assert asyncio.run(handshake(server, k3s.client(k3s.client_ca))) == b"ok"
    assert refused(server, k3s.client(None))  # anonymous
    assert refused(server, k3s.client(tls.new_ca("another-cluster")))  # signed by another CA
    assert refused(server, k3s.client(k3s.server_ca))  # k3s's, but not its client CA


@pytest.mark.parametrize("address", ["10.1.2.3", "syncer.vc.svc", ""])
def test_the_certificate_names_the_address_k3s_dials_and_loopback(tmp_path: Path,
                                                                  address: str) -> None:
    # k3s verifies the kubelet's name (--kubelet-certificate-authority): the node address
    # the syncer reports, and loopback for a syncer beside it in the pod; nothing else.
    k3s = K3s(tmp_path)
    k3s.write()
    server = kubelet_tls(config(tmp_path, address=address))
    assert server is not None
    for name in {address or "127.0.0.1", "127.0.0.1", "localhost"}:
        assert asyncio.run(handshake(server, k3s.client(k3s.client_ca), name)) == b"ok", name
    assert refused(server, k3s.client(k3s.client_ca), "10.9.9.9")


def test_without_a_ca_directory_the_error_says_which_to_give() -> None:
    with pytest.raises(PreviewError) as caught:
        kubelet_tls(config(None))
    assert (caught.value.message, caught.value.hint) == (
        "the kubelet API needs --kubelet-ca-dir",
        "give k3s's TLS directory, e.g. /data/k3s/server/tls")


@pytest.mark.parametrize("present", [(), ("server-ca.crt", "server-ca.key"),
                                     ("client-ca.crt",)])
def test_no_tls_without_both_cas(tmp_path: Path, present: tuple[str, ...]) -> None:
    k3s = K3s(tmp_path)
    k3s.write()
    for name in {"server-ca.crt", "server-ca.key", "client-ca.crt"} - set(present):
        (tmp_path / name).unlink()
    assert kubelet_tls(config(tmp_path)) is None


def test_a_half_written_ca_is_not_yet_there(tmp_path: Path) -> None:
    k3s = K3s(tmp_path)
    k3s.write()
    (tmp_path / "client-ca.crt").write_bytes(k3s.client_ca.cert_pem[:40])
    assert kubelet_tls(config(tmp_path)) is None


def _get(url: str, context: ssl.SSLContext | None = None) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=2, context=context) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


class _Synced:
    """The part of a Syncer health and the kubelet API read: informers synced, no pods."""

    ready = True
    virtual_informers: dict[str, Any] = {"pods": type("NoPods", (), {
        "get": staticmethod(lambda namespace, name: None)})()}


async def _waits_then_serves(tmp_path: Path) -> None:
    from aiohttp import web

    k3s, port, health_port = K3s(tmp_path), free_port(), free_port()
    waiting: dict[str, str] = {}
    syncer: Any = _Synced()
    health = web.AppRunner(app(syncer, waiting))
    await health.setup()
    await web.TCPSite(health, "127.0.0.1", health_port).start()
    kubelet = asyncio.create_task(serve_kubelet(config(tmp_path, port), syncer, waiting,
                                                interval=0.05))
    try:
        readyz = f"http://127.0.0.1:{health_port}/readyz"
        await asyncio.sleep(0.2)
        status, text = await asyncio.to_thread(_get, readyz)
        assert status == 503 and "waiting for k3s's CAs" in text and str(tmp_path) in text
        assert "(server-ca.crt, server-ca.key, client-ca.crt)" in text
        with pytest.raises(OSError):  # nothing listens: no one is served, not even anonymously
            await asyncio.open_connection("127.0.0.1", port)

        k3s.write()
        for _ in range(100):
            if await asyncio.to_thread(_get, readyz) == (200, "ok"):
                break
            await asyncio.sleep(0.05)
        assert await asyncio.to_thread(_get, readyz) == (200, "ok")
        url = f"https://127.0.0.1:{port}/containerLogs/default/web/c"
        status, text = await asyncio.to_thread(_get, url, k3s.client(k3s.client_ca))
        assert (status, text) == (404, "pod default/web is not synced here")
        with pytest.raises((ssl.SSLError, ConnectionError, urllib.error.URLError)):
            await asyncio.to_thread(_get, url, k3s.client(None))
    finally:
        kubelet.cancel()
        await asyncio.gather(kubelet, return_exceptions=True)
        await health.cleanup()


def test_waits_for_the_cas_not_ready_then_serves_with_client_auth(tmp_path: Path) -> None:
    asyncio.run(_waits_then_serves(tmp_path))


def test_gives_up_instead_of_serving_without_client_auth(tmp_path: Path) -> None:
    syncer: Any = _Synced()
    with pytest.raises(PreviewError, match="waiting for k3s's CAs") as caught:
        asyncio.run(serve_kubelet(config(tmp_path, free_port(), wait=0.2), syncer, {},
                                  interval=0.05))
    assert caught.value.hint == "check the k3s container's logs; is --kubelet-ca-dir k3s's " \
        "<data-dir>/server/tls?"


async def _serves_at_once(tmp_path: Path) -> None:
    k3s, port = K3s(tmp_path), free_port()
    k3s.write()
    waiting: dict[str, str] = {}
    syncer: Any = _Synced()
    # No time to wait at all: CAs already there are used at once, not looked for again.
    kubelet = asyncio.create_task(serve_kubelet(config(tmp_path, port, wait=0), syncer,
                                                waiting, interval=10))
    try:
        for _ in range(100):
            await asyncio.sleep(0.02)
            if kubelet.done():
                break
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                continue
            writer.close()
            break
        assert not kubelet.done() and waiting == {}
        # Served at once, and with client authentication all the same.
        url = f"https://127.0.0.1:{port}/containerLogs/default/web/c"
        with pytest.raises((ssl.SSLError, ConnectionError, urllib.error.URLError)):
            await asyncio.to_thread(_get, url, k3s.client(None))
        # --listen-host: on loopback only, as asked, not on every address of the pod.
        with pytest.raises(OSError):
            await asyncio.open_connection("127.0.0.2", port)
    finally:
        kubelet.cancel()
        await asyncio.gather(kubelet, return_exceptions=True)


def test_cas_already_there_serve_at_once_on_the_listen_host_only(tmp_path: Path) -> None:
    asyncio.run(_serves_at_once(tmp_path))


class _OnePod(_Synced):
    """A syncer whose virtual cluster has one pod, default/synced."""

    virtual_informers: dict[str, Any] = {"pods": type("OnePod", (), {"get": staticmethod(
        lambda namespace, name: {} if (namespace, name) == ("default", "synced") else None)})()}


async def _kubelet_answers(tmp_path: Path) -> dict[str, tuple[int, str]]:
    k3s, port = K3s(tmp_path), free_port()
    k3s.write()
    syncer: Any = _OnePod()
    kubelet = asyncio.create_task(serve_kubelet(config(tmp_path, port), syncer, {}))
    client = k3s.client(k3s.client_ca)
    try:
        for _ in range(100):
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.close()
                break
            except OSError:
                await asyncio.sleep(0.05)
        answers = {}
        for path in ("containerLogs/default/web/c", "exec/default/web/c",
                     "attach/default/web/c", "portForward/default/web",
                     "exec/default/synced/c", "attach/default/synced/c",
                     "portForward/default/synced"):
            answers[path] = await asyncio.to_thread(
                _get, f"https://127.0.0.1:{port}/{path}?command=id", client)
        return answers
    finally:
        kubelet.cancel()
        await asyncio.gather(kubelet, return_exceptions=True)


def test_the_kubelet_api_answers_only_for_synced_pods_and_streams_only_websockets(
        tmp_path: Path) -> None:
    # k3s's API server asks for logs, exec, attach and port-forward of virtual pods: a pod
    # this syncer does not run is not found; a stream is a WebSocket or nothing.
    answers = asyncio.run(_kubelet_answers(tmp_path))
    assert answers == {
        "containerLogs/default/web/c": (404, "pod default/web is not synced here"),
        "exec/default/web/c": (404, "pod default/web is not synced here"),
        "attach/default/web/c": (404, "pod default/web is not synced here"),
        "portForward/default/web": (404, "pod default/web is not synced here"),
        "exec/default/synced/c": (400, "Upgrade request required (WebSockets)"),
        "attach/default/synced/c": (400, "Upgrade request required (WebSockets)"),
        "portForward/default/synced": (400, "Upgrade request required (WebSockets)"),
    }
