"""The real kubectl binary against the sandbox: apply, get, label, patch, delete, watch."""

from __future__ import annotations

import json
import subprocess
import textwrap
from typing import Any

import pytest

from preview.sandbox.runner import Sandbox
from preview.tools import find_tool
from tests.conftest import KubectlRunner
from tests.sandbox.crds import crd_manifest

pytestmark = [pytest.mark.sandbox, pytest.mark.tools]


def manifest(namespace: str, image: str = "nginx:1.27", color: str = "blue") -> str:
    return textwrap.dedent(f"""\
        apiVersion: v1
        kind: Namespace
        metadata:
          name: {namespace}
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: settings
          namespace: {namespace}
        data:
          color: {color}
        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: web
          namespace: {namespace}
          labels: {{app: web}}
        spec:
          replicas: 2
          selector:
            matchLabels: {{app: web}}
          template:
            metadata:
              labels: {{app: web}}
            spec:
              containers:
              - name: web
                image: {image}
                ports:
                - containerPort: 80
                env:
                - name: COLOR
                  valueFrom:
                    configMapKeyRef: {{name: settings, key: color}}
        ---
        apiVersion: v1
        kind: Service
        metadata:
          name: web
          namespace: {namespace}
        spec:
          selector: {{app: web}}
          ports:
          - port: 80
            targetPort: 80
        """)


def get_json(kubectl: KubectlRunner, *args: str) -> dict:
    return json.loads(kubectl("get", *args, "-o", "json").stdout)


