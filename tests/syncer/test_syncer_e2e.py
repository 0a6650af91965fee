"""The syncer between a host sandbox and a virtual control plane, as a real subprocess.

Everything a tenant does goes through the virtual API; the only way pods get to run is the
syncer copying them to the host, where the host's scheduler and kubelet run them.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from kubernetes.client.rest import ApiException

from preview import naming
from tests.conftest import KubectlRunner, wait_for
from tests.syncer.conftest import Pair

pytestmark = [pytest.mark.sandbox, pytest.mark.tools]
CHART = Path(__file__).parent / "charts" / "app"


def host_objects(pair: Pair, kind: str, virtual_namespace: str) -> list[Any]:
    selector = f"{naming.VIRTUAL_NAMESPACE}={virtual_namespace}"
    lister = getattr(pair.host_core, f"list_namespaced_{kind}")
    return list(lister(pair.host_namespace, label_selector=selector).items)


def fresh_namespace(pair: Pair) -> str:
    name = f"t-{uuid.uuid4().hex[:8]}"
    pair.virtual_core.create_namespace({"metadata": {"name": name}})
    return name


def test_helm_install_runs_on_the_host(pair: Pair, helm: KubectlRunner) -> None:
    ns = fresh_namespace(pair)
    helm("install", "shop", str(CHART), "-n", ns, "--wait", "--timeout", "60s",
         kubeconfig=pair.virtual.kubeconfig)

    host_pods = host_objects(pair, "pod", ns)
    assert len(host_pods) == 3
    assert all(p.spec.node_name and p.status.phase == "Running" for p in host_pods)
    by_virtual_name = {p.metadata.annotations[naming.VIRTUAL_NAME_ANNOTATION]: p
                       for p in host_pods}
    for pod in pair.virtual_core.list_namespaced_pod(ns).items:
        host_pod = by_virtual_name[pod.metadata.name]
        assert pod.status.phase == "Running"
        assert any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions)
        assert pod.status.pod_ip == host_pod.status.pod_ip
        assert pod.spec.node_name == host_pod.spec.node_name

    host_svc = pair.host_core.read_namespaced_service(
        naming.host_name("shop-web", ns, pair.vcluster, 63), pair.host_namespace)

    def virtual_ip() -> str | None:  # recreated with the host's IP, maybe right now
        try:
            return str(pair.virtual_core.read_namespaced_service("shop-web", ns)
                       .spec.cluster_ip)
        except ApiException:
            return None
    wait_for(lambda: virtual_ip() == host_svc.spec.cluster_ip, 10,
             what="the virtual Service to carry the host's cluster IP")

    def host_endpoints() -> set[str]:
        eps = pair.host_core.read_namespaced_endpoints(host_svc.metadata.name,
                                                       pair.host_namespace)
        return {a.ip for s in eps.subsets or [] for a in s.addresses or []}
    wait_for(lambda: host_endpoints() == {p.status.pod_ip for p in host_pods}, 10,
             what="host endpoints listing the host pod IPs")

    pvc = pair.virtual_core.read_namespaced_persistent_volume_claim("shop-data", ns)
    assert pvc.status.phase == "Bound"
    host_cm = pair.host_core.read_namespaced_config_map(
        naming.host_name("shop-settings", ns, pair.vcluster), pair.host_namespace)
    assert host_cm.data == {"greeting": "hello"}


def test_same_names_in_two_namespaces_and_long_names(pair: Pair) -> None:
    first, second = fresh_namespace(pair), fresh_namespace(pair)
    pod = {"metadata": {"name": "web"},
           "spec": {"containers": [{"name": "c", "image": "nginx"}]}}
    for ns in (first, second):
        pair.virtual_core.create_namespaced_pod(ns, pod)
    long_ns = f"n{uuid.uuid4().hex}"[:8] + "x" * 55
    pair.virtual_core.create_namespace({"metadata": {"name": long_ns}})
    long_name = "p" * 63
    pair.virtual_core.create_namespaced_pod(long_ns, {**pod, "metadata": {"name": long_name}})

    def running(ns: str, name: str) -> bool:
        return pair.virtual_core.read_namespaced_pod(name, ns).status.phase == "Running"

    for ns, name in ((first, "web"), (second, "web"), (long_ns, long_name)):
        wait_for(lambda ns=ns, name=name: running(ns, name), 30, what=f"{ns}/{name} running")
    hosts = {p.metadata.name for ns in (first, second) for p in host_objects(pair, "pod", ns)}
    assert len(hosts) == 2
    long_host = host_objects(pair, "pod", long_ns)
    assert len(long_host) == 1 and len(long_host[0].metadata.name) <= 63


def test_changes_and_deletions_follow(pair: Pair, helm: KubectlRunner) -> None:
    ns = fresh_namespace(pair)
    helm("install", "app", str(CHART), "-n", ns, "--wait", "--timeout", "60s",
         "--set", "replicas=2", kubeconfig=pair.virtual.kubeconfig)
    host_cm = naming.host_name("app-settings", ns, pair.vcluster)
    pair.virtual_core.patch_namespaced_config_map("app-settings", ns,
                                                  {"data": {"greeting": "bonjour"}})
    wait_for(lambda: pair.host_core.read_namespaced_config_map(
        host_cm, pair.host_namespace).data == {"greeting": "bonjour"}, 5,
        what="the ConfigMap change on the host")

    victim = host_objects(pair, "pod", ns)[0]
    pair.host_core.delete_namespaced_pod(victim.metadata.name, pair.host_namespace)

    def replaced() -> bool:
        pods = [p for p in host_objects(pair, "pod", ns) if not p.metadata.deletion_timestamp]
        return len(pods) == 2 and victim.metadata.name not in {p.metadata.name for p in pods} \
            and all(p.status.phase == "Running" for p in pods)
    wait_for(replaced, 30, what="the deleted host pod to be replaced")

    pair.virtual_apps.delete_namespaced_deployment("app-web", ns)
    wait_for(lambda: not host_objects(pair, "pod", ns), 30, what="host pods to go")


def test_foreign_host_object_is_never_touched(pair: Pair) -> None:
    ns = fresh_namespace(pair)
    taken = naming.host_name("taken", ns, pair.vcluster)
    pair.host_core.create_namespaced_config_map(pair.host_namespace, {
        "metadata": {"name": taken, "labels": {"team": "someone-else"}},
        "data": {"owner": "not the syncer"}})
    pair.virtual_core.create_namespaced_config_map(ns, {"metadata": {"name": "taken"},
                                                        "data": {"mine": "yes"}})
    pair.virtual_core.create_namespaced_pod(ns, {
        "metadata": {"name": "user"},
        "spec": {"containers": [{"name": "c", "image": "nginx",
                                 "envFrom": [{"configMapRef": {"name": "taken"}}]}]}})

    def conflict_event() -> bool:
        events = pair.virtual_core.list_namespaced_event(ns).items
        return any(e.reason == "SyncConflict" and e.involved_object.name == "taken"
                   for e in events)
    wait_for(conflict_event, 20, what="a SyncConflict event")
    foreign = pair.host_core.read_namespaced_config_map(taken, pair.host_namespace)
    assert foreign.data == {"owner": "not the syncer"}
    pair.virtual_core.delete_namespaced_config_map("taken", ns)
    pair.virtual_core.delete_namespaced_pod("user", ns)
    wait_for(lambda: not host_objects(pair, "pod", ns), 30, what="the pod to go")
    assert pair.host_core.read_namespaced_config_map(taken, pair.host_namespace).data == \
        {"owner": "not the syncer"}


def test_refused_pod_is_explained(pair: Pair) -> None:
    ns = fresh_namespace(pair)
    pair.virtual_core.create_namespaced_pod(ns, {
        "metadata": {"name": "root"},
        "spec": {"hostNetwork": True, "containers": [{"name": "c", "image": "nginx"}]}})

    def refused() -> bool:
        return any(e.reason == "SyncRefused" and "host-namespaces" in e.message
                   and "spec.hostNetwork" in e.message
                   for e in pair.virtual_core.list_namespaced_event(ns).items)
    wait_for(refused, 20, what="the refusal event")
    assert host_objects(pair, "pod", ns) == []
    with pytest.raises(ApiException):
        pair.host_core.read_namespaced_pod(naming.host_name("root", ns, pair.vcluster, 63),
                                           pair.host_namespace)


def test_logs_inside_the_virtual_cluster_come_from_the_host_pod(
        pair: Pair, kubectl: KubectlRunner) -> None:
    ns = fresh_namespace(pair)
    pair.virtual_core.create_namespaced_pod(ns, {
        "metadata": {"name": "talker"},
        "spec": {"containers": [{"name": "app", "image": "example.com/talker:1"}]}})
    wait_for(lambda: pair.virtual_core.read_namespaced_pod("talker", ns).status.phase
             == "Running", 30, what="the pod to run")
    virtual_logs = kubectl("logs", "talker", "-n", ns,
                           kubeconfig=pair.virtual.kubeconfig).stdout.splitlines()
    host_logs = kubectl("logs", naming.host_name("talker", ns, pair.vcluster, 63), "-n",
                        pair.host_namespace, kubeconfig=pair.host.kubeconfig).stdout.splitlines()
    assert virtual_logs and virtual_logs[0] == host_logs[0]
    assert "example.com/talker:1" in "\n".join(virtual_logs)


def test_virtual_nodes_mirror_the_host_nodes_in_use(pair: Pair) -> None:
    ns = fresh_namespace(pair)
    pair.virtual_core.create_namespaced_pod(ns, {
        "metadata": {"name": "placed"},
        "spec": {"containers": [{"name": "c", "image": "nginx"}]}})
    node_name = wait_for(lambda: pair.virtual_core.read_namespaced_pod("placed", ns)
                         .spec.node_name, 30, what="the pod to be bound")
    virtual = wait_for(lambda: next((n for n in pair.virtual_core.list_node().items
                                     if n.metadata.name == node_name), None), 10,
                       what="the virtual node")
    host = pair.host_core.read_node(node_name)
    assert virtual.metadata.labels["topology.kubernetes.io/zone"] == \
        host.metadata.labels["topology.kubernetes.io/zone"]
    assert virtual.status.capacity == host.status.capacity
    assert virtual.status.daemon_endpoints.kubelet_endpoint.port != \
        host.status.daemon_endpoints.kubelet_endpoint.port  # logs go through the syncer
    in_use = {p.spec.node_name for p in pair.host_core.list_namespaced_pod(
        pair.host_namespace).items if p.spec.node_name}
    assert {n.metadata.name for n in pair.virtual_core.list_node().items} <= in_use


def test_host_events_are_told_in_the_virtual_cluster(pair: Pair) -> None:
    ns = fresh_namespace(pair)
    pair.virtual_core.create_namespaced_pod(ns, {
        "metadata": {"name": "broken"},
        "spec": {"containers": [{"name": "c", "image": "registry.example.com/does-not-exist"}]}})

    def pull_failure() -> Any:
        return next((e for e in pair.virtual_core.list_namespaced_event(ns).items
                     if e.involved_object.name == "broken" and e.reason in ("Failed", "BackOff")
                     and e.source and e.source.component == "kubelet"
                     and "does-not-exist" in (e.message or "")), None)
    event = wait_for(pull_failure, 30, what="the kubelet's pull failure, told inside")
    assert "does-not-exist" in event.message
    assert event.involved_object.namespace == ns
    scheduled = [e for e in pair.virtual_core.list_namespaced_event(ns).items
                 if e.reason == "Scheduled"]
    assert scheduled and f"{ns}/broken" in scheduled[0].message


def test_dns_answers_virtual_names_with_host_addresses(pair: Pair) -> None:
    import socket

    from dnslib import DNSRecord

    ns = fresh_namespace(pair)
    pair.virtual_core.create_namespaced_service(ns, {
        "metadata": {"name": "api"}, "spec": {"selector": {"app": "api"},
                                              "ports": [{"port": 80}]}})
    host_svc = naming.host_name("api", ns, pair.vcluster, 63)
    host_ip = wait_for(lambda: _cluster_ip(pair, host_svc), 20, what="the host copy's IP")

    def resolve() -> list[str]:
        query = DNSRecord.question(f"api.{ns}.svc.cluster.local").pack()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(2)
            s.sendto(bytes(query), ("127.0.0.1", pair.dns_port))
            return [str(rr.rdata) for rr in DNSRecord.parse(s.recv(4096)).rr]
    assert wait_for(lambda: resolve() == [host_ip], 10, what="the DNS answer")

    def virtual_ip() -> str | None:  # the Service is recreated with the host's IP meanwhile
        try:
            return str(pair.virtual_core.read_namespaced_service("api", ns).spec.cluster_ip)
        except ApiException:
            return None
    wait_for(lambda: virtual_ip() == host_ip, 10, what="the virtual Service to carry it")


def _cluster_ip(pair: Pair, name: str) -> str | None:
    try:
        return str(pair.host_core.read_namespaced_service(name, pair.host_namespace)
                   .spec.cluster_ip)
    except ApiException:
        return None


def test_kubectl_debug_reaches_the_host_pod_within_the_policy(
        pair: Pair, kubectl: KubectlRunner) -> None:
    """`kubectl debug` writes pods/ephemeralcontainers in the virtual cluster; the syncer
    adds the container to the running host pod through the same subresource, unless the
    isolation policy refuses it (kubectl debug --profile=sysadmin is privileged)."""
    ns = fresh_namespace(pair)
    pair.virtual_core.create_namespaced_pod(ns, {
        "metadata": {"name": "target"},
        "spec": {"containers": [{"name": "app", "image": "nginx"}]}})
    wait_for(lambda: pair.virtual_core.read_namespaced_pod("target", ns).status.phase
             == "Running", 30, what="the pod to run")
    host_name = naming.host_name("target", ns, pair.vcluster, 63)

    def host_ephemeral() -> list[str]:
        pod = pair.host_core.read_namespaced_pod(host_name, pair.host_namespace)
        return [c.name for c in pod.spec.ephemeral_containers or []]

    # --profile=general would add SYS_PTRACE, beyond the baseline: refused by `capabilities`
    kubectl("debug", "target", "-n", ns, "--image=busybox", "--container=dbg",
            "--profile=baseline", "--", "true", kubeconfig=pair.virtual.kubeconfig)
    wait_for(lambda: host_ephemeral() == ["dbg"], 20, what="the debug container on the host")
    kubectl("debug", "target", "-n", ns, "--image=busybox", "--container=root",
            "--profile=sysadmin", "--", "true", kubeconfig=pair.virtual.kubeconfig)

    def refused() -> bool:
        return any(e.reason == "SyncRefused" and e.involved_object.name == "target"
                   and "spec.ephemeralContainers[1].securityContext.privileged" in e.message
                   for e in pair.virtual_core.list_namespaced_event(ns).items)
    wait_for(refused, 20, what="the refusal event")
    assert host_ephemeral() == ["dbg"]
