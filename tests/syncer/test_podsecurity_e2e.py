"""Every Pod Security control through the real syncer, between a virtual and a host sandbox.

The tables are test_podsecurity.py's. For each case a tenant creates the pod (or adds the
ephemeral container) in the virtual cluster; the host sandbox runs no Pod Security admission,
so only the syncer stands between: the host never gets a pod carrying the setting, and the
virtual pod gets a `SyncRefused` Event naming the rule and the field.
"""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, config

from preview import naming
from preview.sandbox.runner import Sandbox, ServerConfig
from tests.conftest import wait_for
from tests.syncer import test_podsecurity as cases
from tests.syncer.conftest import Pair, start_syncer

pytestmark = [pytest.mark.sandbox]


@dataclass
class Cluster:
    """A virtual cluster and its host namespace, as a tenant and the host see them."""

    virtual: client.CoreV1Api
    host: client.CoreV1Api
    host_namespace: str
    vcluster: str

    def namespace(self) -> str:
        name = f"t-{uuid.uuid4().hex[:8]}"
        self.virtual.create_namespace({"metadata": {"name": name}})
        return name

    def host_pod(self, namespace: str, name: str) -> Any:
        pods = self.host.list_namespaced_pod(
            self.host_namespace, label_selector=f"{naming.VIRTUAL_NAMESPACE}={namespace}").items
        return next((p for p in pods if p.metadata.annotations.get(
            naming.VIRTUAL_NAME_ANNOTATION) == name), None)

    def refused(self, namespace: str, name: str, rule: str, field: str) -> bool:
        wanted = f"isolation rule {rule}: {field};"
        return any(e.reason == "SyncRefused" and e.involved_object.name == name
                   and wanted in (e.message or "")
                   for e in self.virtual.list_namespaced_event(namespace).items)


@pytest.fixture(scope="module")
def baseline(pair: Pair) -> Cluster:
    """The package's syncer: the default level, baseline."""
    return Cluster(pair.virtual_core, pair.host_core, pair.host_namespace, pair.vcluster)


