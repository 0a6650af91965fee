"""`preview syncer`: the syncer of one virtual cluster (the chart's syncer container)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import click

from preview import logs, naming
from preview.syncer.context import DEFAULT_DENIED_ANNOTATIONS, RULES

DEFAULT_SYNC = ("pods", "services", "endpoints", "configmaps", "secrets",
                "persistentvolumeclaims", "ingresses")


@click.command("syncer")
@click.option("--name", envvar="PREVIEW_VCLUSTER_NAME", required=True,
              help="Name of the virtual cluster (the value of its ownership label).")
@click.option("--host-namespace", envvar="PREVIEW_HOST_NAMESPACE", default="",
              help="Host namespace synced objects live in.  [default: the pod's own]")
@click.option("--virtual-kubeconfig", envvar="PREVIEW_VIRTUAL_KUBECONFIG", required=True,
              type=click.Path(path_type=Path),
              help="Admin kubeconfig of the virtual control plane (k3s writes it; waited for).")
@click.option("--host-kubeconfig", envvar="PREVIEW_HOST_KUBECONFIG", default=None,
              type=click.Path(path_type=Path),
              help="Kubeconfig of the host cluster.  [default: in-cluster ServiceAccount]")
@click.option("--sync", "kinds", envvar="PREVIEW_SYNC", default=",".join(DEFAULT_SYNC),
              show_default=True, help="Comma-separated kinds to sync.")
@click.option("--configs", type=click.Choice(["referenced", "all"]), default="referenced",
              show_default=True, help="Which ConfigMaps/Secrets to copy to the host.")
@click.option("--workload-service-account", envvar="PREVIEW_WORKLOAD_SERVICE_ACCOUNT",
              default="default", show_default=True,
              help="Host ServiceAccount synced pods run as (give it no permissions).")
@click.option("--api-host", envvar="PREVIEW_API_HOST", default="",
              help="Address pods use to reach the virtual API (KUBERNETES_SERVICE_HOST).")
@click.option("--api-port", envvar="PREVIEW_API_PORT", type=int, default=443,
              show_default=True)
@click.option("--dns-ip", envvar="PREVIEW_DNS_IP", default="",
              help="Nameserver synced pods use (default: the --dns-service's cluster IP).")
@click.option("--dns-service", envvar="PREVIEW_DNS_SERVICE", default="",
              help="Host Service in front of this syncer's DNS port; pods resolve through it.")
@click.option("--dns-port", envvar="PREVIEW_DNS_PORT", type=click.IntRange(0, 65535),
              default=0, show_default=True,
              help="Serve DNS for the virtual cluster on this port (UDP and TCP); 0: off.")
@click.option("--cluster-domain", default="cluster.local", show_default=True,
              help="The virtual cluster's DNS domain.")
@click.option("--storage-class", "storage_classes", multiple=True, metavar="VIRTUAL=HOST",
              help="Map a virtual StorageClass to a host one ('=HOST' for claims without "
                   "a class). Repeatable.")
@click.option("--node-selector", "node_selector", multiple=True, metavar="KEY=VALUE",
              help="Host node pool for synced pods. Repeatable.")
@click.option("--toleration", "tolerations", multiple=True, metavar="KEY[=VALUE][:EFFECT]",
              help="Toleration added to every synced pod (for a tainted node pool). "
                   "Repeatable.")
@click.option("--api-service", envvar="PREVIEW_API_SERVICE", default="",
              help="Host Service in front of the virtual API; its cluster IP becomes --api-host.")
@click.option("--kubeconfig-secret", envvar="PREVIEW_KUBECONFIG_SECRET", default="",
              help="Publish the virtual cluster's kubeconfig as this host Secret.")
@click.option("--kubeconfig-server", envvar="PREVIEW_KUBECONFIG_SERVER", default="",
              help="Server URL written into the published kubeconfig "
                   "(e.g. https://NAME.NAMESPACE.svc:443).")
@click.option("--allow", "allowed", multiple=True, type=click.Choice(sorted(RULES)),
              help="Relax an isolation rule (all are enforced by default; docs/syncer.md "
                   "lists them). Repeatable.")
@click.option("--allowed-host", "allowed_hosts", multiple=True, metavar="PATTERN",
              help="Ingress host the tenant may use (`*.example.com` matches one label). "
                   "Repeatable; none: any concrete host, never a wildcard.")
@click.option("--denied-annotation", "denied_annotations", multiple=True, metavar="PATTERN",
              help="Ingress annotation keys (fnmatch patterns) stripped from host copies. "
                   f"Repeatable.  [default: {', '.join(DEFAULT_DENIED_ANNOTATIONS)}]")
@click.option("--allowed-priority-class", "priority_classes", multiple=True, metavar="NAME",
              help="Host priority class synced pods may keep. Repeatable.")
@click.option("--extra-label", "extra_labels", multiple=True, metavar="KEY=VALUE",
              help="Label put on every synced host pod (cost attribution). Repeatable.")
@click.option("--node-sync", type=click.Choice(["fake", "real"]), default="fake",
              show_default=True,
              help="Virtual nodes: synthetic (fake), or mirrors of the host nodes (real; "
                   "needs read access to nodes cluster-wide).")
@click.option("--events/--no-events", default=True, show_default=True,
              help="Copy host Events about synced objects into the virtual cluster.")
@click.option("--workers", type=click.IntRange(min=1), default=8, show_default=True)
@click.option("--port", envvar="PREVIEW_SYNCER_PORT", type=int, default=8443,
              show_default=True,
              help="HTTP port for /healthz, /readyz and /metrics.")
@click.option("--kubelet-port", envvar="PREVIEW_KUBELET_PORT", type=click.IntRange(0, 65535),
              default=0, show_default=True,
              help="HTTPS port of the virtual nodes' kubelet API, through which `kubectl "
                   "logs` in the virtual cluster works (the chart uses 10250); 0: off.")
@click.option("--kubelet-ca-dir", type=click.Path(path_type=Path), default=None,
              help="k3s's TLS directory (server-ca.crt/.key, client-ca.crt): the kubelet API's "
                   "certificate is then issued by k3s's CA and clients must be k3s's.")
@click.option("--advertise-address", envvar="POD_IP", default="",
              help="Address the virtual API server reaches this syncer at (its pod IP).")
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
def syncer_command(name: str, host_namespace: str, virtual_kubeconfig: Path,
                   host_kubeconfig: Path | None, kinds: str, configs: str,
                   workload_service_account: str, api_host: str, api_port: int, dns_ip: str,
                   dns_service: str, dns_port: int, cluster_domain: str,
                   storage_classes: tuple[str, ...], node_selector: tuple[str, ...],
                   tolerations: tuple[str, ...], api_service: str, kubeconfig_secret: str,
                   kubeconfig_server: str, allowed: tuple[str, ...],
                   allowed_hosts: tuple[str, ...], denied_annotations: tuple[str, ...],
                   priority_classes: tuple[str, ...], extra_labels: tuple[str, ...],
                   node_sync: str, events: bool, workers: int, port: int,
                   kubelet_port: int, kubelet_ca_dir: Path | None, advertise_address: str,
                   log_format: str) -> None:
    """Run the syncer of one virtual cluster (the chart's syncer container runs this).

    Makes the host namespace run what is created in the virtual cluster and reports back
    what happened there, until SIGTERM/SIGINT.
    """
    from preview.kube.connection import service_account_dir
    from preview.syncer import main as syncer_main
    from preview.syncer.context import Isolation, SyncContext, SyncOptions

    # A long-running component: at least INFO, so its actions can be followed.
    logs.configure(min(logging.getLogger().level, logging.INFO),
                   json_lines=log_format == "json")
    if not host_namespace:
        if host_kubeconfig is not None:
            raise click.UsageError("--host-namespace is required with --host-kubeconfig")
        ns_file = service_account_dir() / "namespace"
        if not ns_file.exists():
            raise click.UsageError("--host-namespace is required outside a pod")
        host_namespace = ns_file.read_text().strip()
    sync = tuple(k.strip() for k in kinds.split(",") if k.strip())
    unknown = sorted(set(sync) - set(DEFAULT_SYNC))
    if unknown:
        raise click.BadParameter(f"unknown kinds {unknown}; choose from {list(DEFAULT_SYNC)}",
                                 param_hint="--sync")
    context = SyncContext(
        vcluster=name, host_namespace=host_namespace,
        host_service_account=workload_service_account, api_host=api_host, api_port=api_port,
        dns_ip=dns_ip, cluster_domain=cluster_domain,
        isolation=Isolation(relaxed=frozenset(allowed), allowed_hosts=allowed_hosts,
                            denied_annotations=denied_annotations or DEFAULT_DENIED_ANNOTATIONS,
                            allowed_priority_classes=priority_classes),
        extra_labels=tuple(_extra_labels(extra_labels)),
        node_selector=tuple(_pairs(node_selector, "--node-selector")),
        tolerations=tuple(_toleration(t) for t in tolerations),
        storage_classes=tuple(_pairs(storage_classes, "--storage-class")))
    options = SyncOptions(kinds=sync, workers=workers, configs=configs, node_sync=node_sync,
                          events=events,
                          kubelet_address=advertise_address, kubelet_port=kubelet_port)
    if kubeconfig_secret and not kubeconfig_server:
        raise click.UsageError("--kubeconfig-secret needs --kubeconfig-server")
    config = syncer_main.SyncerConfig(context=context, virtual_kubeconfig=virtual_kubeconfig,
                                      host_kubeconfig=host_kubeconfig, options=options,
                                      port=port, kubeconfig_secret=kubeconfig_secret,
                                      kubeconfig_server=kubeconfig_server,
                                      api_service=api_service, dns_port=dns_port,
                                      dns_service=dns_service, kubelet_port=kubelet_port,
                                      kubelet_ca_dir=kubelet_ca_dir)
    asyncio.run(syncer_main.run(config))


def _pairs(values: tuple[str, ...], flag: str) -> list[tuple[str, str]]:
    out = []
    for value in values:
        key, sep, val = value.partition("=")
        if not sep:
            raise click.BadParameter(f"{value!r} is not KEY=VALUE", param_hint=flag)
        out.append((key, val))
    return out


def _extra_labels(values: tuple[str, ...]) -> list[tuple[str, str]]:
    pairs = _pairs(values, "--extra-label")
    for key, _ in pairs:
        if key.startswith(naming.PREFIX):
            raise click.BadParameter(f"{key!r}: labels under {naming.PREFIX} are the syncer's "
                                     "own", param_hint="--extra-label")
    return pairs


def _toleration(text: str) -> tuple[tuple[str, str], ...]:
    """`key[=value][:effect]` as the sorted items of a toleration."""
    key_value, _, effect = text.partition(":")
    key, sep, value = key_value.partition("=")
    if not key:
        raise click.BadParameter(f"{text!r}: a toleration needs a key", param_hint="--toleration")
    if effect and effect not in ("NoSchedule", "PreferNoSchedule", "NoExecute"):
        raise click.BadParameter(f"{text!r}: effect must be NoSchedule, PreferNoSchedule or "
                                 "NoExecute", param_hint="--toleration")
    toleration = {"key": key, "operator": "Equal" if sep else "Exists"}
    if sep:
        toleration["value"] = value
    if effect:
        toleration["effect"] = effect
    return tuple(sorted(toleration.items()))


