"""The Pod Security Standards controls (preview/syncer/podsecurity.py), as tables: a pod in,
the rule and field refused out, at each level, relaxed or not. test_podsecurity_e2e.py runs the
same tables through the real syncer on the sandbox.

The controls and their allowed values are upstream's (k8s.io/pod-security-admission,
policy/check_*.go); each case says which check it stands for.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from preview.syncer import podsecurity, policy
from preview.syncer.context import RESTRICTED_RULES, RULES, Isolation
from preview.syncer.policy import Refused

CONTAINER_LISTS = ("containers", "initContainers", "ephemeralContainers")
IMDS = "169.254.169.254"  # what a tenant would point the kubelet's probes at


def sc(**security: Any) -> dict[str, Any]:
    return {"securityContext": security}


# -- baseline ------------------------------------------------------------------------------------
# (rule, the field its Event names under the container, what a container asks)
BASELINE_CONTAINER: list[tuple[str, str, dict[str, Any]]] = [
    ("privileged", "securityContext.privileged", sc(privileged=True)),  # check_privileged
    ("capabilities", "securityContext.capabilities.add ['SYS_ADMIN']",  # capabilities_baseline
     sc(capabilities={"add": ["SYS_ADMIN"]})),
    ("capabilities", "securityContext.capabilities.add ['NET_RAW']",
     sc(capabilities={"add": ["CHOWN", "NET_RAW"]})),
    ("capabilities", "securityContext.capabilities.add ['CAP_SYS_PTRACE']",
     sc(capabilities={"add": ["CAP_SYS_PTRACE"]})),
    ("proc-mount", "securityContext.procMount 'Unmasked'", sc(procMount="Unmasked")),
    ("unconfined-profiles", "securityContext.seccompProfile.type",  # seccompProfile_baseline
     sc(seccompProfile={"type": "Unconfined"})),
    ("unconfined-profiles", "securityContext.appArmorProfile.type",  # appArmorProfile
     sc(appArmorProfile={"type": "Unconfined"})),
    ("host-namespaces", "securityContext.windowsOptions.hostProcess",  # windowsHostProcess
     sc(windowsOptions={"hostProcess": True})),
    ("selinux", "securityContext.seLinuxOptions.type 'spc_t'",  # seLinuxOptions
     sc(seLinuxOptions={"type": "spc_t"})),
    ("selinux", "securityContext.seLinuxOptions.type 'unconfined_t'",
     sc(seLinuxOptions={"type": "unconfined_t", "level": "s0:c1,c2"})),
    ("selinux", "securityContext.seLinuxOptions.user 'system_u'",
     sc(seLinuxOptions={"user": "system_u", "type": "container_t"})),
    ("selinux", "securityContext.seLinuxOptions.role 'system_r'",
     sc(seLinuxOptions={"role": "system_r"})),
    ("host-ports", "ports[1].hostPort",  # hostPorts
     {"ports": [{"containerPort": 80}, {"containerPort": 443, "hostPort": 443}]}),
    ("probe-hosts", f"livenessProbe.httpGet.host '{IMDS}'",  # hostProbesAndHostLifecycle
     {"livenessProbe": {"httpGet": {"host": IMDS, "port": 80, "path": "/"}}}),
    ("probe-hosts", "readinessProbe.tcpSocket.host 'kubernetes.default'",
     {"readinessProbe": {"tcpSocket": {"host": "kubernetes.default", "port": 443}}}),
    ("probe-hosts", f"startupProbe.httpGet.host '{IMDS}'",
     {"startupProbe": {"httpGet": {"host": IMDS, "port": 80}}}),
    ("probe-hosts", "lifecycle.postStart.httpGet.host '10.0.0.1'",
     {"lifecycle": {"postStart": {"httpGet": {"host": "10.0.0.1", "port": 80}}}}),
    ("probe-hosts", "lifecycle.preStop.tcpSocket.host '10.0.0.1'",
     {"lifecycle": {"preStop": {"tcpSocket": {"host": "10.0.0.1", "port": 80}}}}),
]
# The API refuses ports, probes and lifecycle on ephemeral containers: their cases are for
# the other two lists only in a real API server.
EPHEMERAL_FIELDS = ("securityContext",)

# (rule, the field its Event names, the pod's spec patch, its annotations)
BASELINE_POD: list[tuple[str, str, dict[str, Any], dict[str, str]]] = [
    ("host-namespaces", "spec.hostNetwork", {"hostNetwork": True}, {}),  # hostNamespaces
    ("host-namespaces", "spec.hostPID", {"hostPID": True}, {}),
    ("host-namespaces", "spec.hostIPC", {"hostIPC": True}, {}),
    ("host-namespaces", "spec.securityContext.windowsOptions.hostProcess",  # windowsHostProcess
     sc(windowsOptions={"hostProcess": True}), {}),
    ("host-path", "spec.volumes[0].hostPath",  # hostPathVolumes
     {"volumes": [{"name": "root", "hostPath": {"path": "/"}}]}, {}),
    ("unconfined-profiles", "spec.securityContext.seccompProfile.type",
     sc(seccompProfile={"type": "Unconfined"}), {}),
    ("unconfined-profiles", "spec.securityContext.appArmorProfile.type",
     sc(appArmorProfile={"type": "Unconfined"}), {}),
    ("unconfined-profiles",
     "metadata.annotations[container.apparmor.security.beta.kubernetes.io/c] 'unconfined'",
     {}, {"container.apparmor.security.beta.kubernetes.io/c": "unconfined"}),
    ("unconfined-profiles",
     "metadata.annotations[seccomp.security.alpha.kubernetes.io/pod] 'unconfined'",
     {}, {"seccomp.security.alpha.kubernetes.io/pod": "unconfined"}),
    ("unconfined-profiles",
     "metadata.annotations[container.seccomp.security.alpha.kubernetes.io/c] 'unconfined'",
     {}, {"container.seccomp.security.alpha.kubernetes.io/c": "unconfined"}),
    ("selinux", "spec.securityContext.seLinuxOptions.type 'spc_t'",
     sc(seLinuxOptions={"type": "spc_t"}), {}),
    ("selinux", "spec.securityContext.seLinuxOptions.user 'system_u'",
     sc(seLinuxOptions={"user": "system_u"}), {}),
    ("sysctls", "spec.securityContext.sysctls[1] 'kernel.msgmax'",  # sysctls
     sc(sysctls=[{"name": "net.ipv4.tcp_syncookies", "value": "1"},
                 {"name": "kernel.msgmax", "value": "65536"}]), {}),
    ("sysctls", "spec.securityContext.sysctls[0] 'net.core.somaxconn'",
     sc(sysctls=[{"name": "net.core.somaxconn", "value": "1024"}]), {}),
]

# Everything the baseline allows, at once: synced as asked.
BASELINE_ALLOWED_CONTAINERS: list[dict[str, Any]] = [
    {**sc(privileged=False, procMount="Default", allowPrivilegeEscalation=True,
          capabilities={"add": sorted(podsecurity.BASELINE_CAPABILITIES)},
          seccompProfile={"type": "RuntimeDefault"}, appArmorProfile={"type": "RuntimeDefault"},
          seLinuxOptions={"type": "container_t", "level": "s0:c123,c456"},
          windowsOptions={"hostProcess": False}, runAsUser=0),
     "ports": [{"containerPort": 80, "hostPort": 0}],
     "livenessProbe": {"httpGet": {"port": 80, "path": "/healthz"}},
     "lifecycle": {"preStop": {"httpGet": {"port": 80, "host": ""}}}},
    sc(seccompProfile={"type": "Localhost", "localhostProfile": "profiles/app.json"},
       appArmorProfile={"type": "Localhost", "localhostProfile": "k8s-app"},
       seLinuxOptions={"type": "container_init_t"}, capabilities={"add": ["cap_chown"]}),
    sc(seLinuxOptions={"type": "container_kvm_t"}),
    sc(seLinuxOptions={"type": "container_engine_t"}),
]
BASELINE_ALLOWED_POD: dict[str, Any] = {
    **sc(seccompProfile={"type": "RuntimeDefault"}, seLinuxOptions={"level": "s0:c1,c2"},
         sysctls=[{"name": n, "value": "1"} for n in sorted(podsecurity.SAFE_SYSCTLS)],
         windowsOptions={"hostProcess": False}),
    "hostNetwork": False, "hostPID": False, "hostIPC": False}
BASELINE_ALLOWED_ANNOTATIONS = {
    "container.apparmor.security.beta.kubernetes.io/c0": "runtime/default",
    "container.apparmor.security.beta.kubernetes.io/c1": "localhost/k8s-app",
    "seccomp.security.alpha.kubernetes.io/pod": "runtime/default",
    "container.seccomp.security.alpha.kubernetes.io/c2": "localhost/profiles/app.json"}


# -- restricted ----------------------------------------------------------------------------------
# A container and a pod that pass the restricted level; the cases below break one control.
RESTRICTED_CONTAINER: dict[str, Any] = sc(allowPrivilegeEscalation=False,
                                          capabilities={"drop": ["ALL"]})
RESTRICTED_POD: dict[str, Any] = sc(runAsNonRoot=True, seccompProfile={"type": "RuntimeDefault"})

# (rule, the field its Event names under the container, the container's securityContext)
RESTRICTED_CONTAINER_CASES: list[tuple[str, str, dict[str, Any]]] = [
    ("privilege-escalation", "securityContext.allowPrivilegeEscalation must be false",
     {"allowPrivilegeEscalation": True}),  # check_allowPrivilegeEscalation
    ("privilege-escalation", "securityContext.allowPrivilegeEscalation must be false",
     {"allowPrivilegeEscalation": None}),  # unset is not false
    ("restricted-capabilities", "securityContext.capabilities.drop must include ALL",
     {"capabilities": {"drop": ["NET_RAW"]}}),  # capabilities_restricted
    ("restricted-capabilities",
     "securityContext.capabilities.add ['CHOWN']: only NET_BIND_SERVICE",
     {"capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE", "CHOWN"]}}),
    ("run-as-non-root", "securityContext.runAsNonRoot false",  # runAsNonRoot
     {"runAsNonRoot": False}),
    ("run-as-root", "securityContext.runAsUser 0", {"runAsUser": 0}),  # runAsUser
    # seccompProfile_restricted: below, with the pod's (a container alone cannot unset it)
]

# (rule, the field its Event names, the pod's spec patch over RESTRICTED_POD)
RESTRICTED_POD_CASES: list[tuple[str, str, dict[str, Any]]] = [
    ("restricted-volumes", "spec.volumes[1].nfs",  # restrictedVolumes
     {"volumes": [{"name": "cache", "emptyDir": {}},
                  {"name": "shared", "nfs": {"server": "10.0.0.2", "path": "/"}}]}),
    ("restricted-volumes", "spec.volumes[0].gitRepo",
     {"volumes": [{"name": "code", "gitRepo": {"repository": "https://example.com/x.git"}}]}),
    ("run-as-non-root", "spec.securityContext.runAsNonRoot false",
     sc(runAsNonRoot=False, seccompProfile={"type": "RuntimeDefault"})),
    ("run-as-non-root", "spec.containers[0].securityContext.runAsNonRoot (or "
                        "spec.securityContext.runAsNonRoot) must be true",
     sc(seccompProfile={"type": "RuntimeDefault"})),
    ("run-as-root", "spec.securityContext.runAsUser 0",
     sc(runAsNonRoot=True, runAsUser=0, seccompProfile={"type": "RuntimeDefault"})),
    ("seccomp-profile", "spec.containers[0].securityContext.seccompProfile (or "
                        "spec.securityContext.seccompProfile) must be RuntimeDefault or Localhost",
     sc(runAsNonRoot=True)),
]


# -- helpers -------------------------------------------------------------------------------------
def pod_asking(list_name: str, asks: dict[str, Any], base: dict[str, Any] | None = None,
               pod: dict[str, Any] | None = None) -> dict[str, Any]:
    """A pod spec whose second container of `list_name` asks for `asks` over `base` (the
    first is plain, so the index in the message is checked too)."""
    def container(name: str, extra: dict[str, Any]) -> dict[str, Any]:
        out = {"name": name, "image": "busybox", **copy.deepcopy(base or {})}
        for key, value in extra.items():
            if key == "securityContext":
                merged = {**out.get("securityContext", {}), **value}
                out["securityContext"] = {k: v for k, v in merged.items() if v is not None}
            else:
                out[key] = copy.deepcopy(value)
        return out
    spec: dict[str, Any] = {**copy.deepcopy(pod or {}),
                            "containers": [container("app", {})]}
    spec.setdefault(list_name, []).extend([container("plain", {}), container("asking", asks)])
    return spec


def index(list_name: str) -> int:
    return 2 if list_name == "containers" else 1


def refusal(spec: dict[str, Any], annotations: dict[str, str], iso: Isolation) -> tuple[str, str]:
    with pytest.raises(Refused) as e:
        policy.pod(copy.deepcopy(spec), annotations, iso)
    return e.value.rule, e.value.violation.message


def synced(spec: dict[str, Any], annotations: dict[str, str], iso: Isolation) -> None:
    copied = copy.deepcopy(spec)
    policy.pod(copied, annotations, iso)
    assert copied == spec  # synced as asked


BASELINE, RESTRICTED = Isolation(), Isolation(pod_security="restricted")


# -- baseline: every control, every container list --------------------------------------------
@pytest.mark.parametrize("list_name", CONTAINER_LISTS)
@pytest.mark.parametrize(("rule", "field", "asks"), BASELINE_CONTAINER)
def test_baseline_container_controls(list_name: str, rule: str, field: str,
                                     asks: dict[str, Any]) -> None:
    spec = pod_asking(list_name, asks)
    for level in ("privileged", "baseline", "restricted"):
        iso = Isolation(pod_security=level, relaxed=frozenset(RESTRICTED_RULES))
        assert refusal(spec, {}, iso) == (rule, f"spec.{list_name}[{index(list_name)}].{field}")
    synced(spec, {}, Isolation(relaxed=frozenset({rule})))


@pytest.mark.parametrize(("rule", "field", "patch", "annotations"), BASELINE_POD)
def test_baseline_pod_controls(rule: str, field: str, patch: dict[str, Any],
                               annotations: dict[str, str]) -> None:
    spec = {"containers": [{"name": "c", "image": "busybox"}], **patch}
    for level in ("privileged", "baseline"):
        assert refusal(spec, annotations, Isolation(pod_security=level)) == (rule, field)
    synced(spec, annotations, Isolation(relaxed=frozenset({rule})))


@pytest.mark.parametrize("list_name", CONTAINER_LISTS)
def test_what_the_baseline_allows_is_synced_as_asked(list_name: str) -> None:
    spec: dict[str, Any] = {**BASELINE_ALLOWED_POD, "containers": [
        {"name": f"c{i}", "image": "busybox", **asks}
        for i, asks in enumerate(BASELINE_ALLOWED_CONTAINERS)]}
    if list_name != "containers":
        spec[list_name] = copy.deepcopy(spec["containers"])
        spec["containers"] = [{"name": "app", "image": "busybox"}]
    assert podsecurity.check(spec, BASELINE_ALLOWED_ANNOTATIONS, "baseline") == []
    synced(spec, BASELINE_ALLOWED_ANNOTATIONS, BASELINE)


def test_the_newest_safe_sysctls_are_allowed() -> None:
    assert {"net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem", "net.ipv4.tcp_slow_start_after_idle",
            "net.ipv4.tcp_notsent_lowat", "net.ipv4.ip_local_reserved_ports"} <= \
        podsecurity.SAFE_SYSCTLS


def test_a_user_namespace_does_not_relax_the_baseline() -> None:
    """Upstream (1.35+) allows any procMount with hostUsers: false; the syncer cannot know
    that the host honours the field, so it does not."""
    spec = pod_asking("containers", sc(procMount="Unmasked"), pod={"hostUsers": False})
    assert refusal(spec, {}, BASELINE)[0] == "proc-mount"


# -- restricted ----------------------------------------------------------------------------------
@pytest.mark.parametrize("list_name", CONTAINER_LISTS)
@pytest.mark.parametrize(("rule", "field", "security"), RESTRICTED_CONTAINER_CASES)
def test_restricted_container_controls(list_name: str, rule: str, field: str,
                                       security: dict[str, Any]) -> None:
    spec = pod_asking(list_name, sc(**security), RESTRICTED_CONTAINER, RESTRICTED_POD)
    assert refusal(spec, {}, RESTRICTED) == (rule, f"spec.{list_name}[{index(list_name)}].{field}")
    for loose in (BASELINE, Isolation(pod_security="privileged"),
                  Isolation(pod_security="restricted", relaxed=frozenset({rule}))):
        synced(spec, {}, loose)


@pytest.mark.parametrize(("rule", "field", "patch"), RESTRICTED_POD_CASES)
def test_restricted_pod_controls(rule: str, field: str, patch: dict[str, Any]) -> None:
    spec = {**RESTRICTED_POD, "containers": [{"name": "app", "image": "busybox",
                                              **RESTRICTED_CONTAINER}], **patch}
    assert refusal(spec, {}, RESTRICTED) == (rule, field)
    relaxed = Isolation(pod_security="restricted", relaxed=frozenset({rule}))
    if rule == "restricted-volumes":  # baseline's own rule refuses these volumes as well
        assert refusal(spec, {}, BASELINE)[0] == "volume-types"
        relaxed = Isolation(pod_security="restricted", relaxed=frozenset({rule,
                                                                          "volume-types"}))
    else:
        synced(spec, {}, BASELINE)
    synced(spec, {}, relaxed)


def test_a_restricted_pod_is_synced_and_pod_defaults_cover_ephemeral_containers() -> None:
    spec = pod_asking("initContainers", {}, RESTRICTED_CONTAINER, RESTRICTED_POD)
    spec["containers"][0]["securityContext"]["capabilities"]["add"] = ["NET_BIND_SERVICE"]
    spec["volumes"] = [{"name": n, k: v} for n, k, v in (
        ("a", "configMap", {"name": "x"}), ("b", "secret", {"secretName": "x"}),
        ("c", "emptyDir", {}), ("d", "projected", {"sources": []}), ("e", "downwardAPI", {}),
        ("f", "persistentVolumeClaim", {"claimName": "x"}), ("g", "csi", {"driver": "d"}),
        ("h", "ephemeral", {"volumeClaimTemplate": {"spec": {}}}),
        ("i", "image", {"reference": "example.com/data:1"}))]
    synced(spec, {}, RESTRICTED)
    # kubectl debug --profile=restricted: the pod's runAsNonRoot and seccomp are its defaults
    spec["ephemeralContainers"] = [{"name": "dbg", "image": "busybox", **RESTRICTED_CONTAINER}]
    policy.ephemeral_containers(spec, RESTRICTED)
    del spec["securityContext"]["runAsNonRoot"]
    with pytest.raises(Refused) as e:
        policy.ephemeral_containers(spec, RESTRICTED)
    assert e.value.rule == "run-as-non-root"
    assert e.value.violation.message.startswith("spec.ephemeralContainers[0].")


def test_windows_pods_are_exempt_where_the_api_forbids_the_fields() -> None:
    spec = {"os": {"name": "windows"}, **sc(runAsNonRoot=True),
            "containers": [{"name": "app", "image": "mcr.microsoft.com/windows/nanoserver"}]}
    synced(spec, {}, RESTRICTED)
    del spec["securityContext"]
    assert refusal(spec, {}, RESTRICTED)[0] == "run-as-non-root"  # not exempt upstream either


def test_a_user_namespace_does_not_relax_restricted() -> None:
    spec = {**RESTRICTED_POD, "hostUsers": False, "containers": [
        {"name": "app", "image": "busybox", **sc(**RESTRICTED_CONTAINER["securityContext"],
                                                 runAsUser=0)}]}
    assert refusal(spec, {}, RESTRICTED) == ("run-as-root",
                                             "spec.containers[0].securityContext.runAsUser 0")


def test_every_rule_found_is_a_rule() -> None:
    found = {rule for rule, *_ in BASELINE_CONTAINER + BASELINE_POD
             + RESTRICTED_CONTAINER_CASES + RESTRICTED_POD_CASES}
    assert found <= set(RULES)
    assert found >= RESTRICTED_RULES  # and every restricted rule has a case
