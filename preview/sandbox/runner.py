"""Running the emulator: in-process on a background thread (tests), or in the foreground (CLI).

The in-process `Sandbox` owns one event loop on one thread; `run_coroutine_threadsafe` is
the single, documented bridge between the caller's thread and that loop.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import signal
import ssl
import tempfile
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import web

from preview.sandbox.apiserver.auth import certs
from preview.sandbox.apiserver.endpoints.server import ApiServer
from preview.sandbox.apiserver.storage import snapshot
from preview.sandbox.cluster import kubeconfig
from preview.sandbox.cluster.config import ServerConfig
from preview.sandbox.cluster.controllers import start_controllers

T = TypeVar("T")


class Running:
    """A started server: its aiohttp runner and its controllers."""

    def __init__(self, server: ApiServer, runner: web.AppRunner, url: str,
                 tls: certs.ServingCerts, tasks: list[asyncio.Task[None]]) -> None:
        self.server, self.runner, self.url, self.tls, self.tasks = server, runner, url, tls, tasks

    def kubeconfig(self, token: str, **kw: Any) -> dict[str, Any]:
        return kubeconfig.kubeconfig(self.url, token, ca_pem=self.tls.ca_pem, **kw)

    @property
    def ingress_ports(self) -> dict[str, int]:
        """{"http": port, "https": port} of the host ingress controller ({} without one)."""
        return dict(self.server.ingress_ports)

    def admin_kubeconfig(self) -> dict[str, Any]:
        """A host cluster's admin kubeconfig holds kubeadm's `kubernetes-admin` client
        certificate, as kind writes it; a virtual one (the k3s stand-in) the admin token."""
        admin = self.tls.admin
        if self.server.config.flavour != "host" or admin is None:
            return self.kubeconfig(self.server.config.admin_token)
        return self.kubeconfig("", user=certs.ADMIN_USER,
                               client_cert=(admin.cert_pem, admin.key_pem))

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.runner.cleanup()
        data_dir = self.server.config.data_dir
        if data_dir is not None:  # k3s's database outlives the process: so does ours
            snapshot.save(self.server.store, self.server.signer.key, snapshot.path_in(data_dir))


async def start(config: ServerConfig, host: str = "127.0.0.1", port: int = 0) -> Running:
    if config.data_dir is not None:
        config = dataclasses.replace(config, admin_token=snapshot.admin_token(
            config.data_dir, config.admin_token))
    server = ApiServer(config)
    if config.data_dir is not None:
        key = snapshot.load(server.store, snapshot.path_in(config.data_dir))
        if key:
            server.signer.key = key
    hosts = tuple(dict.fromkeys((host, "localhost", *config.tls_sans)))
    if config.data_dir is not None:
        tls, kubelet = certs.k3s_tls(config.data_dir / "server" / "tls", hosts)
        server.kubelet_tls = kubelet.context()
    else:
        tls = certs.generate(hosts)
    runner = web.AppRunner(server.app, access_log=None, handle_signals=False,
                           shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, host, port, reuse_address=True, ssl_context=tls.server_context())
    await site.start()
    server_sockets = getattr(site._server, "sockets", None) or []
    actual = server_sockets[0].getsockname()[1] if server_sockets else port
    url = f"https://{host}:{actual}"
    server.address = f"{host}:{actual}"
    server.ca_pem, server.ca_key_pem = tls.ca_pem, tls.ca_key_pem
    tasks = start_controllers(server, url, tls.client_context())
    return Running(server, runner, url, tls, tasks)


class Sandbox:
    """An emulated cluster on 127.0.0.1 for tests and the demo.

    >>> with Sandbox() as sb:
    ...     subprocess.run(["kubectl", "--kubeconfig", sb.kubeconfig, "get", "ns"])
    """

    def __init__(self, config: ServerConfig | None = None, *, port: int = 0,
                 kubeconfig_path: Path | None = None) -> None:
        self.config = config or ServerConfig()
        self.port = port
        self._kubeconfig_path = kubeconfig_path
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._running: Running | None = None
        self.url = ""

    # -- lifecycle -----------------------------------------------------------------------------
    def start(self) -> Sandbox:
        loop = asyncio.new_event_loop()
        ready = threading.Event()
        self._loop = loop

        def run() -> None:
            asyncio.set_event_loop(loop)
            ready.set()
            loop.run_forever()

        self._thread = threading.Thread(target=run, name="sandbox-apiserver", daemon=True)
        self._thread.start()
        ready.wait()
        self._running = self.call(start(self.config, port=self.port))
        self.url = self._running.url
        if self._kubeconfig_path is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="sandbox-")
            self._kubeconfig_path = Path(self._tmp.name) / "kubeconfig"
        kubeconfig.write(self._kubeconfig_path, self._running.admin_kubeconfig())
        return self

    def stop(self) -> None:
        if self._running is not None:
            self.call(self._running.stop())
            self._running = None
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            if self._thread is not None:
                self._thread.join(timeout=10)
            self._loop.close()
            self._loop = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- access --------------------------------------------------------------------------------
    @property
    def kubeconfig(self) -> str:
        assert self._kubeconfig_path is not None, "sandbox not started"
        return str(self._kubeconfig_path)

    @property
    def admin_token(self) -> str:
        return self.config.admin_token

    @property
    def server(self) -> ApiServer:
        assert self._running is not None, "sandbox not started"
        return self._running.server

    def call(self, coro: Awaitable[T]) -> T:
        """Run a coroutine on the sandbox's loop and wait for its result."""
        assert self._loop is not None, "sandbox not started"
        return asyncio.run_coroutine_threadsafe(_wrap(coro), self._loop).result()

    def write_kubeconfig(self, path: Path, token: str, *, user: str = "user",
                         namespace: str | None = None) -> Path:
        """A kubeconfig for this sandbox authenticating with `token` (e.g. a SA token)."""
        assert self._running is not None, "sandbox not started"
        return kubeconfig.write(path, self._running.kubeconfig(token, user=user,
                                                               namespace=namespace))

    @property
    def ca_pem(self) -> bytes:
        assert self._running is not None, "sandbox not started"
        return self._running.tls.ca_pem

    @property
    def ingress_http_port(self) -> int:
        """The loopback port the host ingress controller serves HTTP on."""
        assert self._running is not None, "sandbox not started"
        return self._running.ingress_ports["http"]

    @property
    def ingress_https_port(self) -> int:
        """The loopback port it serves HTTPS on (certificates from `ca_pem`'s CA)."""
        assert self._running is not None, "sandbox not started"
        return self._running.ingress_ports["https"]

    def ssl_context(self) -> ssl.SSLContext:
        """For plain HTTP clients (urllib) that talk to the sandbox directly."""
        assert self._running is not None, "sandbox not started"
        return self._running.tls.client_context()


