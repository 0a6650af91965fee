"""vCluster's configuration keys, key by key: what each becomes in charts/vcluster (data).

Two vCluster forms: the Helm values of vCluster ≤ 0.19 (`sync.pods.enabled`,
`isolation.resourceQuota`, `mapServices`) and `vcluster.yaml` of vCluster ≥ 0.20
(`sync.toHost.*`, `sync.fromHost.*`, `policies.*`, `networking.replicateServices`). The facts
come from vCluster's own sources: the ≤ 0.19 chart values (charts/k3s/values.yaml at v0.19.9),
the ≥ 0.20 schema (config/config.go, chart/values.yaml) and the table vCluster migrated its
users with (config/legacyconfig/migrate.go). vclusterconfig.py walks a file against this table.

A rule's pattern is a key path; `*` stands for one key, a trailing `**` for any rest (kept
under the target). Every pattern is a path charts/vcluster does not have (a test checks), so
a key of ours is never read as vCluster's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from preview.kube.resources import SYNCED_KINDS

LEGACY = "vCluster ≤0.19 values"
CURRENT = "vcluster.yaml (vCluster ≥0.20)"

Path = tuple[str, ...]


SKIP = object()  # a converter's answer for a value that sets nothing (Rule.why says why)


class Refused(Exception):
    """A vCluster key (or value) charts/vcluster has no equivalent for; the reason."""


@dataclass(frozen=True)
class Rule:
    """One vCluster key: where it goes in our values, or why it goes nowhere.

    - `to`: our key (a path; `*` and `**` filled from the matched key), `convert` its value
      (raising Refused when a value has no equivalent).
    - `keep`: values accepted with nothing to set, because they are what we do anyway
      (`why` says so); any other value is refused with `why`.
    - `group`: translated together with other keys (vclusterconfig.py resolves them).
    """

    pattern: Path
    form: str
    to: Path | None = None
    convert: Callable[[Any], Any] | None = None
    keep: tuple[Any, ...] = ()
    why: str = ""
    group: str = ""


def _path(dotted: str) -> Path:
    return tuple(dotted.split("."))


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):  # vCluster's StrBool
        return value == "true"
    raise Refused(f"{value!r} is not true or false")


def _labels(value: Any) -> dict[str, str]:
    """vCluster ≤0.19's `nodeSelector: "a=b,c=d"` as labels."""
    if not isinstance(value, str):
        raise Refused("a label selector string, e.g. \"pool=previews,zone=a\"")
    labels = {}
    for part in filter(None, (p.strip() for p in value.split(","))):
        key, sep, val = part.partition("=")
        if not sep or not key or any(c in part for c in "!()") or "==" in part:
            raise Refused(f"{part!r}: only `key=value` terms have an equivalent "
                          "(sync.nodeSelector is exact labels)")
        labels[key.strip()] = val.strip()
    return labels


def toleration(spec: Any) -> dict[str, str]:
    """vCluster's `key[=value][:Effect]` as our {key, value?, effect?}."""
    if not isinstance(spec, str):
        raise Refused(f"{spec!r}: vCluster spells a toleration as key[=value][:Effect]")
    if spec == "*":
        raise Refused("'*' tolerates every taint; sync.tolerations names each key")
    rest, colon, effect = spec.partition(":")
    key, eq, value = rest.partition("=")
    if not key or ":" in effect or "=" in value:
        raise Refused(f"{spec!r} is not key[=value][:Effect]")
    out = {"key": key}
    if eq:
        out["value"] = value
    if colon:
        out["effect"] = effect
    return out


def _tolerations(value: Any) -> list[dict[str, str]]:
    if not isinstance(value, list):
        raise Refused("a list of key[=value][:Effect]")
    return [toleration(item) for item in value]


def _count(value: Any) -> int:
    try:
        count = int(str(value))
    except ValueError:
        raise Refused(f"{value!r} is not a count (charts/vcluster counts objects in "
                      "whole numbers)") from None
    if count < 0:
        raise Refused(f"{value!r} is negative")
    return count


