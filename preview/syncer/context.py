"""What translation needs to know about the virtual cluster and its host: plain frozen data."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Isolation:
    """What a tenant's pods may ask of the host; everything off by default."""

    allow_privileged: bool = False
    allow_host_path: bool = False
    allow_host_namespaces: bool = False  # hostNetwork, hostPID, hostIPC
    allow_host_ports: bool = False
    allow_node_pinning: bool = False  # nodeName, nodeSelector, node affinity from the tenant


@dataclass(frozen=True)
class SyncContext:
    """One virtual cluster as the translators see it."""

    vcluster: str  # the virtual cluster's name (ownership label value)
    host_namespace: str  # the one host namespace every synced object lives in
    # Host ServiceAccount synced pods run as: no RBAC bindings, token not mounted.
    host_service_account: str = "default"
    # The virtual API server as pods reach it (the chart's Service in the host namespace).
    api_host: str = ""
    api_port: int = 443
    # Cluster IP of the virtual cluster's DNS service, when it has one.
    dns_ip: str = ""
    cluster_domain: str = "cluster.local"
    isolation: Isolation = field(default_factory=Isolation)
    # Node pool for synced pods: merged into every host pod.
    node_selector: tuple[tuple[str, str], ...] = ()
    tolerations: tuple[tuple[tuple[str, str], ...], ...] = ()  # each toleration as sorted items
    # Virtual StorageClass name -> host StorageClass name ("" key: claims without a class).
    storage_classes: tuple[tuple[str, str], ...] = ()
