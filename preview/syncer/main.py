"""Running the syncer as a process: connect to both API servers, serve, sync until signalled."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import signal
import ssl
import time
from typing import Any

from aiohttp import web

from preview.errors import PreviewError
from preview.kube import tls
from preview.kube.client import KubeClient
from preview.kube.connection import Connection, from_kubeconfig, in_cluster
from preview.syncer import dns, kubeconfig
from preview.syncer.context import OwnerRef
from preview.syncer.resources import SERVICES
from preview.syncer.server import app, kubelet_app
from preview.syncer.settings import SyncerConfig
from preview.syncer.syncer import Syncer

log = logging.getLogger(__name__)


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
        context = config.context
        if config.api_service and not context.api_host:
            context = dataclasses.replace(context, api_host=await _service_ip(
                host, context.host_namespace, config.api_service))
        if config.dns_service and not context.dns_ip:
            context = dataclasses.replace(context, dns_ip=await _service_ip(
                host, context.host_namespace, config.dns_service))
        if config.api_service and context.owner is None:
            context = dataclasses.replace(context, owner=await _owner(
                host, context.host_namespace, config.api_service))
        syncer = Syncer(context, virtual, host, config.options)
        background = []
        closers: list[Any] = []
        if config.dns_port:
            resolver = dns.Resolver(syncer.dns_records(), context.cluster_domain,
                                    dns.upstream_resolvers())
            closers = await dns.serve(resolver, config.listen_host, config.dns_port)
        if config.kubeconfig_secret:
            background.append(asyncio.create_task(kubeconfig.publish_forever(
                host, context.host_namespace, config.kubeconfig_secret,
                config.virtual_kubeconfig, config.kubeconfig_server,
                {"app.kubernetes.io/managed-by": "preview-vcluster-syncer",
                 "app.kubernetes.io/instance": context.vcluster})))
        runner = web.AppRunner(app(syncer), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, config.listen_host, config.port)
        await site.start()
        runners = [runner]
        if config.kubelet_port:
            kubelet = web.AppRunner(kubelet_app(syncer), access_log=None)
            await kubelet.setup()
            await web.TCPSite(kubelet, config.listen_host, config.kubelet_port,
                              ssl_context=kubelet_tls(config)).start()
            runners.append(kubelet)
        log.info("syncer %s: host namespace %s, serving on %s:%d", config.context.vcluster,
                 config.context.host_namespace, config.listen_host, config.port)
        task = asyncio.create_task(syncer.run())
        stopper = asyncio.create_task(stop.wait())
        try:
            done, _ = await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
            if task in done:
                task.result()  # surfaces a crash
            log.info("syncer %s: stopping; letting reconciles in flight finish",
                     config.context.vcluster)
            await syncer.workers.drain()
        finally:
            for pending in (task, stopper, *background):
                pending.cancel()
            await asyncio.gather(task, stopper, *background, return_exceptions=True)
            for closer in closers:
                closer.close()
            for started in runners:
                await started.cleanup()
    log.info("syncer %s stopped", config.context.vcluster)


def kubelet_tls(config: SyncerConfig) -> ssl.SSLContext:
    """TLS for the kubelet API: issued by k3s's server CA (and requiring a client certificate
    from its client CA) when the directory has them; else a certificate of our own."""
    hosts = [config.options.kubelet_address or "127.0.0.1", "127.0.0.1", "localhost"]
    ca_dir = config.kubelet_ca_dir
    server_ca = (ca_dir / "server-ca.crt", ca_dir / "server-ca.key") if ca_dir else None
    if server_ca and all(p.is_file() for p in server_ca):
        ca = tls.KeyPair(server_ca[0].read_bytes(), server_ca[1].read_bytes())
        log.info("kubelet API certificate issued by %s", server_ca[0])
    else:
        ca = tls.new_ca("preview-vcluster-syncer")
    context = tls.server_context(tls.issue(ca, dict.fromkeys(hosts), "preview-vcluster-kubelet"))
    client_ca = ca_dir / "client-ca.crt" if ca_dir else None
    if client_ca and client_ca.is_file():
        context.load_verify_locations(cafile=str(client_ca))
        context.verify_mode = ssl.CERT_REQUIRED
    return context


async def _service_ip(host: KubeClient, namespace: str, name: str) -> str:
    service = await host.get(SERVICES, namespace, name)
    ip = ((service or {}).get("spec") or {}).get("clusterIP")
    if not ip or ip == "None":
        raise PreviewError(f"host Service {namespace}/{name} has no cluster IP",
                           "check the chart's Services (--api-service, --dns-service)")
    return str(ip)


async def _owner(host: KubeClient, namespace: str, name: str) -> OwnerRef:
    """The host Service every synced host object is owned by (see context.OwnerRef)."""
    service = await host.get(SERVICES, namespace, name)
    if service is None:
        raise PreviewError(f"host Service {namespace}/{name} does not exist",
                           "check the chart's Service and --api-service")
    return OwnerRef("v1", "Service", name, service["metadata"]["uid"])


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop
