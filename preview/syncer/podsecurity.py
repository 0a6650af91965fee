"""The Pod Security Standards as the syncer checks them: a pod spec in, its findings out. Pure.

The host namespace carries Pod Security Admission labels (the chart's `isolation.podSecurity`),
but not every host runs the admission, and a copy the host refuses is a worse story than one
the syncer refuses with an Event in the virtual cluster. So the syncer checks the same
controls, each one under an isolation rule of `context.RULES` (docs/syncer.md maps them).

The controls follow k8s.io/pod-security-admission's `policy/check_*.go` at its newest version
(https://kubernetes.io/docs/concepts/security/pod-security-standards/), container checks over
`initContainers`, `containers` and `ephemeralContainers` alike, with one deliberate difference:
the relaxations for pods in a user namespace (`hostUsers: false`: any procMount, runAsUser 0,
runAsNonRoot unset) are not made. A host without user-namespace support drops the field and
runs the pod in the host's namespace; the syncer cannot tell, so such a pod asks `--allow`.

This module only finds; `policy.pod` decides (relaxed rules, refusal) and says it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")

# Baseline: capabilities that may be added (check_capabilities_baseline.go).
BASELINE_CAPABILITIES = frozenset({
    "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
    "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"})
# Baseline: the safe sysctls (check_sysctls.go, its newest set: 1.37). A host whose kubelet
# is older refuses the newest ones itself (SysctlForbidden), which is safe.
SAFE_SYSCTLS = frozenset({
    "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range",
    "net.ipv4.ip_unprivileged_port_start", "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range",
    "net.ipv4.ip_local_reserved_ports", "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl", "net.ipv4.tcp_keepalive_probes",
    "net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem", "net.ipv4.tcp_slow_start_after_idle",
    "net.ipv4.tcp_notsent_lowat"})
# Baseline: SELinux types (check_seLinuxOptions.go, 1.31+); user and role must stay unset.
SELINUX_TYPES = frozenset({"", "container_t", "container_init_t", "container_kvm_t",
                           "container_engine_t"})
# Baseline: seccomp and AppArmor profile types (fields), and the legacy annotations' values.
PROFILE_TYPES = frozenset({"RuntimeDefault", "Localhost"})
_APPARMOR_ANNOTATION = "container.apparmor.security.beta.kubernetes.io/"
_SECCOMP_POD_ANNOTATION = "seccomp.security.alpha.kubernetes.io/pod"
_SECCOMP_CONTAINER_ANNOTATION = "container.seccomp.security.alpha.kubernetes.io/"
# Restricted: the inline volume sources a pod may use (check_restrictedVolumes.go).
RESTRICTED_VOLUMES = frozenset({"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral",
                                "image", "persistentVolumeClaim", "projected", "secret"})
_PROBES = ("livenessProbe", "readinessProbe", "startupProbe")
_HANDLERS = ("postStart", "preStop")


@dataclass(frozen=True)
class Finding:
    """One setting a control forbids: the rule that covers it and the field (with its value
    where that helps), as the Event names it."""

    rule: str
    field: str


def check(spec: dict[str, Any], annotations: dict[str, Any], level: str,
          lists: tuple[str, ...] = CONTAINER_LISTS, pod_level: bool = True) -> list[Finding]:
    """Every finding of the baseline controls (and the restricted ones at `restricted`), the
    pod-level ones first. `lists` and `pod_level` narrow it to some containers: the pod-level
    settings still count as their defaults (runAsNonRoot, seccompProfile)."""
    restricted = level == "restricted"
    found: list[Finding] = []
    if pod_level:
        found += _pod(spec, annotations, restricted)
    for list_name in lists:
        for i, container in enumerate(spec.get(list_name) or []):
            found += _container(container, f"spec.{list_name}[{i}]", spec, restricted)
    return found


# -- the pod -------------------------------------------------------------------------------------
def _pod(spec: dict[str, Any], annotations: dict[str, Any], restricted: bool) -> list[Finding]:
    found = [Finding("host-namespaces", f"spec.{key}")
             for key in ("hostNetwork", "hostPID", "hostIPC") if spec.get(key)]
    for i, volume in enumerate(spec.get("volumes") or []):
        if "hostPath" in volume:
            found.append(Finding("host-path", f"spec.volumes[{i}].hostPath"))
        if restricted:
            beyond = sorted(set(volume) - RESTRICTED_VOLUMES - {"name"})
            if beyond:
                found.append(Finding("restricted-volumes", f"spec.volumes[{i}].{beyond[0]}"))
    security = spec.get("securityContext") or {}
    where = "spec.securityContext"
    found += _common(security, where)
    for i, sysctl in enumerate(security.get("sysctls") or []):
        if sysctl.get("name") not in SAFE_SYSCTLS:
            found.append(Finding("sysctls", f"{where}.sysctls[{i}] {sysctl.get('name')!r}"))
    found += _annotations(annotations)
    if restricted:
        if security.get("runAsNonRoot") is False:
            found.append(Finding("run-as-non-root", f"{where}.runAsNonRoot false"))
        if security.get("runAsUser") == 0:
            found.append(Finding("run-as-root", f"{where}.runAsUser 0"))
    return found


def _annotations(annotations: dict[str, Any]) -> Iterator[Finding]:
    for key in sorted(annotations):
        value = str(annotations[key])
        if key.startswith(_APPARMOR_ANNOTATION) and value and value != "runtime/default" \
                and not value.startswith("localhost/"):
            yield Finding("unconfined-profiles", f"metadata.annotations[{key}] {value!r}")
        # Read by kubelets before 1.27 (and kept by the API server on old pods): as the fields.
        if (key == _SECCOMP_POD_ANNOTATION or key.startswith(_SECCOMP_CONTAINER_ANNOTATION)) \
                and value not in ("runtime/default", "docker/default") \
                and not value.startswith("localhost/"):
            yield Finding("unconfined-profiles", f"metadata.annotations[{key}] {value!r}")


def _common(security: dict[str, Any], where: str) -> list[Finding]:
    """The controls a pod's and a container's securityContext share."""
    found = []
    if security.get("privileged"):  # not a pod-level field: refused wherever it is
        found.append(Finding("privileged", f"{where}.privileged"))
    for key in ("seccompProfile", "appArmorProfile"):
        profile = security.get(key)
        if profile is not None and (profile or {}).get("type") not in PROFILE_TYPES:
            found.append(Finding("unconfined-profiles", f"{where}.{key}.type"))
    if (security.get("windowsOptions") or {}).get("hostProcess"):
        found.append(Finding("host-namespaces", f"{where}.windowsOptions.hostProcess"))
    selinux = security.get("seLinuxOptions") or {}
    if str(selinux.get("type") or "") not in SELINUX_TYPES:
        found.append(Finding("selinux", f"{where}.seLinuxOptions.type {selinux['type']!r}"))
    for key in ("user", "role"):
        if selinux.get(key):
            found.append(Finding("selinux", f"{where}.seLinuxOptions.{key} {selinux[key]!r}"))
    return found


# -- a container ---------------------------------------------------------------------------------
def _container(container: dict[str, Any], where: str, spec: dict[str, Any],
               restricted: bool) -> list[Finding]:
    security = container.get("securityContext") or {}
    sc = f"{where}.securityContext"
    found = _common(security, sc)
    capabilities = security.get("capabilities") or {}
    added = [str(c) for c in capabilities.get("add") or []]
    beyond = [c for c in added if _capability(c) not in BASELINE_CAPABILITIES]
    if beyond:
        found.append(Finding("capabilities", f"{sc}.capabilities.add {beyond}"))
    if security.get("procMount") not in (None, "Default"):
        found.append(Finding("proc-mount", f"{sc}.procMount {security['procMount']!r}"))
    for j, port in enumerate(container.get("ports") or []):
        if port.get("hostPort"):
            found.append(Finding("host-ports", f"{where}.ports[{j}].hostPort"))
    for path, host in _probe_hosts(container):
        found.append(Finding("probe-hosts", f"{where}.{path} {host!r}"))
    if restricted:
        found += _restricted(security, sc, spec, capabilities, added)
    return found


def _restricted(security: dict[str, Any], sc: str, spec: dict[str, Any],
                capabilities: dict[str, Any], added: list[str]) -> list[Finding]:
    pod = spec.get("securityContext") or {}
    # A Windows pod cannot set these (API validation): exempt, as upstream since 1.25.
    linux = ((spec.get("os") or {}).get("name") or "linux") != "windows"
    found = []
    if linux and security.get("allowPrivilegeEscalation") is not False:
        found.append(Finding("privilege-escalation",
                             f"{sc}.allowPrivilegeEscalation must be false"))
    non_root = security.get("runAsNonRoot")
    if non_root is False:
        found.append(Finding("run-as-non-root", f"{sc}.runAsNonRoot false"))
    elif non_root is None and pod.get("runAsNonRoot") is not True:
        found.append(Finding("run-as-non-root", f"{sc}.runAsNonRoot (or "
                                                 "spec.securityContext.runAsNonRoot) must be true"))
    if security.get("runAsUser") == 0:
        found.append(Finding("run-as-root", f"{sc}.runAsUser 0"))
    if linux:
        if "ALL" not in {str(c).upper() for c in capabilities.get("drop") or []}:
            found.append(Finding("restricted-capabilities",
                                 f"{sc}.capabilities.drop must include ALL"))
        beyond = [c for c in added if _capability(c) != "NET_BIND_SERVICE"]
        if beyond:
            found.append(Finding("restricted-capabilities",
                                 f"{sc}.capabilities.add {beyond}: only NET_BIND_SERVICE"))
        pod_profile = (pod.get("seccompProfile") or {}).get("type") in PROFILE_TYPES
        if security.get("seccompProfile") is None and not pod_profile:
            found.append(Finding("seccomp-profile", f"{sc}.seccompProfile (or "
                                                    "spec.securityContext.seccompProfile) must "
                                                    "be RuntimeDefault or Localhost"))
    return found


def _capability(name: str) -> str:
    # Runtimes read `chown`, `CHOWN` and `CAP_CHOWN` as one capability (containerd prefixes
    # and upper-cases): judge what runs, not the spelling.
    return name.upper().removeprefix("CAP_")


def _probe_hosts(container: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """Probes and lifecycle handlers that send the kubelet to another host than the pod's
    (check_hostProbesAndhostLifecycle.go, 1.34+): the node's network, seen from the node."""
    handlers = [(probe, container.get(probe)) for probe in _PROBES]
    lifecycle = container.get("lifecycle") or {}
    handlers += [(f"lifecycle.{h}", lifecycle.get(h)) for h in _HANDLERS]
    for path, handler in handlers:
        for action in ("httpGet", "tcpSocket"):
            host = ((handler or {}).get(action) or {}).get("host")
            if host:
                yield f"{path}.{action}.host", str(host)
