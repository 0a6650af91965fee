"""The host sandbox runs a vcluster control-plane pod for real: a virtual API and the syncer.

`manifest` follows the chart's contract (names, labels, k3s and syncer args, RBAC from
HOST_RULES) without the chart; `test_chart_runs_on_the_host_sandbox` installs
`charts/vcluster` itself with helm and checks the same.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client

from preview.kube import connection
from preview.sandbox.kubelet.python_runtime import PythonRuntime
from preview.sandbox.platform.runtime import PlatformRuntime
from preview.sandbox.runner import Sandbox, ServerConfig
from preview.sandbox.vcluster.runtime import VClusterRuntime
from preview.syncer.permissions import HOST_RULES
from preview.tools import find_tool
from tests import processes
from tests.conftest import KubectlRunner, wait_for

CHART = Path(__file__).resolve().parents[2] / "charts" / "vcluster"


# -- the seams --------------------------------------------------------------------------------------
def test_in_cluster_reads_the_overridden_directory(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "token").write_text("tok\n")
    (tmp_path / "ca.crt").write_bytes(b"CA")
    (tmp_path / "namespace").write_text("team-a")
    monkeypatch.setenv("PREVIEW_SERVICE_ACCOUNT_DIR", str(tmp_path))
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "4443")
    conn = connection.in_cluster()
    assert (conn.server, conn.namespace, conn.bearer_token(), conn.ca_pem) == (
        "https://127.0.0.1:4443", "team-a", "tok", b"CA")


def test_default_runtimes_run_vclusters_the_platform_api_and_python() -> None:
    assert [type(r) for r in ServerConfig().runtimes] == [VClusterRuntime, PlatformRuntime,
                                                          PythonRuntime]
    assert ServerConfig(runtimes=[]).runtimes == []


# -- against a host sandbox -----------------------------------------------------------------------
def manifest(name: str, namespace: str) -> list[dict[str, Any]]:
    """The control plane of one virtual cluster, as charts/vcluster renders it (contract 5)."""
    labels = {"app.kubernetes.io/name": "vcluster", "app.kubernetes.io/instance": name}
    pod_labels = {**labels, "app.kubernetes.io/component": "control-plane"}
    meta = {"namespace": namespace, "labels": labels}
    sans = [name, f"{name}.{namespace}", f"{name}.{namespace}.svc",
            f"{name}.{namespace}.svc.cluster.local", "127.0.0.1", "localhost"]
    k3s_args = ["server", "--data-dir=/data/k3s",
                "--write-kubeconfig=/data/k3s-config/kube-config.yaml",
                "--write-kubeconfig-mode=0600", "--service-cidr=10.128.0.0/16",
                *(f"--tls-san={s}" for s in sans), "--disable-agent", "--disable-scheduler",
                "--disable=traefik,servicelb,metrics-server,local-storage",
                "--disable-cloud-controller", "--disable-network-policy",
                "--disable-helm-controller", "--disable-kube-proxy", "--flannel-backend=none"]
    syncer_args = [f"--name={name}", "--virtual-kubeconfig=/data/k3s-config/kube-config.yaml",
                   f"--kubeconfig-secret=vc-{name}",
                   f"--kubeconfig-server=https://{name}.{namespace}.svc:443",
                   f"--api-service={name}", f"--workload-service-account=vc-workload-{name}",
                   "--advertise-address=127.0.0.1", "--port=8443",
                   "--kubelet-port=10250", "--kubelet-ca-dir=/data/k3s/server/tls"]
    mount = [{"name": "data", "mountPath": "/data"}]
    subject = [{"kind": "ServiceAccount", "name": f"vc-{name}", "namespace": namespace}]
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount",
         "metadata": {"name": f"vc-{name}", **meta}},
        {"apiVersion": "v1", "kind": "ServiceAccount", "automountServiceAccountToken": False,
         "metadata": {"name": f"vc-workload-{name}", **meta}},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
         "metadata": {"name": f"vc-{name}", **meta}, "rules": HOST_RULES},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
         "metadata": {"name": f"vc-{name}", **meta}, "subjects": subject,
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                     "name": f"vc-{name}"}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, **meta},
         "spec": {"selector": pod_labels, "ports": [
             {"name": "https", "port": 443, "targetPort": "https"}]}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": f"{name}-headless", **meta},
         "spec": {"clusterIP": "None", "selector": pod_labels, "ports": [
             {"name": "https", "port": 443, "targetPort": "https"}]}},
        {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": name, **meta},
         "spec": {"replicas": 1, "serviceName": f"{name}-headless",
                  "selector": {"matchLabels": pod_labels},
                  "template": {"metadata": {"labels": pod_labels}, "spec": {
                      "serviceAccountName": f"vc-{name}",
                      "volumes": [{"name": "data", "emptyDir": {}}],
                      "containers": [
                          {"name": "k3s", "image": "rancher/k3s:v1.31.4-k3s1",
                           "command": ["/bin/k3s"], "args": k3s_args, "volumeMounts": mount,
                           "ports": [{"name": "https", "containerPort": 6443}]},
                          {"name": "syncer", "image": "ghcr.io/example/preview-vcluster:dev",
                           "args": syncer_args, "volumeMounts": mount,
                           "env": [{"name": "POD_NAME", "valueFrom": {"fieldRef": {
                               "fieldPath": "metadata.name"}}}],
                           "ports": [{"name": "syncer", "containerPort": 8443}],
                           "readinessProbe": {"httpGet": {"path": "/readyz",
                                                          "port": "syncer"}}}]}}}},
    ]


@dataclass
class VCluster:
    name: str
    namespace: str
    kubeconfig: Path  # the published one, pointed at a port-forward to the pod's 6443
    forward: subprocess.Popen[str]


def processes_of(namespace: str) -> dict[int, str]:
    """Local processes whose command line names the directory of a pod in `namespace`."""
    out = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if f"/pod-{namespace}-" in cmdline:
            out[int(entry.name)] = cmdline
    return out


def environ_of(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode().partition("=")[::2] for item in raw if b"=" in item)


def pod_dirs(procs: dict[int, str], namespace: str) -> set[Path]:
    """The pod directories the processes' command lines name."""
    return {Path(m) for cmd in procs.values()
            for m in re.findall(rf"(/\S*/pod-{namespace}-[^/ ]+)", cmd)}


def wait_ready(core: client.CoreV1Api, namespace: str, pod_name: str) -> None:
    def ready() -> bool:
        pods = [p for p in core.list_namespaced_pod(namespace).items
                if p.metadata is not None and p.metadata.name == pod_name
                and not p.metadata.deletion_timestamp]
        if not pods or pods[0].status is None:
            return False
        assert pods[0].status.phase in ("Pending", "Running"), pods[0].status
        return any(c.type == "Ready" and c.status == "True"
                   for c in pods[0].status.conditions or [])
    wait_for(ready, 30, 0.1, f"pod {pod_name} to be Ready")


def start_vcluster(kubectl: KubectlRunner, core: client.CoreV1Api, namespace: str,
                   name: str) -> None:
    kubectl("apply", "-f", "-", input=yaml.safe_dump_all(manifest(name, namespace)))
    wait_ready(core, namespace, f"{name}-0")


def connect(host_kubeconfig: str, core: client.CoreV1Api, namespace: str, name: str,
            path: Path) -> VCluster:
    """Port-forward to the pod's 6443; the Secret the syncer published, pointed at it."""
    def published() -> dict[str, Any] | None:
        try:
            secret = core.read_namespaced_secret(f"vc-{name}", namespace)
        except client.ApiException as e:
            if e.status == 404:
                return None
            raise
        return dict(yaml.safe_load(base64.b64decode((secret.data or {})["config"])))
    config = wait_for(published, 15, 0.1, "the syncer to publish Secret vc-NAME")
    assert config is not None
    assert config["clusters"][0]["cluster"]["server"] == f"https://{name}.{namespace}.svc:443"
    forward = subprocess.Popen([str(find_tool("kubectl")), "--kubeconfig", host_kubeconfig,
                                "-n", namespace, "port-forward", f"pod/{name}-0", ":6443"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert forward.stdout is not None
    line = forward.stdout.readline()
    match = re.search(r"127\.0\.0\.1:(\d+) -> 6443", line)
    assert match, line + (forward.stdout.read() if forward.poll() is not None else "")
    # The certificate names 127.0.0.1 (a --tls-san), so TLS verification stays on.
    config["clusters"][0]["cluster"]["server"] = f"https://127.0.0.1:{match.group(1)}"
    path.write_text(yaml.safe_dump(config))
    return VCluster(name, namespace, path, forward)


# -- what every virtual cluster must do (manifest and chart alike) ----------------------------
def check_pod(vc: VCluster, kubectl: KubectlRunner) -> None:
    pod = json.loads(kubectl("get", "pod", f"{vc.name}-0", "-n", vc.namespace, "-o",
                             "json").stdout)
    assert pod["status"]["phase"] == "Running"
    assert {c["name"]: c["ready"] for c in pod["status"]["containerStatuses"]} == \
        {"k3s": True, "syncer": True}
    logs = kubectl("logs", f"{vc.name}-0", "-c", "syncer", "-n", vc.namespace).stdout
    assert f"syncer {vc.name}: host namespace {vc.namespace}" in logs
    assert '"url":' not in logs  # the k3s stand-in's output is the other container's
    k3s_logs = kubectl("logs", f"{vc.name}-0", "-c", "k3s", "-n", vc.namespace).stdout
    assert '"url": "https://127.0.0.1:' in k3s_logs


def check_virtual_api(vc: VCluster, kubectl: KubectlRunner) -> None:
    namespaces = kubectl("get", "ns", "-o", "name", kubeconfig=vc.kubeconfig).stdout
    assert "namespace/default" in namespaces and vc.namespace not in namespaces
    # A control plane only, like k3s with --disable-agent: no nodes until pods run.
    assert kubectl("get", "nodes", "-o", "name", kubeconfig=vc.kubeconfig).stdout.strip() == ""


def check_deployment(vc: VCluster, kubectl: KubectlRunner, deployment: str) -> None:
    virtual = vc.kubeconfig
    kubectl("create", "deployment", deployment, "--image=nginx", "--replicas=2",
            kubeconfig=virtual)
    kubectl("rollout", "status", f"deployment/{deployment}", "--timeout=30s",
            kubeconfig=virtual)

    def host_pods() -> list[dict[str, Any]]:
        items = json.loads(kubectl("get", "pods", "-n", vc.namespace, "-o",
                                   "json").stdout)["items"]
        return [p for p in items if p["metadata"]["name"].startswith(deployment + "-")
                and p["status"].get("phase") == "Running"]
    wait_for(lambda: len(host_pods()) == 2, 30, 0.2, "two synced pods running on the host")
    pods = host_pods()
    for pod in pods:
        assert pod["metadata"]["name"].endswith(f"-x-default-x-{vc.name}")
        assert pod["spec"]["serviceAccountName"] == f"vc-workload-{vc.name}"
    virtual_pods = json.loads(kubectl("get", "pods", "-l", f"app={deployment}", "-o", "json",
                                      kubeconfig=virtual).stdout)["items"]
    assert {p["spec"]["nodeName"] for p in virtual_pods} == \
        {p["spec"]["nodeName"] for p in pods}
    # Logs in the virtual cluster come from the node's kubelet endpoint: the syncer, on the
    # port the runtime moved it to.
    kubectl("logs", virtual_pods[0]["metadata"]["name"], kubeconfig=virtual)


def check_syncer_identity(vc: VCluster, sandbox: Sandbox, kubectl: KubectlRunner) -> None:
    procs = processes_of(vc.namespace)
    syncer = next(pid for pid, cmd in procs.items() if " syncer " in cmd)
    env = environ_of(syncer)
    assert "KUBECONFIG" not in env and "--host-kubeconfig" not in procs[syncer]
    assert env["KUBERNETES_SERVICE_HOST"] == "127.0.0.1"
    assert sandbox.url.endswith(":" + env["KUBERNETES_SERVICE_PORT"])
    sa_dir = Path(env["PREVIEW_SERVICE_ACCOUNT_DIR"])
    assert (sa_dir / "namespace").read_text() == vc.namespace
    assert (sa_dir / "ca.crt").read_bytes() == sandbox.ca_pem
    token = (sa_dir / "token").read_text()
    claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    assert claims["kubernetes.io"]["pod"]["name"] == f"{vc.name}-0"  # bound to the pod

    # A kubeconfig of the token alone: the admin one's client certificate would win over a
    # --token (x509 comes first in the API server's authenticators).
    as_syncer = sandbox.write_kubeconfig(vc.kubeconfig.with_name("as-syncer"), token)
    whoami = json.loads(kubectl("auth", "whoami", "-o", "json", kubeconfig=as_syncer).stdout)
    assert whoami["status"]["userInfo"]["username"] == \
        f"system:serviceaccount:{vc.namespace}:vc-{vc.name}"
    kubectl("get", "--raw", f"/api/v1/namespaces/{vc.namespace}/pods", kubeconfig=as_syncer)
    refused = kubectl("get", "--raw", "/api/v1/namespaces/default/pods", kubeconfig=as_syncer,
                      check=False)
    assert refused.returncode != 0 and "(Forbidden)" in refused.stderr, refused.stderr


# -- a virtual cluster from the contract's manifest -----------------------------------------------
@pytest.fixture(scope="module")
def vcluster(sandbox: Sandbox, api_client: client.ApiClient,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[VCluster]:
    """One virtual cluster on the session's host sandbox, reached through a port-forward."""
    binary = str(find_tool("kubectl"))

    def kubectl(*args: str, input: str | None = None,
                **_: Any) -> subprocess.CompletedProcess[str]:
        return subprocess.run([binary, "--kubeconfig", sandbox.kubeconfig, *args], input=input,
                              capture_output=True, text=True, timeout=60, check=True)

    core = client.CoreV1Api(api_client)
    namespace = f"vc-{uuid.uuid4().hex[:8]}"
    core.create_namespace({"metadata": {"name": namespace}})  # type: ignore[arg-type]
    start_vcluster(kubectl, core, namespace, "team-a")
    vc = connect(sandbox.kubeconfig, core, namespace, "team-a",
                 tmp_path_factory.mktemp("vcluster") / "virtual")
    try:
        yield vc
    finally:
        vc.forward.terminate()
        vc.forward.wait(10)
        core.delete_namespace(namespace)


@pytest.mark.sandbox
@pytest.mark.tools
def test_pod_runs_both_containers(vcluster: VCluster, kubectl: KubectlRunner) -> None:
    check_pod(vcluster, kubectl)


@pytest.mark.sandbox
@pytest.mark.tools
def test_port_forward_reaches_the_virtual_api(vcluster: VCluster,
                                              kubectl: KubectlRunner) -> None:
    check_virtual_api(vcluster, kubectl)


@pytest.mark.sandbox
@pytest.mark.tools
def test_virtual_deployment_runs_on_host_nodes(vcluster: VCluster,
                                               kubectl: KubectlRunner) -> None:
    check_deployment(vcluster, kubectl, "web")


@pytest.mark.sandbox
@pytest.mark.tools
def test_syncer_runs_as_the_pods_service_account(vcluster: VCluster, sandbox: Sandbox,
                                                 kubectl: KubectlRunner) -> None:
    check_syncer_identity(vcluster, sandbox, kubectl)
    env = environ_of(next(pid for pid, cmd in processes_of(vcluster.namespace).items()
                          if " syncer " in cmd))
    assert env["POD_NAME"] == f"{vcluster.name}-0"  # the manifest's downward-API variable


@pytest.mark.sandbox
@pytest.mark.tools
def test_deleting_the_pod_stops_its_processes(kubectl: KubectlRunner, namespace: str,
                                              core: client.CoreV1Api,
                                              vcluster: VCluster) -> None:
    # A second virtual cluster beside the first: its syncer asked for port 8443 too.
    start_vcluster(kubectl, core, namespace, "team-b")
    first = processes_of(namespace)
    assert len(first) == 2 and len(pod_dirs(first, namespace)) == 1, first
    assert all(d.is_dir() for d in pod_dirs(first, namespace))

    kubectl("delete", "pod", "team-b-0", "-n", namespace)  # the StatefulSet makes a new one
    wait_for(lambda: not any(processes.alive(pid) for pid in first), 10, 0.1,
             what="the deleted pod's processes to end")
    wait_for(lambda: not any(d.exists() for d in pod_dirs(first, namespace)), 10, 0.1,
             what="the deleted pod's directories to go")
    wait_ready(core, namespace, "team-b-0")
    second = processes_of(namespace)
    assert len(second) == 2 and not set(second) & set(first), second

    kubectl("delete", "statefulset", "team-b", "-n", namespace)
    wait_for(lambda: not core.list_namespaced_pod(namespace).items, 20, 0.1,
             what="the pod to be deleted")
    wait_for(lambda: not processes_of(namespace), 10, 0.1, what="both processes to end")
    wait_for(lambda: not any(d.exists() for d in pod_dirs(second, namespace)), 10, 0.1,
             what="the pod's directories to go")
    assert len(processes_of(vcluster.namespace)) == 2  # the other virtual cluster runs on


@pytest.mark.sandbox
@pytest.mark.tools
def test_processes_end_with_a_killed_sandbox(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    script = ("import sys, time\nfrom pathlib import Path\n"
              "from preview.sandbox.runner import Sandbox\n"
              "sb = Sandbox(kubeconfig_path=Path(sys.argv[1])).start()\n"
              "print('up', flush=True)\ntime.sleep(600)\n")
    host = subprocess.Popen([sys.executable, "-c", script, str(kubeconfig)],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert host.stdout is not None and host.stdout.readline() == "up\n"
        binary = str(find_tool("kubectl"))

        def kubectl(*args: str, input: str | None = None,
                    **_: Any) -> subprocess.CompletedProcess[str]:
            return subprocess.run([binary, "--kubeconfig", str(kubeconfig), *args],
                                  input=input, capture_output=True, text=True, timeout=60,
                                  check=True)
        namespace = f"vc-{uuid.uuid4().hex[:8]}"
        kubectl("create", "namespace", namespace)
        kubectl("apply", "-f", "-", input=yaml.safe_dump_all(manifest("orphan", namespace)))
        wait_for(lambda: len(processes_of(namespace)) == 2, 30, 0.1,
                 what="the control-plane pod's processes")
        procs = processes_of(namespace)
    finally:
        host.kill()  # no chance to stop its pods
        host.wait(10)
    # Soon (SIGTERM on the parent's death), not whenever they next fail to write output;
    # 10 s, not less: on a loaded machine a Python process takes seconds to handle it.
    wait_for(lambda: not any(processes.alive(pid) for pid in procs), 10, 0.1,
             what="the pod's processes to end with their sandbox")
    for directory in pod_dirs(procs, namespace):  # its kubelet could not remove it
        shutil.rmtree(directory)


# -- the chart ------------------------------------------------------------------------------------
@pytest.mark.sandbox
@pytest.mark.tools
def test_chart_runs_on_the_host_sandbox(sandbox: Sandbox, helm: KubectlRunner,
                                        kubectl: KubectlRunner, namespace: str,
                                        core: client.CoreV1Api, tmp_path: Path) -> None:
    helm("install", "team-c", str(CHART), "-n", namespace, "--wait", "--timeout", "60s")
    vc = connect(sandbox.kubeconfig, core, namespace, "team-c", tmp_path / "virtual")
    try:
        check_pod(vc, kubectl)
        check_virtual_api(vc, kubectl)
        check_syncer_identity(vc, sandbox, kubectl)
        check_deployment(vc, kubectl, "app")
    finally:
        vc.forward.terminate()
        vc.forward.wait(10)
    procs = processes_of(namespace)
    # k3s gets no host token (the chart turns automounting off and mounts it for the syncer).
    k3s = next(pid for pid, cmd in procs.items() if " apiserver " in cmd)
    assert "PREVIEW_SERVICE_ACCOUNT_DIR" not in environ_of(k3s)
    helm("uninstall", "team-c", "-n", namespace, "--wait", "--timeout", "30s")
    wait_for(lambda: not processes_of(namespace), 15, 0.1, what="both processes to end")
    # The kubelet removes the pod's directories once its processes are gone.
    wait_for(lambda: not any(d.exists() for d in pod_dirs(procs, namespace)), 15, 0.1,
             what="the pod's directories to go")
