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
        # Reasons /readyz answers 503 beside the informers (the kubelet API's wait).
        waiting: dict[str, str] = {}
        runner = web.AppRunner(app(syncer, waiting), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, config.listen_host, config.port)
        await site.start()
        watched = set()  # tasks whose end ends the syncer
        if config.kubelet_port:
            watched.add(asyncio.create_task(serve_kubelet(config, syncer, waiting)))
            background.extend(watched)
        log.info("syncer %s: host namespace %s, serving on %s:%d", config.context.vcluster,
                 config.context.host_namespace, config.listen_host, config.port)
        task = asyncio.create_task(syncer.run())
        stopper = asyncio.create_task(stop.wait())
        try:
            done, _ = await asyncio.wait({task, stopper, *watched},
                                         return_when=asyncio.FIRST_COMPLETED)
            for crashed in done - {stopper}:
                crashed.result()  # surfaces a crash (or the kubelet API's CA never appearing)
            log.info("syncer %s: stopping; letting reconciles in flight finish",
                     config.context.vcluster)
            await syncer.workers.drain()
        finally:
            for pending in (task, stopper, *background):
                pending.cancel()
            await asyncio.gather(task, stopper, *background, return_exceptions=True)
            for closer in closers:
                closer.close()
            await runner.cleanup()
    log.info("syncer %s stopped", config.context.vcluster)


# What the kubelet API needs from k3s's TLS directory (k3s pkg/daemons/control/deps): its
# server CA issues our serving certificate (k3s's API server verifies kubelets against it:
# --kubelet-certificate-authority), its client CA is what clients must be certified by.
KUBELET_CA_FILES = ("server-ca.crt", "server-ca.key", "client-ca.crt")


def kubelet_tls(config: SyncerConfig) -> ssl.SSLContext | None:
    """TLS for the kubelet API: a certificate issued by k3s's server CA, and a client
    certificate from k3s's client CA required of every client. None until the directory
    holds both CAs: the kubelet API never serves without client authentication."""
    ca_dir = config.kubelet_ca_dir
    if ca_dir is None:  # settings refuses --kubelet-port without --kubelet-ca-dir
        raise PreviewError("the kubelet API needs --kubelet-ca-dir",
                           "give k3s's TLS directory, e.g. /data/k3s/server/tls")
    server_crt, server_key, client_ca = (ca_dir / name for name in KUBELET_CA_FILES)
    if not all(p.is_file() for p in (server_crt, server_key, client_ca)):
        return None
    hosts = [config.options.kubelet_address or "127.0.0.1", "127.0.0.1", "localhost"]
    try:
        ca = tls.KeyPair(server_crt.read_bytes(), server_key.read_bytes())
        context = tls.server_context(tls.issue(ca, dict.fromkeys(hosts),
                                               "preview-vcluster-kubelet"))
        context.load_verify_locations(cafile=str(client_ca))
    except (ValueError, ssl.SSLError, OSError) as e:  # being written: look again later
        log.info("kubelet API: k3s's CAs in %s are not readable yet (%s)", ca_dir, e)
        return None
    context.verify_mode = ssl.CERT_REQUIRED
    return context


async def serve_kubelet(config: SyncerConfig, syncer: Syncer, waiting: dict[str, str],
                        interval: float = 0.5) -> None:
    """Serve the kubelet API once k3s's CAs are there, until cancelled.

    k3s writes its TLS files as it starts, beside us: until they appear (within
    `wait_for_virtual`) the syncer is not ready and the port is closed; after that, it
    exits with an error rather than serve anyone who reaches the pod's port.
    """
    deadline = time.monotonic() + config.wait_for_virtual
    missing = f"kubelet API not serving: waiting for k3s's CAs in {config.kubelet_ca_dir} " \
              f"({', '.join(KUBELET_CA_FILES)})"
    waiting["kubelet"] = missing
    context = kubelet_tls(config)
    while context is None:
        if time.monotonic() > deadline:
            raise PreviewError(f"{missing}: none within {config.wait_for_virtual:.0f}s",
                               "check the k3s container's logs; is --kubelet-ca-dir k3s's "
                               "<data-dir>/server/tls?")
        log.info("%s", missing)
        await asyncio.sleep(interval)
        context = kubelet_tls(config)
    kubelet = web.AppRunner(kubelet_app(syncer), access_log=None)
    await kubelet.setup()
    try:
        await web.TCPSite(kubelet, config.listen_host, config.kubelet_port,
                          ssl_context=context).start()
        log.info("kubelet API serving on %s:%d (certificate from %s/server-ca.crt; clients "
                 "must present one from client-ca.crt)", config.listen_host,
                 config.kubelet_port, config.kubelet_ca_dir)
        waiting.pop("kubelet", None)
        await asyncio.Event().wait()
    finally:
        await kubelet.cleanup()


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
