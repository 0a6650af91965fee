"""The isolation policy's pure rules (preview/syncer/policy.py)."""

from __future__ import annotations

from typing import Any

import pytest

from preview.syncer import policy
from preview.syncer.context import RULES, Isolation
from preview.syncer.policy import Refused

STRICT = Isolation()


@pytest.mark.parametrize(("host", "patterns", "allowed"), [
    ("shop.pr-1.example.com", (), True),
    ("*.example.com", (), False),
    ("", (), True),  # a rule without host: the controller's default server only
    ("shop.pr-1.example.com", ("*.pr-1.example.com",), True),
    ("SHOP.PR-1.example.com.", ("*.pr-1.example.com",), True),
    ("a.shop.pr-1.example.com", ("*.pr-1.example.com",), False),
    ("pr-1.example.com", ("*.pr-1.example.com",), False),
    ("evilpr-1.example.com", ("*.pr-1.example.com",), False),
    ("shop.pr-2.example.com", ("*.pr-1.example.com",), False),
    ("*.pr-1.example.com", ("*.pr-1.example.com",), True),  # explicitly allowed
    ("*.pr-1.example.com", ("shop.pr-1.example.com",), False),
    ("", ("shop.pr-1.example.com",), False),
    ("anything.example.org", ("*",), True),
])
def test_host_patterns(host: str, patterns: tuple[str, ...], allowed: bool) -> None:
    assert policy.host_allowed(host, patterns) is allowed


def test_ingress_tls_hosts_are_checked_too() -> None:
    spec: dict[str, Any] = {"rules": [{"host": "a.pr-1.example.com"}],
                            "tls": [{"hosts": ["a.pr-2.example.com"]}]}
    with pytest.raises(Refused) as e:
        policy.ingress({}, spec, Isolation(allowed_hosts=("*.pr-1.example.com",)))
    assert "spec.tls[0].hosts[0]" in e.value.message


def test_denied_annotations_are_configurable() -> None:
    notes = {"nginx.ingress.kubernetes.io/server-snippet": "x", "example.com/inject": "y",
             "nginx.org/location-snippets": "z", "kept": "1"}
    stripped = policy.ingress(notes, {}, STRICT)
    assert notes == {"example.com/inject": "y", "kept": "1"}
    assert {v.rule for v in stripped} == {"ingress-annotations"} and len(stripped) == 2
    custom = Isolation(denied_annotations=("example.com/*",))
    policy.ingress(notes, {}, custom)
    assert notes == {"kept": "1"}


def test_endpoints_outside_our_addresses_are_refused() -> None:
    subsets = [{"addresses": [{"ip": "10.244.0.5"}], "notReadyAddresses": [{"ip": "10.9.9.9"}]}]
    with pytest.raises(Refused) as e:
        policy.endpoints(subsets, frozenset({"10.244.0.5"}), STRICT)
    assert e.value.rule == "foreign-endpoints" and "notReadyAddresses" in e.value.message
    policy.endpoints(subsets, policy.normal_ips(["10.244.0.5", "10.9.9.9"]), STRICT)


def test_claims_cannot_name_host_volumes() -> None:
    spec: dict[str, Any] = {"volumeName": "pv-1", "selector": {"matchLabels": {"a": "b"}},
                            "dataSourceRef": {"kind": "PersistentVolumeClaim", "name": "x",
                                              "namespace": "kube-system"}}
    stripped = policy.pvc(spec, STRICT)
    assert "volumeName" not in spec and "selector" not in spec
    assert "namespace" not in spec["dataSourceRef"]
    assert len(stripped) == 3


def test_every_rule_is_documented_and_named_in_its_violation() -> None:
    assert all(RULES.values())
    violation = policy.Violation("host-path", "spec.volumes[0].hostPath", refused=True)
    assert violation.reason == "SyncRefused"
    assert "isolation rule host-path" in violation.event_message()
    assert "sync.allow" in violation.event_message()


# -- pods: every rule wherever a container can be --------------------------------------------------
# A container may sit in three lists, and an ephemeral one is added after the pod exists
# (`kubectl debug`, the pods/ephemeralcontainers subresource): a rule checked on
# `containers` only lets the other two through.
CONTAINER_LISTS = ("containers", "initContainers", "ephemeralContainers")

# (what a container asks, the rule that refuses it, the field the refusal names under it)
CONTAINER_CASES: list[tuple[dict[str, Any], str, str]] = [
    ({"securityContext": {"privileged": True}}, "privileged", "securityContext.privileged"),
    ({"securityContext": {"capabilities": {"add": ["SYS_ADMIN"]}}}, "capabilities",
     "securityContext.capabilities.add ['SYS_ADMIN']"),
    ({"securityContext": {"capabilities": {"add": ["CAP_NET_ADMIN"]}}}, "capabilities",
     "securityContext.capabilities.add ['CAP_NET_ADMIN']"),
    ({"securityContext": {"procMount": "Unmasked"}}, "proc-mount",
     "securityContext.procMount 'Unmasked'"),
    ({"securityContext": {"seccompProfile": {"type": "Unconfined"}}}, "unconfined-profiles",
     "securityContext.seccompProfile.type"),
    ({"securityContext": {"appArmorProfile": {"type": "Unconfined"}}}, "unconfined-profiles",
     "securityContext.appArmorProfile.type"),
    ({"securityContext": {"windowsOptions": {"hostProcess": True}}}, "host-namespaces",
     "securityContext.windowsOptions.hostProcess"),
    ({"ports": [{"containerPort": 80}, {"containerPort": 443, "hostPort": 443}]}, "host-ports",
     "ports[1].hostPort"),
]


def _pod_with(list_name: str, asks: dict[str, Any]) -> dict[str, Any]:
    """A pod spec whose second container of `list_name` asks for `asks` (the first is plain,
    so the index in the message is checked too)."""
    spec: dict[str, Any] = {"containers": [{"name": "app", "image": "app:1"}]}
    spec.setdefault(list_name, []).extend([{"name": "plain", "image": "busybox"},
                                           {"name": "asking", "image": "busybox", **asks}])
    return spec


@pytest.mark.parametrize("list_name", CONTAINER_LISTS)
@pytest.mark.parametrize(("asks", "rule", "field"), CONTAINER_CASES)
def test_container_rules_hold_in_every_container_list(list_name: str, asks: dict[str, Any],
                                                      rule: str, field: str) -> None:
    index = 2 if list_name == "containers" else 1
    with pytest.raises(Refused) as e:
        policy.pod(_pod_with(list_name, asks), {}, STRICT)
    assert e.value.rule == rule
    assert e.value.violation.message == f"spec.{list_name}[{index}].{field}"
    relaxed = _pod_with(list_name, asks)
    assert policy.pod(relaxed, {}, Isolation(relaxed=frozenset({rule}))) == []
    assert relaxed == _pod_with(list_name, asks)  # relaxed: synced as asked


@pytest.mark.parametrize("list_name", CONTAINER_LISTS)
def test_apparmor_annotation_refused_for_any_container(list_name: str) -> None:
    notes = {"container.apparmor.security.beta.kubernetes.io/asking": "unconfined"}
    with pytest.raises(Refused) as e:
        policy.pod(_pod_with(list_name, {}), notes, STRICT)
    assert e.value.rule == "unconfined-profiles"


@pytest.mark.parametrize("list_name", CONTAINER_LISTS)
def test_baseline_settings_pass_in_every_container_list(list_name: str) -> None:
    asks = {"securityContext": {"privileged": False, "capabilities": {"add": ["NET_BIND_SERVICE"]},
                                "procMount": "Default",
                                "seccompProfile": {"type": "RuntimeDefault"},
                                "windowsOptions": {"hostProcess": False}},
            "ports": [{"containerPort": 80}]}
    spec = _pod_with(list_name, asks)
    assert policy.pod(spec, {}, STRICT) == []
    assert spec == _pod_with(list_name, asks)