async def _wrap(coro: Awaitable[T]) -> T:
    return await coro


# The collector's full passes walk every object the process holds — here the whole store and
# its watch history — and stopped the emulator for up to 0.6 s of CPU each, which was the
# whole of bench/syncer.py's steady p99 tail (BENCHMARKS.md). In a process of its own the
# emulator makes none by itself (its young generations are collected as usual), and one
# every FULL_PASS_SECONDS, so cyclic garbage that outlived two young collections is freed
# within that time.
FULL_PASS_SECONDS = 600.0
_NO_AUTOMATIC_FULL_PASS = 1 << 30  # young collections before a full pass: never, in practice


async def _full_passes_on_schedule() -> None:
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, _NO_AUTOMATIC_FULL_PASS)
    while True:
        await asyncio.sleep(FULL_PASS_SECONDS)
        gc.collect()


async def serve_forever(config: ServerConfig, host: str, port: int, kubeconfig_path: Path,
                        on_ready: Callable[[str], Any],
                        on_running: Callable[[Running], Any] | None = None) -> None:
    """Serve until SIGINT/SIGTERM; the kubeconfig is written once the port accepts connections.

    `on_ready(url)` runs then; `on_running(running)` too, for callers that want more (the
    ingress ports).
    """
    collector = asyncio.create_task(_full_passes_on_schedule())
    running = await start(config, host, port)
    kubeconfig.write(kubeconfig_path, running.admin_kubeconfig())
    # Handlers first: a script may signal as soon as it has read what on_ready printed.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    on_ready(running.url)
    if on_running is not None:
        on_running(running)
    try:
        await stop.wait()
    finally:
        collector.cancel()
        await running.stop()
