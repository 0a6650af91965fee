"""The isolation policy: what a tenant's objects may ask of the host. Pure.

A tenant is cluster-admin inside the virtual cluster; the syncer is the only bridge to the
host, so everything it copies is checked here. A rule either *refuses* an object (it is not
synced; `Refused` is raised) or *strips* a setting (the copy is synced without it; the
`Violation` is returned). Either way the caller records an Event on the virtual object that
names the rule. Rules are listed in `context.RULES`; each can be relaxed (`--allow`).

The functions work on (and mutate) the *copy* the translator is building, never on the
virtual object itself.
"""

from __future__ import annotations

import fnmatch
import ipaddress
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from preview import naming
from preview.syncer import podsecurity
from preview.syncer.context import RESERVED_PREFIX_RULE, Isolation

REFUSED_REASON = "SyncRefused"
STRIPPED_REASON = "SyncStripped"

# Volume types that cannot name a host object. Others (rbd, cephfs, azureFile, flexVolume,
# iscsi… with their secretRef) would read Secrets of the *host* namespace.
_SAFE_VOLUMES = frozenset({"name", "configMap", "secret", "emptyDir", "projected", "downwardAPI",
                           "persistentVolumeClaim", "ephemeral", "csi", "image", "hostPath"})


@dataclass(frozen=True)
class Violation:
    """One setting a rule refused or stripped; `message` names the field."""

    rule: str
    message: str
    refused: bool = False

    @property
    def reason(self) -> str:
        return REFUSED_REASON if self.refused else STRIPPED_REASON

    def event_message(self) -> str:
        what = "not synced to the host" if self.refused else "removed from the host copy"
        return f"isolation rule {self.rule}: {self.message}; {what} (the chart's sync.allow " \
               f"can relax {self.rule})" if self.rule != RESERVED_PREFIX_RULE else \
            f"isolation rule {self.rule}: {self.message}; {what}"


class Refused(Exception):
    """The virtual object asks for something this virtual cluster does not allow."""

    def __init__(self, violation: Violation) -> None:
        super().__init__(violation.event_message())
        self.violation = violation

    @property
    def rule(self) -> str:
        return self.violation.rule

    @property
    def reason(self) -> str:
        return self.violation.reason

    @property
    def message(self) -> str:
        return self.violation.event_message()


def _refuse(iso: Isolation, rule: str, message: str) -> None:
    if iso.enforced(rule):
        raise Refused(Violation(rule, message, refused=True))


# -- metadata ------------------------------------------------------------------------------------
def strip_reserved(meta: dict[str, Any], silent: Iterable[str] = ()) -> list[Violation]:
    """Remove the tenant's labels/annotations under our prefix (they would forge ownership or
    identity on the host). Keys in `silent` are ones the syncer itself set on the virtual
    object: removed without a violation."""
    quiet = set(silent)
    out: list[Violation] = []
    for field in ("labels", "annotations"):
        values = meta.get(field) or {}
        for key in [k for k in values if _reserved(k)]:
            del values[key]
            if key not in quiet:
                out.append(Violation(RESERVED_PREFIX_RULE,
                                     f"metadata.{field}[{key}] uses the reserved prefix "
                                     f"{naming.PREFIX}"))
    return out


def _reserved(key: str) -> bool:
    return key.startswith(naming.PREFIX)


# -- pods ----------------------------------------------------------------------------------------
def pod(spec: dict[str, Any], annotations: dict[str, Any], iso: Isolation) -> list[Violation]:
    """Refuse (raise) or strip what a pod spec may not ask of the host: the Pod Security
    Standard controls (podsecurity.py, at the isolation's level), then our own rules."""
    _refuse_first(podsecurity.check(spec, annotations, iso.pod_security), iso)
    for i, volume in enumerate(spec.get("volumes") or []):
        where = f"spec.volumes[{i}]"
        unknown = sorted(set(volume) - _SAFE_VOLUMES)
        if unknown:
            _refuse(iso, "volume-types", f"{where}.{unknown[0]}")
        if (volume.get("csi") or {}).get("nodePublishSecretRef"):
            _refuse(iso, "volume-types", f"{where}.csi.nodePublishSecretRef")
        template = ((volume.get("ephemeral") or {}).get("volumeClaimTemplate") or {})
        template_spec = template.get("spec") or {}
        for key in ("volumeName", "selector"):  # as a PVC's (pvc() below): a host volume
            if template_spec.get(key):
                _refuse(iso, "volume-name", f"{where}.ephemeral.volumeClaimTemplate.spec.{key}")
    if spec.get("nodeName"):
        _refuse(iso, "node-pinning", "spec.nodeName")
    stripped: list[Violation] = []
    if iso.enforced("node-pinning"):
        for key in ("nodeSelector", "affinity"):
            if spec.pop(key, None):
                stripped.append(Violation("node-pinning", f"spec.{key}"))
        # Kubernetes adds tolerations of its own to every pod (and the DaemonSet controller to
        # its pods); dropping those is no news to the tenant, who never asked for them.
        if [t for t in spec.pop("tolerations", None) or [] if not default_toleration(t)]:
            stripped.append(Violation("node-pinning", "spec.tolerations"))
    priority_class = spec.get("priorityClassName")
    spec.pop("priority", None)  # the host computes it from the class
    if priority_class and iso.enforced("priority-class") and \
            priority_class not in iso.allowed_priority_classes:
        spec.pop("priorityClassName")
        spec.pop("preemptionPolicy", None)
        stripped.append(Violation("priority-class", f"spec.priorityClassName {priority_class!r} "
                                                    "is not an allowed priority class"))
    return stripped