# (pod-level spec in, the rule that refuses it, the field its message names)
POD_CASES: list[tuple[dict[str, Any], str, str]] = [
    ({"securityContext": {"windowsOptions": {"hostProcess": True}}}, "host-namespaces",
     "spec.securityContext.windowsOptions.hostProcess"),
    ({"hostNetwork": True}, "host-namespaces", "spec.hostNetwork"),
    ({"hostPID": True}, "host-namespaces", "spec.hostPID"),
    ({"hostIPC": True}, "host-namespaces", "spec.hostIPC"),
    ({"securityContext": {"seccompProfile": {"type": "Unconfined"}}}, "unconfined-profiles",
     "spec.securityContext.seccompProfile.type"),
    ({"securityContext": {"privileged": True}}, "privileged",
     "spec.securityContext.privileged"),
    ({"securityContext": {"sysctls": [{"name": "net.ipv4.tcp_syncookies", "value": "1"},
                                      {"name": "kernel.msgmax", "value": "1"}]}}, "sysctls",
     "spec.securityContext.sysctls[1] 'kernel.msgmax'"),
    ({"nodeName": "node-1"}, "node-pinning", "spec.nodeName"),
    ({"volumes": [{"name": "h", "hostPath": {"path": "/"}}]}, "host-path",
     "spec.volumes[0].hostPath"),
    ({"volumes": [{"name": "r", "rbd": {"image": "i", "secretRef": {"name": "s"}}}]},
     "volume-types", "spec.volumes[0].rbd"),
    ({"volumes": [{"name": "c", "csi": {"driver": "d",
                                        "nodePublishSecretRef": {"name": "s"}}}]},
     "volume-types", "spec.volumes[0].csi.nodePublishSecretRef"),
    # a generic ephemeral volume's claim binds like a PVC's: not to a host volume by name...
    ({"volumes": [{"name": "e", "emptyDir": {}}, {"name": "scratch", "ephemeral": {
        "volumeClaimTemplate": {"spec": {"volumeName": "pv-of-another-tenant",
                                         "accessModes": ["ReadWriteOnce"]}}}}]},
     "volume-name", "spec.volumes[1].ephemeral.volumeClaimTemplate.spec.volumeName"),
    # ...nor by a label selector
    ({"volumes": [{"name": "scratch", "ephemeral": {"volumeClaimTemplate": {"spec": {
        "selector": {"matchLabels": {"tenant": "other"}}}}}}]},
     "volume-name", "spec.volumes[0].ephemeral.volumeClaimTemplate.spec.selector"),
]


@pytest.mark.parametrize(("patch", "rule", "field"), POD_CASES)
def test_pod_rules(patch: dict[str, Any], rule: str, field: str) -> None:
    spec = {"containers": [{"name": "app", "image": "app:1"}], **patch}
    with pytest.raises(Refused) as e:
        policy.pod(dict(spec), {}, STRICT)
    assert (e.value.rule, e.value.violation.message) == (rule, field)
    policy.pod(dict(spec), {}, Isolation(relaxed=frozenset({rule})))  # relaxed: synced


def test_an_ephemeral_volume_of_its_own_passes() -> None:
    spec = {"containers": [{"name": "app", "image": "app:1"}], "volumes": [
        {"name": "scratch", "ephemeral": {"volumeClaimTemplate": {"spec": {
            "accessModes": ["ReadWriteOnce"], "storageClassName": "standard",
            "resources": {"requests": {"storage": "1Gi"}}}}}}]}
    assert policy.pod(spec, {}, STRICT) == []


