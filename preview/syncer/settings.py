"""`preview syncer`'s flags as the syncer's configuration: plain values in, a SyncerConfig out.

`syncer_config` is the whole assembly: every flag's parsing, its default (the CLI shows
`DEFAULTS`, taken from its signature: one source), and every combination the syncer refuses,
so it is tested without a server and without click. Pure but for `pod_namespace` (the host
namespace when none is given: the pod's own, read from its ServiceAccount mount). Bad input
raises BadInput naming the flag and the fix.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from preview import naming
from preview.errors import BadInput
from preview.kube.connection import service_account_dir
from preview.kube.resources import SYNCED_KINDS
from preview.syncer.context import (
    DEFAULT_DENIED_ANNOTATIONS,
    POD_SECURITY_LEVELS,
    RULES,
    Isolation,
    SyncContext,
    SyncOptions,
)

TOLERATION_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
CONFIGS = ("referenced", "all")  # --configs: which ConfigMaps/Secrets go to the host
NODE_SYNC = ("fake", "real")  # --node-sync: synthetic virtual nodes, or the host's mirrored


@dataclass(frozen=True)
class SyncerConfig:
    """Everything `preview syncer` is told (flags / environment)."""

    context: SyncContext
    virtual_kubeconfig: Path
    host_kubeconfig: Path | None = None  # None: in-cluster
    options: SyncOptions = field(default_factory=SyncOptions)
    listen_host: str = "0.0.0.0"
    port: int = 8443
    # k3s writes its kubeconfig and TLS files once it is up: how long to wait for them.
    wait_for_virtual: float = 300.0
    # Publish the virtual cluster's kubeconfig as this host Secret, naming this server.
    kubeconfig_secret: str = ""
    kubeconfig_server: str = ""
    # The host Service in front of the virtual API: pods reach it at its cluster IP.
    api_service: str = ""
    # The virtual nodes' kubelet API (HTTPS): its port (0: off), and where k3s keeps its
    # server CA (server-ca.crt/.key) and client CA (client-ca.crt): the serving certificate
    # is one k3s trusts, and only clients k3s certified are served. Required with a port:
    # it is never served without client authentication (main.serve_kubelet waits for them).
    kubelet_port: int = 0
    kubelet_ca_dir: Path | None = None
    # DNS for synced pods: served on this port (0: off), reached through this host Service.
    dns_port: int = 0
    dns_service: str = ""



def syncer_config(*, name: str, virtual_kubeconfig: Path, host_namespace: str = "",
                  host_kubeconfig: Path | None = None, kinds: str = ",".join(SYNCED_KINDS),
                  configs: str = SyncOptions.configs,
                  workload_service_account: str = SyncContext.host_service_account,
                  api_host: str = "", api_port: int = SyncContext.api_port, dns_ip: str = "",
                  dns_service: str = "", dns_port: int = SyncerConfig.dns_port,
                  cluster_domain: str = SyncContext.cluster_domain,
                  storage_classes: tuple[str, ...] = (), node_selector: tuple[str, ...] = (),
                  tolerations: tuple[str, ...] = (), api_service: str = "",
                  kubeconfig_secret: str = "", kubeconfig_server: str = "",
                  allowed: tuple[str, ...] = (), pod_security: str = Isolation.pod_security,
                  allowed_hosts: tuple[str, ...] = (),
                  denied_annotations: tuple[str, ...] = (),
                  priority_classes: tuple[str, ...] = (), extra_labels: tuple[str, ...] = (),
                  node_sync: str = SyncOptions.node_sync, events: bool = SyncOptions.events,
                  workers: int = SyncOptions.workers, port: int = SyncerConfig.port,
                  kubelet_port: int = SyncerConfig.kubelet_port,
                  kubelet_ca_dir: Path | None = None, advertise_address: str = "",
                  namespace_file: Path | None = None) -> SyncerConfig:
    """The syncer's configuration from its flags (each argument but the last is the flag of
    that name). Without `host_namespace`, the pod's own (`pod_namespace`, reading
    `namespace_file`: default, the ServiceAccount mount's)."""
    _choice(configs, CONFIGS, "--configs")
    _choice(node_sync, NODE_SYNC, "--node-sync")
    _choice(pod_security, POD_SECURITY_LEVELS, "--pod-security", Isolation.pod_security)
    if workers < 1:
        raise BadInput(f"--workers {workers}: at least 1 is needed", "e.g. --workers 8")
    for flag, number, lowest in (("--port", port, 1), ("--api-port", api_port, 1),
                                 ("--dns-port", dns_port, 0),
                                 ("--kubelet-port", kubelet_port, 0)):
        if not lowest <= number <= 65535:
            raise BadInput(f"{flag} {number} is not a port",
                           f"give {lowest}-65535" + (" (0: off)" if lowest == 0 else ""))
    if kubelet_port and kubelet_ca_dir is None:
        raise BadInput("--kubelet-port needs --kubelet-ca-dir: the kubelet API serves only "
                       "clients with a certificate from k3s's client CA",
                       "give k3s's TLS directory, e.g. --kubelet-ca-dir "
                       "/data/k3s/server/tls (k3s's --data-dir + /server/tls)")
    if kubeconfig_secret and not kubeconfig_server:
        raise BadInput("--kubeconfig-secret needs --kubeconfig-server",
                       "give the server URL the published kubeconfig names, e.g. "
                       "--kubeconfig-server https://NAME.NAMESPACE.svc:443")
    unknown_rules = sorted(set(allowed) - set(RULES))
    if unknown_rules:
        raise BadInput(f"--allow: unknown isolation rules {unknown_rules}",
                       f"choose from {sorted(RULES)} (docs/syncer.md says what each does)")
    if not host_namespace:
        host_namespace = pod_namespace(host_kubeconfig, namespace_file)
    context = SyncContext(
        vcluster=name, host_namespace=host_namespace,
        host_service_account=workload_service_account, api_host=api_host, api_port=api_port,
        dns_ip=dns_ip, cluster_domain=cluster_domain,
        isolation=Isolation(relaxed=frozenset(allowed), pod_security=pod_security,
                            allowed_hosts=allowed_hosts,
                            denied_annotations=denied_annotations or DEFAULT_DENIED_ANNOTATIONS,
                            allowed_priority_classes=priority_classes),
        extra_labels=extra_label_pairs(extra_labels),
        node_selector=pairs(node_selector, "--node-selector", "pool=previews"),
        tolerations=tuple(toleration(t) for t in tolerations),
        storage_classes=pairs(storage_classes, "--storage-class", "standard=fast-ssd"))
    options = SyncOptions(kinds=sync_kinds(kinds), workers=workers, configs=configs,
                          node_sync=node_sync, events=events,
                          kubelet_address=advertise_address, kubelet_port=kubelet_port)
    return SyncerConfig(context=context, virtual_kubeconfig=virtual_kubeconfig,
                        host_kubeconfig=host_kubeconfig, options=options, port=port,
                        kubeconfig_secret=kubeconfig_secret,
                        kubeconfig_server=kubeconfig_server, api_service=api_service,
                        dns_port=dns_port, dns_service=dns_service, kubelet_port=kubelet_port,
                        kubelet_ca_dir=kubelet_ca_dir)