# The tolerations Kubernetes itself adds: DefaultTolerationSeconds admission's NoExecute pair
# (kube-apiserver --default-not-ready-toleration-seconds, --default-unreachable-toleration-
# seconds, 300 s by default) on every pod, and the DaemonSet controller's on its pods.
_DEFAULT_TOLERATIONS = {
    ("node.kubernetes.io/not-ready", "NoExecute"), ("node.kubernetes.io/unreachable", "NoExecute"),
    ("node.kubernetes.io/disk-pressure", "NoSchedule"),
    ("node.kubernetes.io/memory-pressure", "NoSchedule"),
    ("node.kubernetes.io/pid-pressure", "NoSchedule"),
    ("node.kubernetes.io/unschedulable", "NoSchedule"),
    ("node.kubernetes.io/network-unavailable", "NoSchedule"),
}


def default_toleration(toleration: Any) -> bool:
    """Whether a toleration is one Kubernetes adds by itself (pure): an `Exists` toleration
    of one of its own node condition taints, with no value."""
    return isinstance(toleration, dict) and toleration.get("operator") == "Exists" and \
        not toleration.get("value") and \
        (toleration.get("key"), toleration.get("effect")) in _DEFAULT_TOLERATIONS


def running_pod(spec: dict[str, Any], annotations: dict[str, Any], iso: Isolation) -> None:
    """Refuse (raise) a pod whose host copy already runs, when the Pod Security controls
    now forbid it: a syncer restarted at a stricter level or with a new control. Not its
    ephemeral containers (judged when added; a refused one stays in the virtual pod for good)
    and not our own rules (the syncer itself sets `spec.nodeName` when it binds the pod)."""
    _refuse_first(podsecurity.check(spec, annotations, iso.pod_security,
                                    lists=("initContainers", "containers")), iso)


def ephemeral_containers(spec: dict[str, Any], iso: Isolation) -> None:
    """Refuse (raise) ephemeral containers added to a running pod (`kubectl debug`) that ask
    what the policy forbids; the pod's own settings count as their defaults, as in `pod`."""
    _refuse_first(podsecurity.check(spec, {}, iso.pod_security,
                                    lists=("ephemeralContainers",), pod_level=False), iso)


def _refuse_first(findings: list[podsecurity.Finding], iso: Isolation) -> None:
    for finding in findings:
        _refuse(iso, finding.rule, finding.field)


# -- services ------------------------------------------------------------------------------------
def service(spec: dict[str, Any], iso: Isolation, cluster_domain: str) -> list[Violation]:
    """Refuse or strip what a Service spec may not ask of the host."""
    if spec.get("type") == "LoadBalancer":
        _refuse(iso, "load-balancer", "spec.type LoadBalancer")
    if spec.get("type") == "ExternalName":
        target = str(spec.get("externalName") or "").rstrip(".").lower()
        if _in_cluster_domain(target, cluster_domain):
            _refuse(iso, "external-name", f"spec.externalName {target!r} points into the "
                                          "host cluster")
    stripped: list[Violation] = []
    if spec.get("externalIPs") and iso.enforced("external-ips"):
        stripped.append(Violation("external-ips", f"spec.externalIPs {spec.pop('externalIPs')}"))
    for i, port in enumerate(spec.get("ports") or []):
        node_port = port.get("nodePort")
        if node_port and iso.enforced("node-ports"):
            del port["nodePort"]
            stripped.append(Violation("node-ports", f"spec.ports[{i}].nodePort {node_port}"))
    return stripped


def _in_cluster_domain(target: str, cluster_domain: str) -> bool:
    """Whether a name resolves inside the host cluster: another namespace's Service, or a
    bare or `<svc>.<namespace>` name that a resolver with the cluster's search path (an
    ingress controller's nginx, for one) completes to one."""
    if "." not in target:
        return True
    labels = target.split(".")
    domains = {cluster_domain.lower().strip("."), "cluster.local"}
    return (any(target == d or target.endswith("." + d) for d in domains)
            or labels[-1] in _CLUSTER_LABELS)


