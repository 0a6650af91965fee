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