# Each flag's default, as `preview syncer` declares and shows it.
DEFAULTS: dict[str, Any] = {
    name: parameter.default
    for name, parameter in inspect.signature(syncer_config).parameters.items()
    if parameter.default is not inspect.Parameter.empty}


def _choice(value: str, choices: tuple[str, ...], flag: str, default: str = "") -> None:
    if value not in choices:
        raise BadInput(f"{flag} {value!r} is not one of {', '.join(choices)}",
                       f"e.g. {flag} {default or choices[0]} (the default)")


def pod_namespace(host_kubeconfig: Path | None, namespace_file: Path | None = None) -> str:
    """The namespace of the pod the syncer runs in (`namespace_file`: default, its
    ServiceAccount mount's): its host namespace when none is given."""
    if host_kubeconfig is not None:
        raise BadInput("--host-namespace is required with --host-kubeconfig",
                       "name the host namespace synced objects live in")
    ns_file = namespace_file or service_account_dir() / "namespace"
    try:
        namespace = ns_file.read_text().strip()
    except FileNotFoundError:
        raise BadInput("--host-namespace is required outside a pod",
                       f"name the host namespace ({ns_file} does not exist)") from None
    if not namespace:
        raise BadInput(f"--host-namespace is empty and {ns_file} names no namespace",
                       "name the host namespace synced objects live in")
    return namespace


def sync_kinds(text: str) -> tuple[str, ...]:
    """`--sync pods,services…`: the kinds to sync, each one the syncer knows, in the
    catalog's order whatever order they are given in (the chart lists them sorted)."""
    kinds = {k.strip() for k in text.split(",") if k.strip()}
    unknown = sorted(kinds - set(SYNCED_KINDS))
    if unknown:
        raise BadInput(f"--sync: unknown kinds {unknown}",
                       f"choose from {', '.join(SYNCED_KINDS)} (comma-separated)")
    return tuple(k for k in SYNCED_KINDS if k in kinds)


def pairs(values: tuple[str, ...], flag: str, example: str) -> tuple[tuple[str, str], ...]:
    """Repeated `KEY=VALUE` flags as (key, value) pairs; `example` shows the fix."""
    out = []
    for value in values:
        key, sep, val = value.partition("=")
        if not sep:
            raise BadInput(f"{flag} {value!r} is not KEY=VALUE",
                           f"write it as {flag} {example}")
        out.append((key, val))
    return tuple(out)


def extra_label_pairs(values: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """`--extra-label KEY=VALUE`: never a key under the syncer's own prefix."""
    labels = pairs(values, "--extra-label", "team=shop")
    for key, _ in labels:
        if key.startswith(naming.PREFIX):
            raise BadInput(f"--extra-label {key!r}: labels under {naming.PREFIX} are the "
                           "syncer's own", "choose a key outside that prefix, e.g. team")
    return labels


def toleration(text: str) -> tuple[tuple[str, str], ...]:
    """`--toleration key[=value][:effect]` as the sorted items of a toleration."""
    key_value, _, effect = text.partition(":")
    key, sep, value = key_value.partition("=")
    fix = "write KEY[=VALUE][:EFFECT], e.g. --toleration dedicated=previews:NoSchedule"
    if not key:
        raise BadInput(f"--toleration {text!r}: a toleration needs a key", fix)
    if effect and effect not in TOLERATION_EFFECTS:
        raise BadInput(f"--toleration {text!r}: effect must be "
                       f"{', '.join(TOLERATION_EFFECTS)}", fix)
    items = {"key": key, "operator": "Equal" if sep else "Exists"}
    if sep:
        items["value"] = value
    if effect:
        items["effect"] = effect
    return tuple(sorted(items.items()))