# What the syncer's Event says of each refusal: the rule (which `sync.allow` relaxes) and the
# field, exactly as the virtual object's owner reads it.
REFUSALS: list[tuple[str, Any, str, str]] = [
    ("load balancer", lambda: policy.service({"type": "LoadBalancer"}, STRICT, "cluster.local"),
     "load-balancer", "spec.type LoadBalancer"),
    ("another namespace's Service", lambda: policy.service(
        {"type": "ExternalName", "externalName": "kubernetes.default.svc.cluster.local."},
        STRICT, "cluster.local"),
     "external-name", "spec.externalName 'kubernetes.default.svc.cluster.local' points into "
                      "the host cluster"),
    ("a name the search path completes", lambda: policy.service(
        {"type": "ExternalName", "externalName": "X"}, STRICT, "cluster.local"),
     "external-name", "spec.externalName 'x' points into the host cluster"),
    ("no name at all", lambda: policy.service({"type": "ExternalName"}, STRICT, "cluster.local"),
     "external-name", "spec.externalName '' points into the host cluster"),
    ("the host's own cluster domain", lambda: policy.service(
        {"type": "ExternalName", "externalName": "db.team.corp.internal"}, STRICT,
        "Corp.Internal."),
     "external-name", "spec.externalName 'db.team.corp.internal' points into the host cluster"),
    ("cluster.local whatever the domain", lambda: policy.service(
        {"type": "ExternalName", "externalName": "db.team.cluster.local"}, STRICT,
        "corp.internal"),
     "external-name", "spec.externalName 'db.team.cluster.local' points into the host cluster"),
    ("a ready address elsewhere", lambda: policy.endpoints(
        [{"addresses": [{"ip": "10.244.0.5"}, {"ip": "10.9.9.9"}]}],
        frozenset({"10.244.0.5"}), STRICT),
     "foreign-endpoints", "subsets[0].addresses[1].ip 10.9.9.9 is not a pod or Service of "
                          "this virtual cluster"),
    ("an address without an IP", lambda: policy.endpoints(
        [{"addresses": [{"hostname": "x"}]}], policy.normal_ips(["", "None"]), STRICT),
     "foreign-endpoints", "subsets[0].addresses[0].ip  is not a pod or Service of this virtual "
                          "cluster"),
    ("a default backend", lambda: policy.ingress(
        {}, {"defaultBackend": {"service": {"name": "web"}}},
        Isolation(allowed_hosts=("*.pr-1.example.com",))),
     "ingress-hosts", "spec.defaultBackend '(no host: every host)' is not among the allowed "
                      "hosts ['*.pr-1.example.com']"),
    ("a TLS host", lambda: policy.ingress(
        {}, {"tls": [{"hosts": ["a.pr-1.example.com", "*.example.com"]}]}, STRICT),
     "ingress-hosts", "spec.tls[0].hosts[1] '*.example.com' is not among the allowed hosts "
                      "(any concrete host)"),
    ("a resource backend", lambda: policy.ingress({}, {"rules": [
        {"host": "a.example.com", "http": {"paths": [
            {"backend": {"service": {"name": "web"}}},
            {"backend": {"resource": {"kind": "Bucket", "name": "b"}}}]}}]}, STRICT),
     "ingress-backends", "spec.rules[0].http.paths[1].backend.resource"),
    ("a default resource backend", lambda: policy.ingress(
        {}, {"defaultBackend": {"resource": {"kind": "Bucket", "name": "b"}}},
        Isolation(allowed_hosts=("*",))),
     "ingress-backends", "spec.defaultBackend.resource"),
]


@pytest.mark.parametrize(("call", "rule", "field"), [r[1:] for r in REFUSALS],
                         ids=[r[0] for r in REFUSALS])
def test_each_refusal_names_its_rule_and_field(call: Any, rule: str, field: str) -> None:
    with pytest.raises(Refused) as e:
        call()
    assert (e.value.rule, e.value.violation.message) == (rule, field)
    assert e.value.reason == "SyncRefused"
    assert e.value.message == str(e.value) == (
        f"isolation rule {rule}: {field}; not synced to the host (the chart's sync.allow can "
        f"relax {rule})")


def test_an_address_is_ours_however_it_is_written() -> None:
    own = policy.normal_ips(["fd00::1", "", "None", "10.0.0.1"])
    assert own == {"fd00::1", "10.0.0.1"}
    policy.endpoints([{"addresses": [{"ip": "FD00:0:0::1"}, {"ip": "10.0.0.1"}]}], own, STRICT)


def test_what_is_stripped_is_named() -> None:
    spec: dict[str, Any] = {"externalIPs": ["1.2.3.4"],
                            "ports": [{"port": 80}, {"port": 81, "nodePort": 30081}]}
    assert [(v.rule, v.message, v.reason) for v in
            policy.service(spec, STRICT, "cluster.local")] == [
        ("external-ips", "spec.externalIPs ['1.2.3.4']", "SyncStripped"),
        ("node-ports", "spec.ports[1].nodePort 30081", "SyncStripped")]
    claim: dict[str, Any] = {"volumeName": "pv-1", "dataSourceRef": {"namespace": "k"}}
    assert [(v.rule, v.message) for v in policy.pvc(claim, STRICT)] == [
        ("volume-name", "spec.volumeName 'pv-1'"),
        ("volume-name", "spec.dataSourceRef.namespace 'k'")]
    notes = {"nginx.ingress.kubernetes.io/server-snippet": "x"}
    assert [(v.rule, v.message) for v in policy.ingress(notes, {}, STRICT)] == [
        ("ingress-annotations", "metadata.annotations[nginx.ingress.kubernetes.io/"
                                "server-snippet]")]


def test_our_prefix_is_stripped_from_a_tenants_metadata_and_named() -> None:
    meta: dict[str, Any] = {
        "labels": {"preview-vcluster.io/managed-by": "me", "app": "web"},
        "annotations": {"preview-vcluster.io/virtual-name": "x", "note": "n"}}
    stripped = policy.strip_reserved(meta, silent=("preview-vcluster.io/virtual-name",))
    assert meta == {"labels": {"app": "web"}, "annotations": {"note": "n"}}
    assert [(v.rule, v.message) for v in stripped] == [
        ("reserved-prefix", "metadata.labels[preview-vcluster.io/managed-by] uses the reserved "
                            "prefix preview-vcluster.io/")]
    # Not a rule a chart may relax: the Event does not offer it.
    assert stripped[0].event_message() == (
        "isolation rule reserved-prefix: metadata.labels[preview-vcluster.io/managed-by] uses "
        "the reserved prefix preview-vcluster.io/; removed from the host copy")
    assert policy.strip_reserved({"labels": None}) == []


def test_a_running_pod_is_judged_by_pod_security_only() -> None:
    privileged = {"name": "c", "securityContext": {"privileged": True}}
    with pytest.raises(Refused) as e:
        policy.running_pod({"initContainers": [privileged]}, {}, STRICT)
    assert (e.value.rule, e.value.violation.message) == (
        "privileged", "spec.initContainers[0].securityContext.privileged")
    # The syncer binds it (nodeName), and its debug containers were judged when added.
    policy.running_pod({"nodeName": "vnode", "containers": [{"name": "c"}],
                        "ephemeralContainers": [privileged]}, {}, STRICT)
    policy.running_pod({"containers": [privileged]}, {},
                       Isolation(relaxed=frozenset({"privileged"})))


def test_relaxed_rules_strip_nothing() -> None:
    notes = {"nginx.ingress.kubernetes.io/server-snippet": "x"}
    assert policy.ingress(notes, {}, Isolation(relaxed=frozenset({"ingress-annotations"}))) == []
    assert notes == {"nginx.ingress.kubernetes.io/server-snippet": "x"}
    claim: dict[str, Any] = {"volumeName": "pv-1"}
    assert policy.pvc(claim, Isolation(relaxed=frozenset({"volume-name"}))) == []
    assert claim == {"volumeName": "pv-1"}


def test_node_pinning_is_stripped_and_named() -> None:
    spec: dict[str, Any] = {"containers": [{"name": "c"}], "nodeSelector": {"disk": "ssd"}}
    assert [(v.rule, v.message) for v in policy.pod(spec, {}, STRICT)] == [
        ("node-pinning", "spec.nodeSelector")]


# What the API server's DefaultTolerationSeconds admission adds to every pod.
ADMISSION_TOLERATIONS = [
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute",
     "tolerationSeconds": 300},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute",
     "tolerationSeconds": 300}]


def test_tolerations_kubernetes_added_are_dropped_without_a_word() -> None:
    spec: dict[str, Any] = {"containers": [{"name": "c"}],
                            "tolerations": [dict(t) for t in ADMISSION_TOLERATIONS]}
    assert policy.pod(spec, {}, STRICT) == []
    assert "tolerations" not in spec  # still not copied: the host adds its own
    daemonset = {"key": "node.kubernetes.io/disk-pressure", "operator": "Exists",
                 "effect": "NoSchedule"}
    assert policy.pod({"containers": [{"name": "c"}], "tolerations": [daemonset]}, {},
                      STRICT) == []


@pytest.mark.parametrize("toleration", [
    {"key": "dedicated", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"},
    {"operator": "Exists"},  # tolerates every taint
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/unreachable", "operator": "Equal", "value": "x",
     "effect": "NoExecute"},
    # never what Kubernetes adds (its API refuses a value with Exists): not one of its own
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "value": "x",
     "effect": "NoExecute"},
])
def test_a_toleration_the_tenant_asked_for_is_stripped_and_named(
        toleration: dict[str, Any]) -> None:
    spec: dict[str, Any] = {"containers": [{"name": "c"}],
                            "tolerations": [*ADMISSION_TOLERATIONS, toleration]}
    assert [(v.rule, v.message) for v in policy.pod(spec, {}, STRICT)] == [
        ("node-pinning", "spec.tolerations")]
    assert "tolerations" not in spec


