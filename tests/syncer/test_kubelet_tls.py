"""The kubelet API's TLS: issued by k3s's CA when readable, and only for k3s's clients."""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path

from preview.kube import tls
from preview.syncer.context import SyncContext
from preview.syncer.main import kubelet_tls
from preview.syncer.settings import SyncerConfig
from preview.syncer.syncer import SyncOptions


def config(ca_dir: Path | None) -> SyncerConfig:
    return SyncerConfig(SyncContext("vc", "ns"), Path("/nowhere"), kubelet_port=1,
                        kubelet_ca_dir=ca_dir,
                        options=SyncOptions(kubelet_address="127.0.0.1", kubelet_port=1))


async def handshake(server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext) -> bytes:
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"ok")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=server_ctx)
    port = server.sockets[0].getsockname()[1]
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=client_ctx)
        data = await reader.read()
        writer.close()
        return data
    finally:
        server.close()


def test_issued_by_k3s_and_requires_its_client_certificate(tmp_path: Path) -> None:
    server_ca, client_ca = tls.new_ca("k3s-server-ca"), tls.new_ca("k3s-client-ca")
    (tmp_path / "server-ca.crt").write_bytes(server_ca.cert_pem)
    (tmp_path / "server-ca.key").write_bytes(server_ca.key_pem)
    (tmp_path / "client-ca.crt").write_bytes(client_ca.cert_pem)
    apiserver = tls.issue(client_ca, [], "kube-apiserver-kubelet-client", client=True)
    cert, key = tmp_path / "client.crt", tmp_path / "client.key"
    cert.write_bytes(apiserver.cert_pem)
    key.write_bytes(apiserver.key_pem)

    client = ssl.create_default_context(cadata=server_ca.cert_pem.decode())
    client.load_cert_chain(cert, key)
    assert asyncio.run(handshake(kubelet_tls(config(tmp_path)), client)) == b"ok"

    anonymous = ssl.create_default_context(cadata=server_ca.cert_pem.decode())
    try:  # TLS 1.3: the server refuses after the client's side of the handshake is done
        refused = asyncio.run(handshake(kubelet_tls(config(tmp_path)), anonymous)) == b""
    except (ssl.SSLError, ConnectionError):
        refused = True
    assert refused


def test_own_certificate_without_k3s_files() -> None:
    insecure = ssl.create_default_context()
    insecure.check_hostname = False
    insecure.verify_mode = ssl.CERT_NONE
    assert asyncio.run(handshake(kubelet_tls(config(None)), insecure)) == b"ok"
