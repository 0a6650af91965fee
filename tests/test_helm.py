"""`preview.helm`: a read that could not reach the cluster is asked again (bounded); an
answer, even a refusal, is not."""

from __future__ import annotations

import asyncio
import logging
import socket
from pathlib import Path

import pytest
import yaml

from preview import helm
from preview.sandbox.runner import Sandbox


@pytest.mark.parametrize(("stderr", "again"), [
    ('Error: Kubernetes cluster unreachable: Get "https://127.0.0.1:41234/version": '
     "net/http: TLS handshake timeout", True),
    ('Error: Get "https://127.0.0.1:1/api": dial tcp 127.0.0.1:1: connect: connection '
     "refused", True),
    ("Error: read tcp 127.0.0.1:5->127.0.0.1:6: read: connection reset by peer", True),
    ("Error: unexpected EOF", True),
    ("Error: release: not found", False),
    ('Error: secrets is forbidden: User "x" cannot list resource "secrets"', False),
    ("Error: INSTALLATION FAILED: another operation (install/upgrade/rollback) is in "
     "progress", False),
])
def test_transient_is_not_reached_not_refused(stderr: str, again: bool) -> None:
    assert helm.transient(stderr) is again


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    finally:
        writer.close()


@pytest.mark.sandbox
@pytest.mark.tools
def test_a_read_is_asked_again_when_the_cluster_was_not_reached(
        sandbox: Sandbox, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # helm's kubeconfig names a loopback port where nothing listens yet: the first
    # `helm history` is refused. When the retry is announced, a forwarder to the sandbox
    # starts listening on that port (bound before the retry runs), and the retry answers.
    config = yaml.safe_load(Path(sandbox.kubeconfig).read_text())
    target = config["clusters"][0]["cluster"]["server"]
    target_host, target_port = target.removeprefix("https://").rsplit(":", 1)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    config["clusters"][0]["cluster"]["server"] = f"https://127.0.0.1:{port}"
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump(config))
    kubeconfig.chmod(0o600)
    servers: list[asyncio.Server] = []
    starting: list[asyncio.Task[None]] = []

    async def forward(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(target_host, int(target_port))
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))

    class StartOnRetry(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if "attempt 2 of" in record.getMessage() and not starting:
                listener.listen(16)  # connections queue from now on
                starting.append(asyncio.get_running_loop().create_task(start()))

    async def start() -> None:
        servers.append(await asyncio.start_server(forward, sock=listener))

    async def scenario() -> list[helm.Revision]:
        handler = StartOnRetry()
        logging.getLogger("preview.helm").addHandler(handler)
        try:
            return await helm.Helm(kubeconfig).history("never-installed", "default")
        finally:
            logging.getLogger("preview.helm").removeHandler(handler)
            for server in servers:
                server.close()

    with caplog.at_level(logging.WARNING, logger="preview.helm"):
        assert asyncio.run(scenario()) == []
    retries = [r.getMessage() for r in caplog.records if "transient failure" in r.getMessage()]
    assert retries == [f"helm history never-installed: attempt 2 of {helm.ATTEMPTS} after a "
                       "transient failure"]