def test_server_side_apply_multi_document(kubectl: KubectlRunner) -> None:
    ns = "kubectl-ssa"
    out = kubectl("apply", "--server-side", "-f", "-", input=manifest(ns))
    assert "deployment.apps/web serverside-applied" in out.stdout
    dep = get_json(kubectl, "deployment", "web", "-n", ns, "--show-managed-fields")
    assert dep["metadata"]["generation"] == 1
    assert dep["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.27"
    managers = {m["manager"] for m in dep["metadata"]["managedFields"]}
    assert "kubectl" in managers
    assert get_json(kubectl, "configmap", "settings", "-n", ns)["data"] == {"color": "blue"}
    assert get_json(kubectl, "service", "web", "-n", ns)["spec"]["clusterIP"]

    kubectl("apply", "--server-side", "-f", "-", input=manifest(ns, image="nginx:1.28",
                                                                 color="green"))
    dep = get_json(kubectl, "deployment", "web", "-n", ns)
    assert dep["metadata"]["generation"] == 2
    assert dep["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.28"
    assert get_json(kubectl, "configmap", "settings", "-n", ns)["data"] == {"color": "green"}


def test_client_side_apply_and_get_table(kubectl: KubectlRunner) -> None:
    ns = "kubectl-csa"
    kubectl("apply", "-f", "-", input=manifest(ns))
    kubectl("apply", "-f", "-", input=manifest(ns, image="nginx:1.29"))
    dep = get_json(kubectl, "deployment", "web", "-n", ns)
    assert dep["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.29"
    table = kubectl("get", "deployments,services", "-n", ns).stdout
    assert "deployment.apps/web" in table and "service/web" in table
    assert "CLUSTER-IP" in table


def test_label_and_patch_types(kubectl: KubectlRunner, namespace: str) -> None:
    kubectl("create", "configmap", "c", "-n", namespace, "--from-literal=a=1")
    kubectl("label", "configmap", "c", "-n", namespace, "tier=backend")
    kubectl("patch", "configmap", "c", "-n", namespace, "--type", "merge",
            "-p", '{"data": {"b": "2"}}')
    kubectl("patch", "configmap", "c", "-n", namespace, "--type", "json",
            "-p", '[{"op": "remove", "path": "/data/a"}]')
    cm = get_json(kubectl, "configmap", "c", "-n", namespace)
    assert cm["metadata"]["labels"] == {"tier": "backend"}
    assert cm["data"] == {"b": "2"}

    kubectl("apply", "-n", namespace, "-f", "-", input=textwrap.dedent("""\
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: d}
        spec:
          selector: {matchLabels: {app: d}}
          template:
            metadata: {labels: {app: d}}
            spec:
              containers: [{name: nginx, image: nginx}]
        """))
    kubectl("patch", "deployment", "d", "-n", namespace, "--type", "strategic", "-p",
            '{"spec": {"template": {"spec": {"containers": [{"name": "sidecar", '
            '"image": "busybox"}]}}}}')
    containers = get_json(kubectl, "deployment", "d", "-n", namespace)[
        "spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in containers] == ["nginx", "sidecar"]  # merged by name

    kubectl("delete", "configmap", "c", "-n", namespace)
    missing = kubectl("get", "configmap", "c", "-n", namespace, check=False)
    assert missing.returncode != 0
    assert 'configmaps "c" not found' in missing.stderr


def test_get_watch_sees_events(sandbox: Sandbox, kubectl: KubectlRunner, namespace: str) -> None:
    proc = subprocess.Popen(
        [str(find_tool("kubectl")), "--kubeconfig", sandbox.kubeconfig, "get", "configmaps",
         "-n", namespace, "-w", "--output-watch-events", "-o",
         "jsonpath={.type} {.object.metadata.name}{\"\\n\"}"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        kubectl("create", "configmap", "watched", "-n", namespace)
        lines = []
        while len(lines) < 1 or "watched" not in lines[-1]:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line.strip())
        kubectl("delete", "configmap", "watched", "-n", namespace)
        while "DELETED watched" not in lines:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line.strip())
    finally:
        proc.terminate()
        proc.wait(5)
    assert "ADDED watched" in lines and "DELETED watched" in lines


def test_explain_uses_the_openapi_schema(kubectl: KubectlRunner) -> None:
    out = kubectl("explain", "deployment.spec.replicas").stdout
    assert "replicas" in out.lower()


def test_explain_names_field_types_as_upstream_does(kubectl: KubectlRunner) -> None:
    """A field's type is shown by its definition's name: `Container`, not the Python
    client's `V1Container`."""
    out = kubectl("explain", "deployment.spec.template.spec").stdout
    assert "containers\t<[]Container>" in out
    assert "V1" not in out


def test_api_resources_lists_builtin_and_custom(kubectl: KubectlRunner) -> None:
    out = kubectl("api-resources", "-o", "name").stdout.split()
    for name in ("pods", "deployments.apps", "ingresses.networking.k8s.io", "leases.coordination.k8s.io",
                 "customresourcedefinitions.apiextensions.k8s.io"):
        assert name in out


def test_typed_create_commands_send_protobuf(kubectl: KubectlRunner, namespace: str) -> None:
    """`kubectl create <kind>` posts protobuf bodies; every field must survive decoding."""
    kubectl("create", "deployment", "web", "-n", namespace, "--image=nginx:1.27",
            "--replicas=3", "--port=8080")
    dep = get_json(kubectl, "deployment", "web", "-n", namespace)
    assert dep["spec"]["replicas"] == 3
    assert dep["spec"]["selector"] == {"matchLabels": {"app": "web"}}
    container = dep["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "nginx:1.27"
    assert container["ports"][0]["containerPort"] == 8080
    assert "creationTimestamp" in dep["metadata"] and dep["metadata"]["generation"] == 1

    kubectl("create", "service", "nodeport", "np", "-n", namespace, "--tcp=80:8080")
    svc = get_json(kubectl, "service", "np", "-n", namespace)
    assert svc["spec"]["type"] == "NodePort"
    assert svc["spec"]["ports"][0]["targetPort"] == 8080  # IntOrString as an int
    assert 30000 <= svc["spec"]["ports"][0]["nodePort"] <= 32767

    kubectl("create", "ingress", "ing", "-n", namespace, "--rule=app.example.com/=np:80")
    rule = get_json(kubectl, "ingress", "ing", "-n", namespace)["spec"]["rules"][0]
    assert rule["host"] == "app.example.com"
    assert rule["http"]["paths"][0]["backend"]["service"] == {"name": "np",
                                                              "port": {"number": 80}}

    kubectl("create", "role", "reader", "-n", namespace, "--verb=get,list",
            "--resource=pods")
    role = get_json(kubectl, "role", "reader", "-n", namespace)
    assert role["rules"][0]["verbs"] == ["get", "list"]
    assert role["rules"][0]["resources"] == ["pods"]

    kubectl("create", "job", "once", "-n", namespace, "--image=busybox", "--", "echo", "hi")
    job = get_json(kubectl, "job", "once", "-n", namespace)
    assert job["spec"]["template"]["spec"]["containers"][0]["command"] == ["echo", "hi"]

    # Deletes send DeleteOptions as protobuf too.
    kubectl("delete", "deployment", "web", "-n", namespace, "--cascade=orphan")
    assert kubectl("get", "deployment", "web", "-n", namespace, check=False).returncode != 0


def test_system_namespaces_cannot_be_deleted(kubectl: KubectlRunner) -> None:
    out = kubectl("delete", "namespace", "default", check=False)
    assert out.returncode != 0
    assert 'namespaces "default" is forbidden: this namespace may not be deleted' in out.stderr


def test_server_side_apply_keeps_a_port_open_for_udp_and_tcp(kubectl: KubectlRunner,
                                                            namespace: str) -> None:
    """Apply identifies container ports by (containerPort, protocol), as the real server."""
    manifest = textwrap.dedent("""\
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: dns}
        spec:
          selector: {matchLabels: {app: dns}}
          template:
            metadata: {labels: {app: dns}}
            spec:
              containers:
              - name: dns
                image: coredns
                ports:
                - {name: dns-udp, containerPort: 53, protocol: UDP}
                - {name: dns-tcp, containerPort: 53, protocol: TCP}
        """)
    for _ in range(2):  # the second apply is a no-op
        kubectl("apply", "--server-side", "-n", namespace, "-f", "-", input=manifest)
    dep = get_json(kubectl, "deployment", "dns", "-n", namespace, "--show-managed-fields")
    ports = dep["spec"]["template"]["spec"]["containers"][0]["ports"]
    assert [(p["name"], p["protocol"]) for p in ports] == [("dns-udp", "UDP"), ("dns-tcp", "TCP")]
    assert dep["metadata"]["generation"] == 1
    applied = next(m for m in dep["metadata"]["managedFields"] if m["operation"] == "Apply")
    container = applied["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"][
        'k:{"name":"dns"}']
    assert {'k:{"containerPort":53,"protocol":"UDP"}',
            'k:{"containerPort":53,"protocol":"TCP"}'} <= set(container["f:ports"])


def test_explain_shows_a_custom_resource_by_its_crd_schema(kubectl: KubectlRunner) -> None:
    spec: dict[str, Any] = {"description": "How the lamp shines.", "properties": {
        "brightness": {"type": "integer", "description": "Lumens."}}}
    crd = crd_manifest("explain.example.com", "Lamp", spec)
    kubectl("apply", "-f", "-", input=crd)
    out = kubectl("explain", "lamps.spec").stdout
    assert "How the lamp shines." in out
    assert "brightness\t<integer>" in out and "Lumens." in out
    assert "metadata\t<ObjectMeta>" in kubectl("explain", "lamps").stdout

    # A new schema is a new document: kubectl's cache (keyed by the index's hash) sees it.
    spec["properties"]["color"] = {"type": "string"}
    kubectl("apply", "-f", "-", input=crd_manifest("explain.example.com", "Lamp", spec))
    assert "color\t<string>" in kubectl("explain", "lamps.spec").stdout
