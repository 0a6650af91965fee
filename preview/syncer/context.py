"""What translation needs to know about the virtual cluster and its host: plain frozen data."""

from __future__ import annotations

from dataclasses import dataclass, field

from preview.kube.resources import SYNCED_KINDS

# Every isolation rule, by the name used in `--allow`, the chart's `sync.allow`, Events and
# metrics. All are enforced unless relaxed, the RESTRICTED_RULES only at `--pod-security
# restricted`. policy.py and podsecurity.py say what each one refuses or strips.
RULES: dict[str, str] = {
    # pods: the baseline Pod Security Standard
    "privileged": "privileged containers",
    "capabilities": "capabilities beyond the baseline Pod Security Standard",
    "host-path": "hostPath volumes",
    "host-namespaces": "hostNetwork, hostPID, hostIPC, Windows hostProcess",
    "host-ports": "container hostPorts",
    "proc-mount": "procMount other than Default",
    "sysctls": "sysctls outside the baseline safe set",
    "unconfined-profiles": "seccomp or AppArmor profiles other than RuntimeDefault/Localhost",
    "selinux": "SELinux types outside container_t, container_init_t, container_kvm_t, "
               "container_engine_t; SELinux user or role",
    "probe-hosts": "a host in probes and lifecycle handlers (the kubelet would connect there)",
    # pods: the restricted Pod Security Standard (only at --pod-security restricted)
    "restricted-volumes": "volume types outside the restricted set (restricted level)",
    "privilege-escalation": "allowPrivilegeEscalation not false (restricted level)",
    "run-as-non-root": "runAsNonRoot not true for the pod or every container "
                       "(restricted level)",
    "run-as-root": "runAsUser 0 (restricted level)",
    "restricted-capabilities": "capabilities not dropping ALL, or adding any but "
                               "NET_BIND_SERVICE (restricted level)",
    "seccomp-profile": "no seccomp profile RuntimeDefault or Localhost for the pod or every "
                       "container (restricted level)",
    # pods: the project's own
    "volume-types": "volume types that name host objects (secretRef, nodePublishSecretRef…)",
    "node-pinning": "spec.nodeName (refused); the tenant's nodeSelector, affinity and "
                    "tolerations (stripped)",
    "priority-class": "priority classes outside the allowed set (stripped)",
    # services
    "external-ips": "Service externalIPs (CVE-2020-8554; stripped)",
    "node-ports": "fixed Service nodePorts (stripped: the host allocates its own)",
    "external-name": "ExternalName Services pointing into the host cluster's domain",
    "load-balancer": "Services of type LoadBalancer",
    # endpoints
    "foreign-endpoints": "Endpoints addresses outside the virtual cluster's pods and Services "
                         "(CVE-2021-25740)",
    # ingresses
    "ingress-hosts": "Ingress hosts outside the allowed host patterns; wildcard hosts",
    "ingress-annotations": "Ingress annotations injecting ingress-controller configuration "
                           "(CVE-2021-25742; stripped)",
    "ingress-backends": "Ingress resource backends (they name host objects)",
    # persistent volume claims
    "volume-name": "PersistentVolumeClaim volumeName/selector/cross-namespace data sources "
                   "(stripped: they bind or copy host volumes)",
}
# The rules of the restricted Pod Security Standard beyond the baseline: enforced only when
# the syncer's level (`--pod-security`, the chart's `isolation.podSecurity`) is restricted.
RESTRICTED_RULES = frozenset({"restricted-volumes", "privilege-escalation", "run-as-non-root",
                              "run-as-root", "restricted-capabilities", "seccomp-profile"})
# Pod Security Standard levels, loosest first. The syncer enforces the baseline rules at
# `privileged` and `baseline` alike (only `--allow` relaxes one): it is the boundary.
POD_SECURITY_LEVELS = ("privileged", "baseline", "restricted")
# Rules that cannot be relaxed: the reserved prefix is the ownership contract itself.
RESERVED_PREFIX_RULE = "reserved-prefix"

# ingress-nginx's `*-snippet` annotations (CVE-2021-25742) and NGINX Inc's `*-snippets`.
DEFAULT_DENIED_ANNOTATIONS = ("nginx.ingress.kubernetes.io/*-snippet",
                              "nginx.org/*-snippets")


@dataclass(frozen=True)
class Isolation:
    """What a tenant may ask of the host: every rule of RULES enforced unless relaxed (and
    the RESTRICTED_RULES only at the restricted level)."""

    relaxed: frozenset[str] = frozenset()
    pod_security: str = "baseline"  # one of POD_SECURITY_LEVELS
    # Ingress host patterns (`*.example.com` matches one label); empty: any concrete host.
    allowed_hosts: tuple[str, ...] = ()
    # Ingress annotation key patterns (fnmatch) stripped by `ingress-annotations`.
    denied_annotations: tuple[str, ...] = DEFAULT_DENIED_ANNOTATIONS
    # Priority classes synced pods may keep (`priority-class`).
    allowed_priority_classes: tuple[str, ...] = ()

    def enforced(self, rule: str) -> bool:
        if rule in RESTRICTED_RULES and self.pod_security != "restricted":
            return False
        return rule not in self.relaxed


@dataclass(frozen=True)
class OwnerRef:
    """The host object every synced host object is owned by (the virtual cluster's Service),
    so that uninstalling the chart lets the host's garbage collector remove them."""

    api_version: str
    kind: str
    name: str
    uid: str

    def reference(self) -> dict[str, str]:
        return {"apiVersion": self.api_version, "kind": self.kind, "name": self.name,
                "uid": self.uid}


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
    # Labels put on every synced host pod (cost attribution); never our reserved prefix.
    extra_labels: tuple[tuple[str, str], ...] = ()
    owner: OwnerRef | None = None


@dataclass(frozen=True)
class SyncOptions:
    """What to sync and how hard to work."""

    # Names of the catalog's SYNCED_KINDS (`--sync`), all by default.
    kinds: tuple[str, ...] = tuple(SYNCED_KINDS)
    workers: int = 8
    # "referenced": only ConfigMaps/Secrets that synced pods and Ingresses use; "all".
    configs: str = "referenced"
    # Every cached object is reconciled again this often: a repair for a missed event, not
    # a poll (at 5 min, 5000 objects cost ~17 CPU-seconds a minute at idle; see BENCHMARKS).
    resync_seconds: float = 3600.0
    # Copy host Events about synced objects onto their virtual objects.
    events: bool = True
    # "fake": synthetic virtual nodes (no cluster-wide permission needed); "real": mirror
    # the host nodes (needs get/list/watch on nodes cluster-wide).
    node_sync: str = "fake"
    # Where the syncer serves the kubelet API for virtual nodes (logs): address and port.
    kubelet_address: str = ""
    kubelet_port: int = 0