# Last labels that make a name a cluster-internal one under the search path.
_CLUSTER_LABELS = frozenset({"svc", "default", "kube-system", "kube-public", "kube-node-lease"})


# -- endpoints -----------------------------------------------------------------------------------
def endpoints(subsets: list[dict[str, Any]], own_ips: frozenset[str],
              iso: Isolation) -> None:
    """Refuse selector-less Endpoints pointing anywhere but this virtual cluster's own pods
    and Services (CVE-2021-25740: a tenant's Service fronting another tenant's pods)."""
    for i, subset in enumerate(subsets):
        for key in ("addresses", "notReadyAddresses"):
            for j, address in enumerate(subset.get(key) or []):
                ip = str(address.get("ip") or "")
                if _normal_ip(ip) not in own_ips:
                    _refuse(iso, "foreign-endpoints", f"subsets[{i}].{key}[{j}].ip {ip} is "
                                                      "not a pod or Service of this virtual "
                                                      "cluster")


def _normal_ip(ip: str) -> str:
    try:
        return str(ipaddress.ip_address(ip))
    except ValueError:
        return ip


def normal_ips(ips: Iterable[str]) -> frozenset[str]:
    return frozenset(_normal_ip(ip) for ip in ips if ip and ip != "None")


# -- ingresses -----------------------------------------------------------------------------------
def ingress(annotations: dict[str, Any], spec: dict[str, Any],
            iso: Isolation) -> list[Violation]:
    """Refuse hosts outside the allowed patterns; strip controller-configuration annotations."""
    for where, host in _ingress_hosts(spec):
        allowed = host_allowed(host, iso.allowed_hosts)
        if not allowed:
            shown = host or "(no host: every host)"
            _refuse(iso, "ingress-hosts", f"{where} {shown!r} is not among the allowed hosts "
                                          f"{list(iso.allowed_hosts) or '(any concrete host)'}")
    for where, backend in _backends(spec):
        if backend.get("resource"):
            _refuse(iso, "ingress-backends", f"{where}.resource")
    stripped: list[Violation] = []
    if iso.enforced("ingress-annotations"):
        for key in sorted(annotations):
            if any(fnmatch.fnmatchcase(key, p) for p in iso.denied_annotations):
                del annotations[key]
                stripped.append(Violation("ingress-annotations", f"metadata.annotations[{key}]"))
    return stripped


def host_allowed(host: str, patterns: tuple[str, ...]) -> bool:
    """Whether an Ingress host may be used. `host` "" means a rule without a host.

    No patterns: any concrete host (a wildcard would take other environments' names).
    Patterns: `*.example.com` matches exactly one more label, as Ingress wildcards do; a
    wildcard host, or a rule without host, only when a pattern is exactly it (or `*`).
    """
    host = host.lower().rstrip(".")
    if not patterns:
        return "*" not in host
    for pattern in (p.lower().rstrip(".") for p in patterns):
        if pattern == "*" or pattern == host:
            return True
        if host and "*" not in host and pattern.startswith("*."):
            suffix = pattern[1:]
            if host.endswith(suffix) and "." not in host[:-len(suffix)] and \
                    host[:-len(suffix)]:
                return True
    return False


def _ingress_hosts(spec: dict[str, Any]) -> Iterator[tuple[str, str]]:
    if spec.get("defaultBackend"):
        yield "spec.defaultBackend", ""
    for i, rule in enumerate(spec.get("rules") or []):
        yield f"spec.rules[{i}].host", str(rule.get("host") or "")
    for i, tls in enumerate(spec.get("tls") or []):
        for j, host in enumerate(tls.get("hosts") or []):
            yield f"spec.tls[{i}].hosts[{j}]", str(host)


def _backends(spec: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    if spec.get("defaultBackend"):
        yield "spec.defaultBackend", spec["defaultBackend"]
    for i, rule in enumerate(spec.get("rules") or []):
        for j, path in enumerate((rule.get("http") or {}).get("paths") or []):
            yield f"spec.rules[{i}].http.paths[{j}].backend", path.get("backend") or {}


# -- persistent volume claims --------------------------------------------------------------------
def pvc(spec: dict[str, Any], iso: Isolation) -> list[Violation]:
    """Strip what would bind or copy a host volume the tenant does not own."""
    if not iso.enforced("volume-name"):
        return []
    stripped = []
    for key in ("volumeName", "selector"):
        if spec.get(key):
            stripped.append(Violation("volume-name", f"spec.{key} {spec.pop(key)!r}"))
    ref = spec.get("dataSourceRef") or {}
    if ref.get("namespace"):
        stripped.append(Violation("volume-name", f"spec.dataSourceRef.namespace "
                                                 f"{ref.pop('namespace')!r}"))
    return stripped
