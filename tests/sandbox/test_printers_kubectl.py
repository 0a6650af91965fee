"""The real kubectl prints upstream's tables against the sandbox: the header of every kind,
with and without `-o wide`, and the cells of the kinds a demo user looks at first."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from kubernetes import client

from preview.sandbox.apiserver.endpoints.printers.formats import human_duration, seconds_between
from preview.sandbox.machinery.resources import ResourceType
from preview.sandbox.runner import Sandbox
from tests.conftest import KubectlRunner, tool_runner, wait_for
from tests.sandbox.printer_objects import cluster_scoped, namespaced
from tests.sandbox.test_printers_upstream import served, upstream_columns

pytestmark = pytest.mark.sandbox


def parse(out: str) -> list[dict[str, str]]:
    """kubectl's table as rows of header → cell, cut where each header starts (cells may be
    empty or hold spaces; headers are separated by at least three spaces)."""
    lines = [line for line in out.splitlines() if line.strip()]
    starts = [(m.start(), m.group()) for m in re.finditer(r"\S+(?: \S+)*", lines[0])]
    rows = []
    for line in lines[1:]:
        bounds = [*[s for s, _ in starts[1:]], len(line)]
        rows.append({name: line[start:end].strip()
                     for (start, name), end in zip(starts, bounds, strict=True)})
    return rows


def header(out: str) -> list[str]:
    return re.split(r"\s{2,}", out.splitlines()[0].strip())


def resource_arg(rt: ResourceType) -> str:
    return f"{rt.resource}.{rt.version}.{rt.group}" if rt.group else rt.resource


@pytest.fixture(scope="module")
def objects(sandbox: Sandbox) -> Iterator[tuple[str, str]]:
    """A namespace holding one object of every namespaced kind, and cluster-scoped ones."""
    kubectl = tool_runner("kubectl", sandbox.kubeconfig, 60)
    suffix = f"pr{uuid.uuid4().hex[:6]}"
    ns = f"t-{suffix}"
    kubectl("create", "namespace", ns)
    kubectl("apply", "-n", ns, "-f", "-", input=yaml.safe_dump_all(namespaced()))
    cluster = cluster_scoped(suffix)
    kubectl("apply", "-f", "-", input=yaml.safe_dump_all(cluster))
    yield ns, suffix
    for obj in reversed(cluster):
        kubectl("delete", obj["kind"].lower() + "." + (obj["apiVersion"].rpartition("/")[0]
                                                       or "core"),
                obj["metadata"]["name"], "--wait=false", check=False)


@pytest.mark.parametrize("rt", served(), ids=lambda t: f"{t.kind}.{t.group or 'core'}")
def test_header_is_upstreams_with_and_without_wide(rt: ResourceType, sandbox: Sandbox,
                                                   objects: tuple[str, str]) -> None:
    kubectl = tool_runner("kubectl", sandbox.kubeconfig, 60)
    where = ["-n", objects[0]] if rt.namespaced else []
    columns = upstream_columns(rt.kind)
    wide = kubectl("get", resource_arg(rt), *where, "-o", "wide").stdout
    assert header(wide) == [name.upper() for name, *_ in columns]
    plain = kubectl("get", resource_arg(rt), *where).stdout
    assert header(plain) == [name.upper() for name, _, _, priority in columns if priority == 0]


def test_all_namespaces_and_show_kind_are_kubectls(kubectl: KubectlRunner,
                                                   objects: tuple[str, str]) -> None:
    """kubectl adds NAMESPACE (`-A`) and the `kind.group/` prefix (`--show-kind`) itself."""
    out = kubectl("get", "deployments", "-A", "--show-kind").stdout
    assert header(out) == ["NAMESPACE", "NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    row = next(r for r in parse(out) if r["NAMESPACE"] == objects[0])
    assert row["NAME"] == "deployment.apps/deploy"
    nodes = kubectl("get", "nodes", "-A", "-o", "wide").stdout
    assert header(nodes)[0] == "NAME"  # cluster-scoped: no NAMESPACE column


def test_custom_resources_print_their_crds_columns(kubectl: KubectlRunner,
                                                   objects: tuple[str, str]) -> None:
    ns, suffix = objects
    gizmos = f"gizmos.{suffix}.example.com"
    wait_for(lambda: kubectl("get", gizmos, "-n", ns, check=False).returncode == 0,
             what="the CRD served")
    kubectl("apply", "-n", ns, "-f", "-", input=yaml.safe_dump({
        "apiVersion": f"{suffix}.example.com/v1", "kind": "Gizmo", "metadata": {"name": "g"},
        "spec": {"size": 3, "color": "blue"}}))
    rows = parse(kubectl("get", gizmos, "-n", ns, "-o", "wide").stdout)
    assert [(r["NAME"], r["SIZE"], r["COLOR"]) for r in rows] == [("g", "3", "blue")]
    assert header(kubectl("get", gizmos, "-n", ns).stdout) == ["NAME", "SIZE", "AGE"]


# -- cells, as a real cluster prints them for the same objects -----------------------------------
def one(kubectl: KubectlRunner, *args: str) -> dict[str, str]:
    rows = parse(kubectl("get", *args, "-o", "wide").stdout)
    assert len(rows) == 1
    return rows[0]


def test_pod_node_deployment_and_service_cells(kubectl: KubectlRunner, core: client.CoreV1Api,
                                               namespace: str) -> None:
    kubectl("apply", "-n", namespace, "-f", "-", input=yaml.safe_dump_all([
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
         "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                  "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [
                      {"name": "web", "image": "nginx:1.27"}]}}}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
         "spec": {"type": "NodePort", "selector": {"app": "web"},
                  "ports": [{"port": 80, "targetPort": 80}]}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "lb"},
         "spec": {"type": "LoadBalancer", "selector": {"app": "web"},
                  "ports": [{"port": 443}]}}]))
    wait_for(lambda: one(kubectl, "deploy", "web", "-n", namespace)["AVAILABLE"] == "1",
             what="the deployment available")
    assert {k: v for k, v in one(kubectl, "deploy", "web", "-n", namespace).items()
            if k != "AGE"} == {"NAME": "web", "READY": "1/1", "UP-TO-DATE": "1",
                               "AVAILABLE": "1", "CONTAINERS": "web", "IMAGES": "nginx:1.27",
                               "SELECTOR": "app=web"}

    pod = core.list_namespaced_pod(namespace, label_selector="app=web").items[0]
    row = one(kubectl, "pod", pod.metadata.name, "-n", namespace)
    assert {k: v for k, v in row.items() if k != "AGE"} == {
        "NAME": pod.metadata.name, "READY": "1/1", "STATUS": "Running", "RESTARTS": "0",
        "IP": pod.status.pod_ip, "NODE": pod.spec.node_name, "NOMINATED NODE": "<none>",
        "READINESS GATES": "<none>"}

    node = core.read_node(pod.spec.node_name)
    info = node.status.node_info
    internal = next(a.address for a in node.status.addresses if a.type == "InternalIP")
    assert {k: v for k, v in one(kubectl, "node", node.metadata.name).items()
            if k != "AGE"} == {
        "NAME": node.metadata.name, "STATUS": "Ready", "ROLES": "<none>",
        "VERSION": info.kubelet_version, "INTERNAL-IP": internal, "EXTERNAL-IP": "<none>",
        "OS-IMAGE": info.os_image, "KERNEL-VERSION": info.kernel_version,
        "CONTAINER-RUNTIME": info.container_runtime_version}

    svc = core.read_namespaced_service("web", namespace)
    assert {k: v for k, v in one(kubectl, "svc", "web", "-n", namespace).items()
            if k != "AGE"} == {
        "NAME": "web", "TYPE": "NodePort", "CLUSTER-IP": svc.spec.cluster_ip,
        "EXTERNAL-IP": "<none>", "PORT(S)": f"80:{svc.spec.ports[0].node_port}/TCP",
        "SELECTOR": "app=web"}

    def balanced() -> Any:
        lb = core.read_namespaced_service("lb", namespace)
        return lb if lb.status.load_balancer.ingress else None
    lb = wait_for(balanced, what="a load-balancer IP")
    row = one(kubectl, "svc", "lb", "-n", namespace)
    assert (row["TYPE"], row["EXTERNAL-IP"], row["PORT(S)"]) == (
        "LoadBalancer", lb.status.load_balancer.ingress[0].ip,
        f"443:{lb.spec.ports[0].node_port}/TCP")


def test_ingress_job_and_pvc_cells(kubectl: KubectlRunner, core: client.CoreV1Api,
                                   api_client: client.ApiClient, namespace: str) -> None:
    kubectl("apply", "-n", namespace, "-f", "-", input=yaml.safe_dump_all([
        {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "web"},
         "spec": {"ingressClassName": "nginx", "tls": [{"hosts": ["a.example.com"]}],
                  "rules": [{"host": h, "http": {"paths": [{
                      "path": "/", "pathType": "Prefix",
                      "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}}
                      for h in ("a.example.com", "b.example.com", "c.example.com",
                                "d.example.com")]}},
        {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "once"},
         "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [
             {"name": "main", "image": "busybox"}]}}}},
        {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data"},
         "spec": {"accessModes": ["ReadWriteOnce"],
                  "resources": {"requests": {"storage": "1Gi"}}}}]))

    def addressed() -> dict[str, str] | None:
        row = one(kubectl, "ingress", "web", "-n", namespace)
        return row if row["ADDRESS"] else None
    row = wait_for(addressed, what="the ingress's address")
    ing = client.NetworkingV1Api(api_client).read_namespaced_ingress("web", namespace)
    assert {k: v for k, v in row.items() if k != "AGE"} == {
        "NAME": "web", "CLASS": "nginx",
        "HOSTS": "a.example.com,b.example.com,c.example.com + 1 more...",
        "ADDRESS": ",".join(sorted({i.ip or i.hostname for i in
                                    ing.status.load_balancer.ingress})),
        "PORTS": "80, 443"}

    batch = client.BatchV1Api(api_client)
    uid = batch.read_namespaced_job("once", namespace).metadata.uid
    job_pod = wait_for(lambda: next(iter(core.list_namespaced_pod(
        namespace, label_selector="job-name=once").items), None), what="the job's pod")
    core.patch_namespaced_pod_status(job_pod.metadata.name, namespace, {"status": {
        "phase": "Succeeded", "conditions": [{"type": "Ready", "status": "False"}]}})
    wait_for(lambda: one(kubectl, "job", "once", "-n", namespace)["STATUS"] == "Complete",
             what="the job complete")
    status = batch.read_namespaced_job_status("once", namespace).status
    took = human_duration(seconds_between(status.start_time.isoformat(),
                                          status.completion_time.isoformat()))
    assert {k: v for k, v in one(kubectl, "job", "once", "-n", namespace).items()
            if k != "AGE"} == {
        "NAME": "once", "STATUS": "Complete", "COMPLETIONS": "1/1", "DURATION": took,
        "CONTAINERS": "main", "IMAGES": "busybox",
        "SELECTOR": f"batch.kubernetes.io/controller-uid={uid}"}

    def bound() -> Any:
        pvc = core.read_namespaced_persistent_volume_claim("data", namespace)
        return pvc if pvc.status.phase == "Bound" else None
    pvc = wait_for(bound, what="the claim bound")
    assert {k: v for k, v in one(kubectl, "pvc", "data", "-n", namespace).items()
            if k != "AGE"} == {
        "NAME": "data", "STATUS": "Bound", "VOLUME": pvc.spec.volume_name, "CAPACITY": "1Gi",
        "ACCESS MODES": "RWO", "STORAGECLASS": "standard", "VOLUMEATTRIBUTESCLASS": "<unset>",
        "VOLUMEMODE": "Filesystem"}
