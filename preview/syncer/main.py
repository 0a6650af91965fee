"""Running the syncer as a process: connect to both API servers, serve, sync until signalled."""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from preview.errors import PreviewError
from preview.kube.client import KubeClient
from preview.kube.connection import Connection, from_kubeconfig, in_cluster
from preview.syncer.context import SyncContext
from preview.syncer.server import app
from preview.syncer.syncer import Syncer, SyncOptions

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SyncerConfig:
    """Everything `preview syncer` is told (flags / environment)."""

    context: SyncContext
    virtual_kubeconfig: Path
    host_kubeconfig: Path | None = None  # None: in-cluster
    options: SyncOptions = field(default_factory=SyncOptions)
    listen_host: str = "0.0.0.0"
    port: int = 8443
    wait_for_virtual: float = 300.0  # k3s writes its kubeconfig once it is up


def _host_connection(config: SyncerConfig) -> Connection:
    if config.host_kubeconfig is not None:
        return from_kubeconfig(config.host_kubeconfig)
    return in_cluster()


async def _virtual_connection(config: SyncerConfig) -> Connection:
    """The virtual API server's kubeconfig, waiting for the control plane to write it."""
    deadline = time.monotonic() + config.wait_for_virtual
    path = config.virtual_kubeconfig
    while not path.exists():
        if time.monotonic() > deadline:
            raise PreviewError(f"the virtual control plane's kubeconfig {path} did not appear "
                               f"within {config.wait_for_virtual:.0f}s",
                               "check the k3s container's logs; is --virtual-kubeconfig right?")
        log.info("waiting for %s", path)
        await asyncio.sleep(0.5)
    return from_kubeconfig(path)


async def run(config: SyncerConfig, stop: asyncio.Event | None = None) -> None:
    """Sync until `stop` is set (or SIGINT/SIGTERM when None)."""
    stop = stop or _stop_on_signals()
    host_conn = _host_connection(config)
    virtual_conn = await _virtual_connection(config)
    async with KubeClient(host_conn, "preview-syncer") as host, \
            KubeClient(virtual_conn, "preview-syncer") as virtual:
        syncer = Syncer(config.context, virtual, host, config.options)
        runner = web.AppRunner(app(syncer), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, config.listen_host, config.port)
        await site.start()
        log.info("syncer %s: host namespace %s, serving on %s:%d", config.context.vcluster,
                 config.context.host_namespace, config.listen_host, config.port)
        task = asyncio.create_task(syncer.run())
        stopper = asyncio.create_task(stop.wait())
        try:
            done, _ = await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
            if task in done:
                task.result()  # surfaces a crash
        finally:
            task.cancel()
            stopper.cancel()
            await asyncio.gather(task, stopper, return_exceptions=True)
            await runner.cleanup()
    log.info("syncer %s stopped", config.context.vcluster)


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop
