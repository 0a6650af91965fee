"""`preview syncer`'s flags as the syncer's configuration: plain values in, a SyncerConfig out.

Pure but for `pod_namespace` (which reads the pod's ServiceAccount mount), so every flag's
parsing and every combination the syncer refuses is tested without a server. Bad input
raises BadInput naming the flag and the fix.
"""

from __future__ import annotations

from pathlib import Path

from preview import naming
from preview.errors import BadInput
from preview.kube.connection import service_account_dir
from preview.syncer.context import (
    DEFAULT_DENIED_ANNOTATIONS,
    KINDS,
    RULES,
    Isolation,
    SyncContext,
    SyncOptions,
)
from preview.syncer.main import SyncerConfig

TOLERATION_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")


def syncer_config(*, name: str, host_namespace: str, virtual_kubeconfig: Path,
                  host_kubeconfig: Path | None = None, kinds: str = ",".join(KINDS),
                  configs: str = "referenced", workload_service_account: str = "default",
                  api_host: str = "", api_port: int = 443, dns_ip: str = "",
                  dns_service: str = "", dns_port: int = 0,
                  cluster_domain: str = "cluster.local",
                  storage_classes: tuple[str, ...] = (), node_selector: tuple[str, ...] = (),
                  tolerations: tuple[str, ...] = (), api_service: str = "",
                  kubeconfig_secret: str = "", kubeconfig_server: str = "",
                  allowed: tuple[str, ...] = (), allowed_hosts: tuple[str, ...] = (),
                  denied_annotations: tuple[str, ...] = (),
                  priority_classes: tuple[str, ...] = (), extra_labels: tuple[str, ...] = (),
                  node_sync: str = "fake", events: bool = True, workers: int = 8,
                  port: int = 8443, kubelet_port: int = 0, kubelet_ca_dir: Path | None = None,
                  advertise_address: str = "") -> SyncerConfig:
    """The syncer's configuration from its flags (each argument is the flag of that name)."""
    if not host_namespace:
        raise BadInput("--host-namespace is empty",
                       "name the host namespace synced objects live in")
    if kubeconfig_secret and not kubeconfig_server:
        raise BadInput("--kubeconfig-secret needs --kubeconfig-server",
                       "give the server URL the published kubeconfig names, e.g. "
                       "--kubeconfig-server https://NAME.NAMESPACE.svc:443")
    unknown_rules = sorted(set(allowed) - set(RULES))
    if unknown_rules:
        raise BadInput(f"--allow: unknown isolation rules {unknown_rules}",
                       f"choose from {sorted(RULES)} (docs/syncer.md says what each does)")
    context = SyncContext(
        vcluster=name, host_namespace=host_namespace,
        host_service_account=workload_service_account, api_host=api_host, api_port=api_port,
        dns_ip=dns_ip, cluster_domain=cluster_domain,
        isolation=Isolation(relaxed=frozenset(allowed), allowed_hosts=allowed_hosts,
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


def pod_namespace(host_kubeconfig: Path | None) -> str:
    """The namespace of the pod the syncer runs in: its host namespace when none is given."""
    if host_kubeconfig is not None:
        raise BadInput("--host-namespace is required with --host-kubeconfig",
                       "name the host namespace synced objects live in")
    ns_file = service_account_dir() / "namespace"
    if not ns_file.exists():
        raise BadInput("--host-namespace is required outside a pod",
                       f"name the host namespace ({ns_file} does not exist)")
    return ns_file.read_text().strip()


def sync_kinds(text: str) -> tuple[str, ...]:
    """`--sync pods,services…`: the kinds to sync, each one the syncer knows."""
    kinds = tuple(k.strip() for k in text.split(",") if k.strip())
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown:
        raise BadInput(f"--sync: unknown kinds {unknown}",
                       f"choose from {', '.join(KINDS)} (comma-separated)")
    return kinds


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