def _namespace_pods(value: Any) -> int:
    """vCluster's `pods` counts every pod of the host namespace, its control plane's too;
    ours counts the tenant's and the chart adds the control plane's one: so the host's
    ResourceQuota says the number the file says."""
    count = _count(value)
    if count < 1:
        raise Refused(f"{value!r} leaves no room for the control plane's own pod")
    return count - 1


def _quantity(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise Refused(f"{value!r} is not a Kubernetes quantity")
    return str(value)


def _cidr_any(value: Any) -> bool:
    if value != "0.0.0.0/0":
        raise Refused("charts/vcluster lets pods out to everything outside "
                      "isolation.networkPolicy.privateRanges (allowInternet) or to nothing; "
                      f"egress to {value!r} only has no equivalent")
    return True


def _pod_security(value: Any) -> Any:
    if value == "":  # vCluster: none enforced
        return SKIP
    if value not in ("privileged", "baseline", "restricted"):
        raise Refused(f"{value!r}: privileged, baseline or restricted")
    return value


def _retention(value: Any) -> str:
    if value not in ("Delete", "Retain"):
        raise Refused(f"{value!r}: Delete or Retain")
    return str(value)


# A ResourceQuota key as vCluster spells it (Kubernetes' own names) -> ours under
# isolation.quota, with the converter of its value.
QUOTA_KEYS: dict[str, tuple[Path, Callable[[Any], Any]]] = {
    "pods": (("pods",), _namespace_pods), "count/pods": (("pods",), _namespace_pods),
    "services": (("services",), _count), "count/services": (("services",), _count),
    "persistentvolumeclaims": (("persistentVolumeClaims",), _count),
    "count/persistentvolumeclaims": (("persistentVolumeClaims",), _count),
    "services.loadbalancers": (("loadBalancers",), _count),
    "services.nodeports": (("nodePorts",), _count),
    "cpu": (("requests", "cpu"), _quantity), "requests.cpu": (("requests", "cpu"), _quantity),
    "memory": (("requests", "memory"), _quantity),
    "requests.memory": (("requests", "memory"), _quantity),
    "requests.storage": (("requests", "storage"), _quantity),
    "limits.cpu": (("limits", "cpu"), _quantity),
    "limits.memory": (("limits", "memory"), _quantity),
}

# vCluster's defaults for its isolation (identical in the ≤0.19 chart and ≥0.20
# vcluster.yaml), in our keys: what `isolation.enabled: true` or a policy switched on brings
# where the file does not set the key. Keys of vCluster's defaults we have no equivalent for
# (ephemeral-storage, count/endpoints, count/secrets, count/configmaps) are not carried;
# NOT_CARRIED names them. The network policy brings only `enabled`: our privateRanges
# already hold vCluster's `except` ranges and add 169.254.0.0/16 (cloud metadata).
DEFAULTS: dict[str, dict[Path, Any]] = {
    "quota": {
        ("isolation", "quota", "requests", "cpu"): "10",
        ("isolation", "quota", "requests", "memory"): "20Gi",
        ("isolation", "quota", "requests", "storage"): "100Gi",
        ("isolation", "quota", "limits", "cpu"): "20",
        ("isolation", "quota", "limits", "memory"): "40Gi",
        ("isolation", "quota", "nodePorts"): 0,
        ("isolation", "quota", "loadBalancers"): 1,
        ("isolation", "quota", "pods"): 19,  # vCluster's count/pods: 20, the namespace's
        ("isolation", "quota", "services"): 20,
        ("isolation", "quota", "persistentVolumeClaims"): 20,
    },
    "limitRange": {
        ("isolation", "limitRange", "default", "cpu"): "1",
        ("isolation", "limitRange", "default", "memory"): "512Mi",
        ("isolation", "limitRange", "defaultRequest", "cpu"): "100m",
        ("isolation", "limitRange", "defaultRequest", "memory"): "128Mi",
    },
    "networkPolicy": {("isolation", "networkPolicy", "enabled"): True},
    "podSecurity": {("isolation", "podSecurity"): "baseline"},
}
NOT_CARRIED = {
    "quota": "requests.ephemeral-storage, limits.ephemeral-storage, count/endpoints, "
             "count/secrets, count/configmaps",
    "limitRange": "ephemeral-storage",
}

# vCluster ≥0.20's names of our synced kinds (≤0.19 spells them as we do: SYNCED_KINDS).
CURRENT_KINDS = {"pods": "pods", "services": "services", "endpoints": "endpoints",
                  "configMaps": "configmaps", "secrets": "secrets",
                  "persistentVolumeClaims": "persistentvolumeclaims",
                  "ingresses": "ingresses"}
_NOT_SYNCED = "charts/vcluster does not sync this kind"
_NO_SCHEDULER = "the host schedules synced pods; the virtual cluster has no scheduler"
_NO_REPLICATION = ("charts/vcluster does not replicate Services between the virtual cluster "
                   "and other host namespaces; a synced Service is reachable in the host "
                   "namespace under its translated name")


def _rules() -> list[Rule]:
    L, C = LEGACY, CURRENT
    rules: list[Rule] = []
    add = rules.append
    # --- what is synced (≤0.19: sync.<kind>; ≥0.20: sync.toHost / sync.fromHost) ---------
    for kind in SYNCED_KINDS:
        add(Rule(("sync", kind, "enabled"), L, ("sync", "kinds", kind), _bool))
    for kind, ours in CURRENT_KINDS.items():
        add(Rule(("sync", "toHost", kind, "enabled"), C, ("sync", "kinds", ours), _bool))
    add(Rule(_path("sync.configmaps.all"), L, group="configs"))
    add(Rule(_path("sync.secrets.all"), L, group="configs"))
    add(Rule(_path("sync.toHost.configMaps.all"), C, group="configs"))
    add(Rule(_path("sync.toHost.secrets.all"), C, group="configs"))
    add(Rule(_path("sync.nodes.enabled"), L, group="nodes"))
    add(Rule(_path("sync.fake-nodes.enabled"), L, group="nodes"))
    add(Rule(_path("sync.fromHost.nodes.enabled"), C, group="nodes"))
    add(Rule(_path("sync.nodes.nodeSelector"), L, ("sync", "nodeSelector"), _labels))
    add(Rule(_path("sync.fromHost.nodes.selector.labels.*"), C, ("sync", "nodeSelector", "*")))
    add(Rule(_path("sync.toHost.pods.enforceTolerations"), C, ("sync", "tolerations"),
             _tolerations))
    add(Rule(_path("sync.nodes.syncAllNodes"), L, keep=(False,),
             why="real virtual nodes are the host nodes that run synced pods, not all"))
    add(Rule(_path("sync.fromHost.nodes.selector.all"), C, keep=(False,),
             why="real virtual nodes are the host nodes that run synced pods, not all"))
    for key in ("sync.nodes.enableScheduler", "sync.nodes.syncNodeChanges",
                "sync.fromHost.nodes.syncBackChanges"):
        add(Rule(_path(key), C if "fromHost" in key else L, keep=(False,), why=_NO_SCHEDULER))
    add(Rule(_path("sync.fromHost.nodes.clearImageStatus"), C, keep=(False,),
             why="virtual nodes report no images"))
    add(Rule(_path("sync.nodes.fakeKubeletIPs"), L, keep=(True,),
             why="the syncer answers for the virtual nodes' kubelets"))
    add(Rule(_path("sync.events.enabled"), L, keep=(True,),
             why="the syncer always copies events about synced objects back"))
    add(Rule(_path("sync.fromHost.events.enabled"), C, keep=(True,),
             why="the syncer always copies events about synced objects back"))
    add(Rule(_path("sync.fake-persistentvolumes.enabled"), L, keep=(True,),
             why="claims bind to host volumes; no PersistentVolumes are synced"))
    add(Rule(_path("sync.pods.ephemeralContainers"), L, keep=(False,), why=_NOT_SYNCED))
    add(Rule(_path("sync.pods.status"), L, keep=(False,), why="pod status always comes back"))
    add(Rule(_path("sync.generic.config"), L, keep=("", "---"),
             why="no generic (custom resource) sync"))
    for kind in ("ingressclasses", "persistentvolumes", "storageclasses", "hoststorageclasses",
                 "priorityclasses", "networkpolicies", "volumesnapshots",
                 "poddisruptionbudgets", "serviceaccounts", "csinodes", "csidrivers",
                 "csistoragecapacities"):
        add(Rule(("sync", kind, "enabled"), L, keep=(False,), why=_NOT_SYNCED))
    add(Rule(_path("sync.toHost.endpointSlices.enabled"), C, keep=(True,),
             why="the host mirrors the synced Endpoints into EndpointSlices itself"))
    for kind in ("priorityClasses", "networkPolicies", "podDisruptionBudgets",
                 "serviceAccounts", "storageClasses", "persistentVolumes", "namespaces",
                 "resourceClaims", "resourceClaimTemplates", "gatewayApi",
                 "volumeSnapshots", "volumeSnapshotContents", "customResources"):
        add(Rule(("sync", "toHost", kind, "enabled"), C, keep=(False,), why=_NOT_SYNCED))
    for kind in ("configMaps", "secrets", "ingressClasses", "runtimeClasses",
                 "priorityClasses", "gatewayClasses", "gateways", "deviceClasses",
                 "volumeSnapshotClasses"):
        add(Rule(("sync", "fromHost", kind, "enabled"), C, keep=(False,), why=_NOT_SYNCED))
        add(Rule(("sync", "fromHost", kind, "mappings", "byName"), C, keep=({},),
                 why=_NOT_SYNCED))
    for kind in ("csiDrivers", "csiNodes", "csiStorageCapacities", "storageClasses"):
        add(Rule(("sync", "fromHost", kind, "enabled"), C, keep=(False, "false", "auto"),
                 why=_NOT_SYNCED + " (with no virtual scheduler, vCluster's auto is off too)"))
    for key, value in (("translateImage", {}), ("useSecretsForSATokens", False),
                       ("runtimeClassName", ""), ("priorityClassName", ""),
                       ("hybridScheduling.enabled", False)):
        add(Rule(_path(f"sync.toHost.pods.{key}"), C, keep=(value,),
                 why="charts/vcluster has no such setting for synced pods"))
    add(Rule(_path("sync.toHost.pods.rewriteHosts.enabled"), C, keep=(True, False),
             why="synced pods keep their own /etc/hosts; no init container is added"))
    # --- isolation (≤0.19: isolation.*; ≥0.20: policies.*) --------------------------------
    add(Rule(_path("isolation.enabled"), L, group="isolation"))
    for key, form in (("isolation.podSecurityStandard", L), ("policies.podSecurityStandard", C)):
        add(Rule(_path(key), form, ("isolation", "podSecurity"), _pod_security,
                 why="empty: vCluster enforces no level; charts/vcluster's "
                     "isolation.podSecurity (default baseline) stays"))
    add(Rule(_path("isolation.resourceQuota.enabled"), L, ("isolation", "quota", "enabled"),
             _bool))
    add(Rule(_path("policies.resourceQuota.enabled"), C, group="quota"))
    add(Rule(_path("policies.limitRange.enabled"), C, group="limitRange"))
    add(Rule(_path("isolation.resourceQuota.quota.*"), L, group="quotaKey"))
    add(Rule(_path("policies.resourceQuota.quota.*"), C, group="quotaKey"))
    for base, form in (("isolation.resourceQuota", L), ("policies.resourceQuota", C)):
        add(Rule(_path(f"{base}.scopes"), form, keep=(None, []),
                 why="the quota applies to every pod of the namespace; no scopes"))
        add(Rule(_path(f"{base}.scopeSelector.matchExpressions"), form, keep=(None, []),
                 why="the quota applies to every pod of the namespace; no scope selector"))
    for which in ("default", "defaultRequest", "max"):
        for resource in ("cpu", "memory"):
            add(Rule(_path(f"policies.limitRange.{which}.{resource}"), C,
                     ("isolation", "limitRange", which, resource), _quantity))
    for which in ("default", "defaultRequest"):
        add(Rule(("isolation", "limitRange", which, "ephemeral-storage"), L,
                 why="charts/vcluster's LimitRange sets cpu and memory only"))
        add(Rule(("policies", "limitRange", which, "ephemeral-storage"), C,
                 why="charts/vcluster's LimitRange sets cpu and memory only"))
    add(Rule(_path("policies.limitRange.min"), C, keep=({},),
             why="charts/vcluster's LimitRange has no minimum"))
    add(Rule(_path("policies.networkPolicy.enabled"), C,
             ("isolation", "networkPolicy", "enabled"), _bool))
    add(Rule(_path("isolation.networkPolicy.outgoingConnections.ipBlock.cidr"), L,
             ("isolation", "networkPolicy", "allowInternet"), _cidr_any))
    add(Rule(_path("isolation.networkPolicy.outgoingConnections.ipBlock.except"), L,
             ("isolation", "networkPolicy", "privateRanges")))
    add(Rule(_path("policies.networkPolicy.workload.publicEgress.enabled"), C,
             ("isolation", "networkPolicy", "allowInternet"), _bool))
    add(Rule(_path("policies.networkPolicy.workload.publicEgress.cidr"), C,
             ("isolation", "networkPolicy", "allowInternet"), _cidr_any))
    add(Rule(_path("policies.networkPolicy.workload.publicEgress.except"), C,
             ("isolation", "networkPolicy", "privateRanges")))
    for side in ("controlPlane", "workload"):
        for way in ("ingress", "egress"):
            add(Rule(("policies", "networkPolicy", side, way), C, keep=(None, []),
                     why="extra NetworkPolicy rules: isolation.networkPolicy."
                         "allowedNamespaces lets namespaces in"))
    add(Rule(_path("policies.networkPolicy.fallbackDns"), C, keep=("8.8.8.8",),
             why="pods resolve through the syncer's DNS, which forwards to the host's"))
    for base, form in (("policies.resourceQuota", C), ("policies.limitRange", C),
                       ("policies.networkPolicy", C)):
        for meta in ("labels", "annotations"):
            add(Rule(_path(f"{base}.{meta}"), form, keep=({},),
                     why="the isolation objects carry the chart's own labels"))
    for hook in ("validatingWebhooks", "mutatingWebhooks"):
        add(Rule(("policies", "centralAdmission", hook), C, keep=(None, []),
                 why="no central admission webhooks"))
    add(Rule(_path("isolation.namespace"), L, keep=(None,),
             why="the virtual cluster lives in the namespace it is created in"))
    add(Rule(_path("isolation.nodeProxyPermission.enabled"), L, keep=(False,),
             why="the syncer gets no node/proxy permission"))
    # --- replicated services ----------------------------------------------------------------
    for direction in ("toHost", "fromHost"):
        add(Rule(("networking", "replicateServices", direction), C, keep=(None, []),
                 why=_NO_REPLICATION))
    for direction in ("fromVirtual", "fromHost"):
        add(Rule(("mapServices", direction), L, keep=(None, []), why=_NO_REPLICATION))
    # --- the control-plane pod and its storage ------------------------------------------------
    sched = "controlPlane.statefulSet.scheduling"
    add(Rule(_path(f"{sched}.nodeSelector.*"), C, ("controlPlane", "nodeSelector", "*")))
    add(Rule(_path(f"{sched}.tolerations"), C, ("controlPlane", "tolerations")))
    add(Rule(_path(f"{sched}.affinity.**"), C, ("controlPlane", "affinity", "**")))
    add(Rule(_path(f"{sched}.priorityClassName"), C, ("controlPlane", "priorityClassName")))
    add(Rule(_path("controlPlane.statefulSet.pods.annotations.*"), C,
             ("controlPlane", "podAnnotations", "*")))
    claim = "controlPlane.statefulSet.persistence.volumeClaim"
    add(Rule(_path(f"{claim}.enabled"), C, group="persistence"))
    add(Rule(_path(f"{claim}.size"), C, ("persistence", "size"), _quantity))
    add(Rule(_path(f"{claim}.storageClass"), C, ("persistence", "storageClassName")))
    add(Rule(_path(f"{claim}.accessModes"), C, ("persistence", "accessModes")))
    add(Rule(_path(f"{claim}.retentionPolicy"), C, ("persistence", "whenDeleted"), _retention))
    add(Rule(_path("controlPlane.distro.k3s.enabled"), C, keep=(True,),
             why="the control plane is always k3s"))
    add(Rule(_path("controlPlane.ingress.enabled"), C, ("ingress", "enabled"), _bool))
    add(Rule(_path("controlPlane.ingress.host"), C, ("ingress", "host")))
    add(Rule(_path("controlPlane.service.spec.type"), C, ("service", "type")))
    add(Rule(_path("storage.persistence"), L, ("persistence", "enabled"), _bool))
    add(Rule(_path("storage.size"), L, ("persistence", "size"), _quantity))
    add(Rule(_path("storage.className"), L, ("persistence", "storageClassName")))
    add(Rule(_path("nodeSelector.*"), L, ("controlPlane", "nodeSelector", "*")))
    add(Rule(_path("tolerations"), L, ("controlPlane", "tolerations")))
    add(Rule(_path("affinity.**"), L, ("controlPlane", "affinity", "**")))
    add(Rule(_path("priorityClassName"), L, ("controlPlane", "priorityClassName")))
    add(Rule(_path("podAnnotations.*"), L, ("controlPlane", "podAnnotations", "*")))
    add(Rule(_path("ingress.ingressClassName"), L, ("ingress", "className")))
    return rules


RULES: tuple[Rule, ...] = tuple(_rules())

# Keys of vCluster with no equivalent, and why: matched by prefix after RULES.
NO_EQUIVALENT: tuple[tuple[Path, str, str], ...] = (
    (_path("controlPlane.distro"), CURRENT,
     "the control plane is always k3s (k3s.image picks its version)"),
    (_path("controlPlane.backingStore"), CURRENT,
     "k3s keeps its state in SQLite (persistence.* puts it on a volume)"),
    (_path("controlPlane.statefulSet.resources"), CURRENT,
     "the control plane's two containers are sized apart: k3s.resources, syncer.resources"),
    (("controlPlane",), CURRENT, "not a setting of charts/vcluster's control-plane pod "
     "(controlPlane.* lists ours: docs/vcluster-chart.md)"),
    (("sync", "toHost"), CURRENT, "charts/vcluster syncs the kinds of sync.kinds, with "
     "no per-kind options beyond these (docs/vcluster-chart.md)"),
    (("sync", "fromHost"), CURRENT, "charts/vcluster brings back events and nodes only "
     "(sync.nodes: fake or real)"),
    (("policies",), CURRENT, "not an isolation setting of charts/vcluster (isolation.*)"),
    (("networking",), CURRENT, "charts/vcluster's networking is the host's: pods get host "
     "addresses, Services the host's cluster IPs"),
    (("privateNodes",), CURRENT, "the host's nodes run the synced pods; no private nodes"),
    (("deploy",), CURRENT, "nothing is deployed into the virtual cluster by the chart"),
    (("integrations",), CURRENT, "no integrations are deployed into the virtual cluster"),
    # rbac and telemetry are top-level keys of both forms: they say nothing of the form.
    (("rbac",), "", "the syncer's Role is fixed: exactly what it needs "
     "(preview.syncer.permissions.HOST_RULES)"),
    (("exportKubeConfig",), CURRENT, "the kubeconfig is Secret vc-NAME; `preview vcluster "
     "connect` writes a local one"),
    (("plugins",), CURRENT, "no syncer plugins"),
    (("experimental",), CURRENT, "no experimental settings"),
    (("telemetry",), "", "nothing is sent anywhere"),
    (("logging",), CURRENT, "the syncer's log format is syncer.logFormat"),
    (("sync",), LEGACY, "not a sync setting charts/vcluster has (sync.kinds …)"),
    (("isolation",), LEGACY, "not an isolation setting of charts/vcluster (isolation.*)"),
    (("api",), LEGACY, "the control plane is always k3s (k3s.image picks its version)"),
    (("controller",), LEGACY, "the control plane is always k3s (k3s.extraArgs)"),
    (("scheduler",), LEGACY, _NO_SCHEDULER),
    (("etcd",), LEGACY, "k3s keeps its state in SQLite (persistence.*)"),
    (("embeddedEtcd",), LEGACY, "k3s keeps its state in SQLite (persistence.*)"),
    (("vcluster",), LEGACY, "the control plane's k3s container is k3s.*"),
    (("storage",), LEGACY, "persistence.* holds the control plane's volume"),
    (("coredns",), LEGACY, "no CoreDNS: the syncer answers DNS (dns.enabled)"),
    (("mapServices",), LEGACY, _NO_REPLICATION),
    (("proxy",), LEGACY, "no metrics-server proxy"),
    (("plugin",), LEGACY, "no syncer plugins"),
    (("init",), LEGACY, "nothing is deployed into the virtual cluster by the chart"),
    (("multiNamespaceMode",), LEGACY, "one host namespace per virtual cluster"),
    (("fallbackHostDns",), LEGACY, "names the virtual cluster does not know are "
     "forwarded to the host's DNS always"),
    (("monitoring",), LEGACY, "the syncer serves /metrics; no ServiceMonitor is made"),
    (("centralAdmission",), LEGACY, "no central admission webhooks"),
    (("noopSyncer",), LEGACY, "the syncer always syncs"),
    (("k3sToken",), LEGACY, "k3s runs without agents: no join token"),
    (("globalAnnotations",), LEGACY, "not a value of charts/vcluster"),
    (("pro",), LEGACY, "not a value of charts/vcluster"),
    (("proLicenseSecret",), LEGACY, "not a value of charts/vcluster"),
    (("headless",), LEGACY, "not a value of charts/vcluster"),
    (("defaultImageRegistry",), LEGACY, "images are k3s.image and syncer.image"),
    (("volumes",), LEGACY, "the control-plane pod's volumes are the chart's"),
    (("serviceAccount",), LEGACY, "the chart makes its own ServiceAccounts (vc-NAME)"),
    (("workloadServiceAccount",), LEGACY, "synced pods run as vc-workload-NAME, "
     "bound to nothing"),
    (("labels",), LEGACY, "not a value of charts/vcluster"),
    (("podLabels",), LEGACY, "not a value of charts/vcluster"),
    (("annotations",), LEGACY, "not a value of charts/vcluster"),
    (("podDisruptionBudget",), LEGACY, "one control-plane replica: no disruption budget"),
    (("securityContext",), LEGACY, "k3s.securityContext, syncer.securityContext"),
    (("podSecurityContext",), LEGACY, "controlPlane.podSecurityContext"),
    (("openshift",), LEGACY, "not a value of charts/vcluster"),
    (("enableHA",), LEGACY, "one control-plane replica"),
    (("hostpathMapper",), LEGACY, "no host path mapper"),
)
