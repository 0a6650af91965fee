"""`preview syncer`: the syncer of one virtual cluster (the chart's syncer container).

Declares the flags; preview/syncer/settings.py turns them into the syncer's configuration
and owns their defaults (`settings.DEFAULTS`) and their checks.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import click

from preview import logs
from preview.control.collector import FreezeSurvivors
from preview.syncer import settings
from preview.syncer.context import DEFAULT_DENIED_ANNOTATIONS, POD_SECURITY_LEVELS, RULES

D = settings.DEFAULTS


@click.command("syncer")
@click.option("--name", envvar="PREVIEW_VCLUSTER_NAME", required=True,
              help="Name of the virtual cluster (the value of its ownership label).")
@click.option("--host-namespace", envvar="PREVIEW_HOST_NAMESPACE", default=D["host_namespace"],
              help="Host namespace synced objects live in.  [default: the pod's own]")
@click.option("--virtual-kubeconfig", envvar="PREVIEW_VIRTUAL_KUBECONFIG", required=True,
              type=click.Path(path_type=Path),
              help="Admin kubeconfig of the virtual control plane (k3s writes it; waited for).")
@click.option("--host-kubeconfig", envvar="PREVIEW_HOST_KUBECONFIG", default=D["host_kubeconfig"],
              type=click.Path(path_type=Path),
              help="Kubeconfig of the host cluster.  [default: in-cluster ServiceAccount]")
@click.option("--sync", "kinds", envvar="PREVIEW_SYNC", default=D["kinds"],
              show_default=True, help="Comma-separated kinds to sync.")
@click.option("--configs", type=click.Choice(settings.CONFIGS), default=D["configs"],
              show_default=True, help="Which ConfigMaps/Secrets to copy to the host.")
@click.option("--workload-service-account", envvar="PREVIEW_WORKLOAD_SERVICE_ACCOUNT",
              default=D["workload_service_account"], show_default=True,
              help="Host ServiceAccount synced pods run as (give it no permissions).")
@click.option("--api-host", envvar="PREVIEW_API_HOST", default=D["api_host"],
              help="Address pods use to reach the virtual API (KUBERNETES_SERVICE_HOST).")
@click.option("--api-port", envvar="PREVIEW_API_PORT", type=int, default=D["api_port"],
              show_default=True)
@click.option("--dns-ip", envvar="PREVIEW_DNS_IP", default=D["dns_ip"],
              help="Nameserver synced pods use (default: the --dns-service's cluster IP).")
@click.option("--dns-service", envvar="PREVIEW_DNS_SERVICE", default=D["dns_service"],
              help="Host Service in front of this syncer's DNS port; pods resolve through it.")
@click.option("--dns-port", envvar="PREVIEW_DNS_PORT", type=click.IntRange(0, 65535),
              default=D["dns_port"], show_default=True,
              help="Serve DNS for the virtual cluster on this port (UDP and TCP); 0: off.")
@click.option("--cluster-domain", default=D["cluster_domain"], show_default=True,
              help="The virtual cluster's DNS domain.")
@click.option("--storage-class", "storage_classes", multiple=True, metavar="VIRTUAL=HOST",
              help="Map a virtual StorageClass to a host one ('=HOST' for claims without "
                   "a class). Repeatable.")
@click.option("--node-selector", "node_selector", multiple=True, metavar="KEY=VALUE",
              help="Host node pool for synced pods. Repeatable.")
@click.option("--toleration", "tolerations", multiple=True, metavar="KEY[=VALUE][:EFFECT]",
              help="Toleration added to every synced pod (for a tainted node pool). "
                   "Repeatable.")
@click.option("--api-service", envvar="PREVIEW_API_SERVICE", default=D["api_service"],
              help="Host Service in front of the virtual API; its cluster IP becomes --api-host.")
@click.option("--kubeconfig-secret", envvar="PREVIEW_KUBECONFIG_SECRET",
              default=D["kubeconfig_secret"],
              help="Publish the virtual cluster's kubeconfig as this host Secret.")
@click.option("--kubeconfig-server", envvar="PREVIEW_KUBECONFIG_SERVER",
              default=D["kubeconfig_server"],
              help="Server URL written into the published kubeconfig "
                   "(e.g. https://NAME.NAMESPACE.svc:443).")
@click.option("--allow", "allowed", multiple=True, type=click.Choice(sorted(RULES)),
              help="Relax an isolation rule (all are enforced by default; docs/syncer.md "
                   "lists them). Repeatable.")
@click.option("--pod-security", type=click.Choice(POD_SECURITY_LEVELS),
              default=D["pod_security"], show_default=True,
              help="Pod Security Standard level the syncer enforces on pods (the chart: "
                   "isolation.podSecurity). restricted adds its rules to the baseline's; "
                   "privileged and baseline enforce the baseline's (only --allow relaxes "
                   "one).")
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
@click.option("--node-sync", type=click.Choice(settings.NODE_SYNC), default=D["node_sync"],
              show_default=True,
              help="Virtual nodes: synthetic (fake), or mirrors of the host nodes (real; "
                   "needs read access to nodes cluster-wide).")
@click.option("--events/--no-events", default=D["events"], show_default=True,
              help="Copy host Events about synced objects into the virtual cluster.")
@click.option("--workers", type=click.IntRange(min=1), default=D["workers"],
              show_default=True)
@click.option("--port", envvar="PREVIEW_SYNCER_PORT", type=int, default=D["port"],
              show_default=True,
              help="HTTP port for /healthz, /readyz and /metrics.")
@click.option("--kubelet-port", envvar="PREVIEW_KUBELET_PORT", type=click.IntRange(0, 65535),
              default=D["kubelet_port"], show_default=True,
              help="HTTPS port of the virtual nodes' kubelet API, through which `kubectl "
                   "logs` in the virtual cluster works (the chart uses 10250); 0: off.")
@click.option("--kubelet-ca-dir", type=click.Path(path_type=Path), default=D["kubelet_ca_dir"],
              help="k3s's TLS directory (server-ca.crt/.key, client-ca.crt); required with "
                   "--kubelet-port. The kubelet API's certificate is issued by k3s's server "
                   "CA and clients must present one from its client CA; until both appear "
                   "it does not serve and /readyz is 503 (after 300 s the syncer exits).")
@click.option("--advertise-address", envvar="POD_IP", default=D["advertise_address"],
              help="Address the virtual API server reaches this syncer at (its pod IP).")
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
def syncer_command(log_format: str, **flags: Any) -> None:
    """Run the syncer of one virtual cluster (the chart's syncer container runs this).

    Makes the host namespace run what is created in the virtual cluster and reports back
    what happened there, until SIGTERM/SIGINT.
    """
    from preview.syncer import main as syncer_main

    # A long-running component: at least INFO, so its actions can be followed.
    logs.configure(min(logging.getLogger().level, logging.INFO),
                   json_lines=log_format == "json")
    # Its caches hold every synced object of both sides: keep the collector's full passes
    # from walking them all again and again (preview/control/collector.py).
    FreezeSurvivors().install()
    asyncio.run(syncer_main.run(settings.syncer_config(**flags)))