@pytest.mark.parametrize(("host", "patterns", "allowed"), [
    ("shop.pr-1.example.com", ("*.pr-1.example.com.",), True),  # a pattern's final dot
    ("shop.pr-1.example.com", ("shop.pr-1.example.com.",), True),
    ("*x.example.com", ("*.example.com",), False),  # a wildcard is only ever "*."
    (".example.com", ("*.example.com",), False),  # "*." needs a label
])
def test_host_pattern_edges(host: str, patterns: tuple[str, ...], allowed: bool) -> None:
    assert policy.host_allowed(host, patterns) is allowed


def test_every_rule_host_is_checked() -> None:
    iso = Isolation(allowed_hosts=("*.pr-1.example.com",))
    for rules, field, shown in (
            ([{"host": "a.pr-1.example.com"}, {"host": "a.pr-2.example.com"}],
             "spec.rules[1].host", "'a.pr-2.example.com'"),
            ([{"http": {}}], "spec.rules[0].host", "'(no host: every host)'")):
        with pytest.raises(Refused) as e:
            policy.ingress({}, {"rules": rules}, iso)
        assert e.value.violation.message == \
            f"{field} {shown} is not among the allowed hosts ['*.pr-1.example.com']"


RESTRICTED = {"runAsNonRoot": True, "allowPrivilegeEscalation": False,
              "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}}


def test_a_running_pod_is_judged_at_the_isolations_level() -> None:
    baseline_only = {"containers": [{"name": "c"}]}
    policy.running_pod(baseline_only, {}, STRICT)
    with pytest.raises(Refused):
        policy.running_pod(baseline_only, {}, Isolation(pod_security="restricted"))
    with pytest.raises(Refused):
        policy.running_pod({"containers": [{"name": "c", "securityContext": {
            "privileged": True}}]}, {}, STRICT)


def test_a_containers_own_seccomp_profile_is_enough_when_restricted() -> None:
    spec = {"containers": [{"name": "c", "securityContext": dict(RESTRICTED)}]}
    assert policy.pod(spec, {}, Isolation(pod_security="restricted")) == []


def test_a_debug_container_is_not_judged_by_its_pods_settings() -> None:
    # The pod's own settings were judged (or allowed) when it was created.
    policy.ephemeral_containers({"hostNetwork": True, "containers": [{"name": "c"}],
                                 "ephemeralContainers": [{"name": "debug"}]}, STRICT)


def test_a_priority_class_is_kept_only_when_allowed_and_priority_never() -> None:
    def asked() -> dict[str, Any]:
        return {"containers": [{"name": "c"}], "priority": 2000001000,
                "priorityClassName": "system-node-critical", "preemptionPolicy": "Never"}
    spec = asked()
    assert [(v.rule, v.message) for v in policy.pod(spec, {}, STRICT)] == [
        ("priority-class", "spec.priorityClassName 'system-node-critical' is not an allowed "
                           "priority class")]
    assert spec == {"containers": [{"name": "c"}]}  # the host's default class, preempting
    allowed = asked()
    assert policy.pod(allowed, {}, Isolation(
        allowed_priority_classes=("system-node-critical",))) == []
    relaxed = asked()
    assert policy.pod(relaxed, {}, Isolation(relaxed=frozenset({"priority-class"}))) == []
    for kept in (allowed, relaxed):  # the host computes the priority from the class
        assert kept == {"containers": [{"name": "c"}], "preemptionPolicy": "Never",
                        "priorityClassName": "system-node-critical"}


@pytest.mark.parametrize(("value", "refused"), [
    ("runtime/default", False), ("docker/default", False), ("localhost/profile", False),
    ("unconfined", True)])
def test_the_legacy_seccomp_annotation_is_judged_as_the_field(value: str, refused: bool) -> None:
    # Kubelets before 1.27 read it; docker/default is the old name of RuntimeDefault.
    notes = {"seccomp.security.alpha.kubernetes.io/pod": value}
    if refused:
        with pytest.raises(Refused, match="unconfined-profiles"):
            policy.pod({"containers": [{"name": "c"}]}, notes, STRICT)
    else:
        assert policy.pod({"containers": [{"name": "c"}]}, notes, STRICT) == []