@pytest.fixture(scope="module")
def restricted(pair: Pair, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """A virtual cluster of its own whose syncer runs at `--pod-security restricted` (the
    chart's `isolation.podSecurity: restricted`), on the same host."""
    log = tmp_path_factory.mktemp("restricted") / "syncer.log"
    host_namespace, name = "vc-restricted", "restricted"
    pair.host_core.create_namespace({"metadata": {"name": host_namespace}})
    with Sandbox(ServerConfig(flavour="virtual")) as virtual, \
            config.new_client_from_config(virtual.kubeconfig) as api:
        proc, _ = start_syncer(pair.host.kubeconfig, virtual.kubeconfig, host_namespace, name,
                               log, "--pod-security", "restricted")
        try:
            yield Cluster(client.CoreV1Api(api), pair.host_core, host_namespace, name)
        finally:
            stop(proc)


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


def create(cluster: Cluster, spec: dict[str, Any],
           annotations: dict[str, str] | None = None) -> tuple[str, str]:
    namespace = cluster.namespace()
    cluster.virtual.create_namespaced_pod(namespace, {
        "metadata": {"name": "tenant", "annotations": annotations or {}}, "spec": spec})
    return namespace, "tenant"


def assert_refused(cluster: Cluster, namespace: str, name: str, rule: str, field: str) -> None:
    wait_for(lambda: cluster.refused(namespace, name, rule, field), 20,
             what=f"a SyncRefused event naming {rule}: {field}")
    assert cluster.host_pod(namespace, name) is None


def assert_synced(cluster: Cluster, namespace: str, name: str) -> Any:
    return wait_for(lambda: cluster.host_pod(namespace, name), 20, what="the host copy")


def no_ephemeral(spec: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in spec.items() if k != "ephemeralContainers"}


# -- baseline ------------------------------------------------------------------------------------
@pytest.mark.parametrize("list_name", ["containers", "initContainers"])
@pytest.mark.parametrize(("rule", "field", "asks"), cases.BASELINE_CONTAINER)
def test_baseline_container_controls(baseline: Cluster, list_name: str, rule: str, field: str,
                                     asks: dict[str, Any]) -> None:
    namespace, name = create(baseline, cases.pod_asking(list_name, asks))
    assert_refused(baseline, namespace, name, rule,
                   f"spec.{list_name}[{cases.index(list_name)}].{field}")


@pytest.mark.parametrize(("rule", "field", "asks"), [
    c for c in cases.BASELINE_CONTAINER if set(c[2]) <= set(cases.EPHEMERAL_FIELDS)])
def test_baseline_ephemeral_container_controls(baseline: Cluster, rule: str, field: str,
                                               asks: dict[str, Any]) -> None:
    """`kubectl debug` adds them to a running pod: a refused one never reaches the host pod."""
    ephemeral = cases.pod_asking("ephemeralContainers", asks)["ephemeralContainers"]
    check_ephemeral(baseline, {}, ephemeral, rule, f"spec.ephemeralContainers[1].{field}")


@pytest.mark.parametrize(("rule", "field", "patch", "annotations"), cases.BASELINE_POD)
def test_baseline_pod_controls(baseline: Cluster, rule: str, field: str, patch: dict[str, Any],
                               annotations: dict[str, str]) -> None:
    spec = {"containers": [{"name": "c", "image": "busybox"}], **patch}
    namespace, name = create(baseline, spec, annotations)
    assert_refused(baseline, namespace, name, rule, field)


def test_what_the_baseline_allows_reaches_the_host_as_asked(baseline: Cluster) -> None:
    spec = {**cases.BASELINE_ALLOWED_POD, "containers": [
        {"name": f"c{i}", "image": "busybox", **asks}
        for i, asks in enumerate(cases.BASELINE_ALLOWED_CONTAINERS)]}
    namespace, name = create(baseline, spec, cases.BASELINE_ALLOWED_ANNOTATIONS)
    host = baseline.host.api_client.sanitize_for_serialization(
        assert_synced(baseline, namespace, name))
    assert [c["securityContext"] for c in host["spec"]["containers"]] == \
        [c["securityContext"] for c in spec["containers"]]
    assert host["spec"]["securityContext"] == spec["securityContext"]


# -- restricted ----------------------------------------------------------------------------------
@pytest.mark.parametrize("list_name", ["containers", "initContainers"])
@pytest.mark.parametrize(("rule", "field", "security"), cases.RESTRICTED_CONTAINER_CASES)
def test_restricted_container_controls(restricted: Cluster, list_name: str, rule: str,
                                       field: str, security: dict[str, Any]) -> None:
    spec = cases.pod_asking(list_name, cases.sc(**security), cases.RESTRICTED_CONTAINER,
                            cases.RESTRICTED_POD)
    namespace, name = create(restricted, spec)
    assert_refused(restricted, namespace, name, rule,
                   f"spec.{list_name}[{cases.index(list_name)}].{field}")


@pytest.mark.parametrize(("rule", "field", "security"), cases.RESTRICTED_CONTAINER_CASES)
def test_restricted_ephemeral_container_controls(restricted: Cluster, rule: str, field: str,
                                                 security: dict[str, Any]) -> None:
    spec = cases.pod_asking("ephemeralContainers", cases.sc(**security),
                            cases.RESTRICTED_CONTAINER, cases.RESTRICTED_POD)
    check_ephemeral(restricted, no_ephemeral(spec), spec["ephemeralContainers"], rule,
                    f"spec.ephemeralContainers[1].{field}")


@pytest.mark.parametrize(("rule", "field", "patch"), cases.RESTRICTED_POD_CASES)
def test_restricted_pod_controls(restricted: Cluster, rule: str, field: str,
                                 patch: dict[str, Any]) -> None:
    spec = {**cases.RESTRICTED_POD, "containers": [{"name": "app", "image": "busybox",
                                                    **cases.RESTRICTED_CONTAINER}], **patch}
    namespace, name = create(restricted, spec)
    assert_refused(restricted, namespace, name, rule, field)


def test_restricted_still_enforces_the_baseline(restricted: Cluster) -> None:
    spec = cases.pod_asking("containers", cases.sc(seLinuxOptions={"type": "spc_t"}),
                            cases.RESTRICTED_CONTAINER, cases.RESTRICTED_POD)
    namespace, name = create(restricted, spec)
    assert_refused(restricted, namespace, name, "selinux",
                   "spec.containers[2].securityContext.seLinuxOptions.type 'spc_t'")


def test_a_restricted_pod_and_its_debug_container_reach_the_host(restricted: Cluster) -> None:
    spec = cases.pod_asking("initContainers", {}, cases.RESTRICTED_CONTAINER,
                            cases.RESTRICTED_POD)
    namespace, name = create(restricted, spec)
    host = assert_synced(restricted, namespace, name)
    assert host.spec.security_context.run_as_non_root is True
    # kubectl debug --profile=restricted: the pod's runAsNonRoot and seccomp are its defaults
    debugger = {"name": "dbg", "image": "busybox", **cases.RESTRICTED_CONTAINER}
    add_ephemeral(restricted, namespace, name, [debugger])
    wait_for(lambda: [c.name for c in restricted.host_pod(namespace, name)
                      .spec.ephemeral_containers or []] == ["dbg"], 20,
             what="the debug container on the host pod")


def test_a_stricter_level_takes_running_pods_off_the_host(
        pair: Pair, tmp_path: Path) -> None:
    """The chart moves to restricted (or a new syncer knows a new control): the syncer
    restarts, and a host pod the level now forbids does not keep running."""
    host_namespace, name, log = "vc-tighten", "tighten", tmp_path / "syncer.log"
    pair.host_core.create_namespace({"metadata": {"name": host_namespace}})
    with Sandbox(ServerConfig(flavour="virtual")) as virtual, \
            config.new_client_from_config(virtual.kubeconfig) as api:
        cluster = Cluster(client.CoreV1Api(api), pair.host_core, host_namespace, name)
        args = (pair.host.kubeconfig, virtual.kubeconfig, host_namespace, name, log)
        proc, _ = start_syncer(*args)  # baseline
        try:
            namespace, pod = create(cluster, {"containers": [{"name": "app",
                                                              "image": "busybox"}]})
            assert_synced(cluster, namespace, pod)
        finally:
            stop(proc)
        proc, _ = start_syncer(*args, "--pod-security", "restricted")
        try:
            wait_for(lambda: cluster.refused(
                namespace, pod, "privilege-escalation",
                "spec.containers[0].securityContext.allowPrivilegeEscalation must be false"),
                20, what="the refusal of the running pod")
            wait_for(lambda: cluster.host_pod(namespace, pod) is None, 30,
                     what="the host pod to go")
        finally:
            stop(proc)


# -- ephemeral containers ------------------------------------------------------------------------
def check_ephemeral(cluster: Cluster, pod: dict[str, Any], ephemeral: list[dict[str, Any]],
                    rule: str, field: str) -> None:
    """A running pod; the tenant adds `ephemeral`; the last one is refused, none is added."""
    spec = pod if pod.get("containers") else {**pod, "containers": [{"name": "app",
                                                                      "image": "busybox"}]}
    namespace, name = create(cluster, spec)
    wait_for(lambda: cluster.virtual.read_namespaced_pod(name, namespace).status.phase
             == "Running", 30, what="the pod to run")
    add_ephemeral(cluster, namespace, name, ephemeral)
    wait_for(lambda: cluster.refused(namespace, name, rule, field), 20,
             what=f"a SyncRefused event naming {rule}: {field}")
    assert not cluster.host_pod(namespace, name).spec.ephemeral_containers


def add_ephemeral(cluster: Cluster, namespace: str, name: str,
                  ephemeral: list[dict[str, Any]]) -> None:
    cluster.virtual.patch_namespaced_pod_ephemeralcontainers(
        name, namespace, {"spec": {"ephemeralContainers": ephemeral}})

