"""`preview vcluster` end to end on a host sandbox: the chart, the runtime, the syncer, the CLI.

The host sandbox runs the chart's control-plane pod for real (a virtual API server and the
real `preview syncer` under the chart's ServiceAccount), so nothing here is a shortcut.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from preview.sandbox.runner import Sandbox
from tests.conftest import wait_for

pytestmark = [pytest.mark.sandbox, pytest.mark.tools]


def preview(sb: Sandbox, *args: str, check: bool = True,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([sys.executable, "-m", "preview", *args, "--kubeconfig",
                             sb.kubeconfig], capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"preview {' '.join(args)} failed ({result.returncode}):\n"
                             f"{result.stderr}{result.stdout}")
    return result


def connect(sb: Sandbox, name: str, namespace: str, *command: str,
            check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([sys.executable, "-m", "preview", "vcluster", "connect", name,
                             "-n", namespace, "--kubeconfig", sb.kubeconfig, "--", *command],
                            capture_output=True, text=True, timeout=120)
    if check and result.returncode != 0:
        raise AssertionError(f"connect -- {' '.join(command)} failed ({result.returncode}):\n"
                             f"{result.stderr}{result.stdout}")
    assert "Traceback" not in result.stderr, result.stderr  # closing the tunnel is quiet
    return result


def labelled_anywhere(api: client.ApiClient, selector: str) -> list[str]:
    core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
    found = []
    for kind, lister in (("pod", core.list_pod_for_all_namespaces),
                         ("service", core.list_service_for_all_namespaces),
                         ("configmap", core.list_config_map_for_all_namespaces),
                         ("secret", core.list_secret_for_all_namespaces),
                         ("statefulset", apps.list_stateful_set_for_all_namespaces)):
        found += [f"{kind}/{o.metadata.namespace}/{o.metadata.name}"
                  for o in lister(label_selector=selector).items]
    return found


def test_create_connect_use_list_delete(sandbox: Sandbox, api_client: client.ApiClient,
                                        kubectl_path: str, tmp_path: Path) -> None:
    created = json.loads(preview(sandbox, "vcluster", "create", "team-a", "--namespace",
                                 "team-a", "-o", "json").stdout)
    assert created["service_cidr"] == "10.96.0.0/12" and created["created_namespace"]
    core = client.CoreV1Api(api_client)
    pod = core.read_namespaced_pod("team-a-0", "team-a")
    assert pod.spec.service_account_name == "vc-team-a"
    assert all(c.ready for c in pod.status.container_statuses)
    assert core.read_namespace("team-a").metadata.labels[
        "pod-security.kubernetes.io/enforce"] == "baseline"

    namespaces = connect(sandbox, "team-a", "team-a", kubectl_path, "get", "ns", "-o",
                         "name").stdout.split()
    assert {"namespace/default", "namespace/kube-system"} <= set(namespaces)
    assert "namespace/team-a" not in namespaces  # the virtual cluster's own view

    manifest = tmp_path / "web.yaml"
    manifest.write_text(textwrap.dedent("""\
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: web, namespace: default}
        spec:
          replicas: 2
          selector: {matchLabels: {app: web}}
          template:
            metadata: {labels: {app: web}}
            spec:
              containers: [{name: web, image: nginx:1.27}]
        """))
    connect(sandbox, "team-a", "team-a", kubectl_path, "apply", "-f", str(manifest))
    connect(sandbox, "team-a", "team-a", kubectl_path, "rollout", "status", "deployment/web",
            "--timeout=60s")
    host_pods = core.list_namespaced_pod(
        "team-a", label_selector="preview-vcluster.io/vcluster=team-a").items
    assert len(host_pods) == 2 and all(p.spec.node_name for p in host_pods)
    dns_ip = core.read_namespaced_service("team-a-dns", "team-a").spec.cluster_ip
    assert all(p.spec.dns_config.nameservers == [dns_ip] and p.spec.dns_policy == "None"
               for p in host_pods)
    assert host_pods[0].spec.dns_config.searches[0] == "default.svc.cluster.local"

    rows = json.loads(preview(sandbox, "vcluster", "list", "-o", "json").stdout)
    row = next(r for r in rows if r["name"] == "team-a")
    assert (row["namespace"], row["status"], row["ready"]) == ("team-a", "Running", True)

    deleted = json.loads(preview(sandbox, "vcluster", "delete", "team-a", "--namespace",
                                 "team-a", "-o", "json").stdout)
    assert deleted["namespace_deleted"] and deleted["leftovers"] == []
    with pytest.raises(ApiException) as e:
        core.read_namespace("team-a")
    assert e.value.status == 404
    assert labelled_anywhere(api_client, "preview-vcluster.io/vcluster=team-a") == []
    assert labelled_anywhere(api_client, "app.kubernetes.io/instance=team-a") == []


def token_of(core: client.CoreV1Api, account: str, namespace: str) -> str:
    return str(core.create_namespaced_service_account_token(
        account, namespace, {"spec": {"expirationSeconds": 600}}).status.token)


def test_two_virtual_clusters_are_isolated(sandbox: Sandbox, api_client: client.ApiClient,
                                           kubectl_path: str, tmp_path: Path) -> None:
    for name in ("iso-a", "iso-b"):
        preview(sandbox, "vcluster", "create", name, "--namespace", name)
    try:
        connect(sandbox, "iso-a", "iso-a", kubectl_path, "create", "configmap", "only-in-a")
        seen_in_b = connect(sandbox, "iso-b", "iso-b", kubectl_path, "get", "configmap",
                            "only-in-a", check=False)
        assert seen_in_b.returncode != 0 and "not found" in seen_in_b.stderr
        core = client.CoreV1Api(api_client)
        for mine, other in (("iso-a", "iso-b"), ("iso-b", "iso-a")):
            kubeconfig = sandbox.write_kubeconfig(tmp_path / mine, token_of(
                core, f"vc-{mine}", mine), user=mine)
            allowed = subprocess.run([kubectl_path, "--kubeconfig", str(kubeconfig), "get",
                                      "pods", "-n", mine], capture_output=True, text=True)
            assert allowed.returncode == 0, allowed.stderr
            refused = subprocess.run([kubectl_path, "--kubeconfig", str(kubeconfig), "get",
                                      "pods", "-n", other], capture_output=True, text=True)
            assert refused.returncode != 0 and "Forbidden" in refused.stderr
    finally:
        for name in ("iso-a", "iso-b"):
            preview(sandbox, "vcluster", "delete", name, "--namespace", name)


def test_quota_from_values_is_enforced_on_the_host(sandbox: Sandbox,
                                                   api_client: client.ApiClient,
                                                   kubectl_path: str) -> None:
    preview(sandbox, "vcluster", "create", "quota", "--namespace", "quota",
            "--set", "isolation.quota.pods=50")
    try:
        connect(sandbox, "quota", "quota", kubectl_path, "create", "deployment", "many",
                "--image=nginx", "--replicas=51")
        core = client.CoreV1Api(api_client)

        def host_pods() -> list[Any]:
            return list(core.list_namespaced_pod(
                "quota", label_selector="preview-vcluster.io/vcluster=quota").items)

        wait_for(lambda: len(host_pods()) == 50, 60, what="50 synced pods")

        def refusal() -> str:
            out = connect(sandbox, "quota", "quota", kubectl_path, "get", "events", "-o",
                          "json").stdout
            return next((e["message"] for e in json.loads(out)["items"]
                         if e["reason"] == "SyncFailed"), "")
        message = wait_for(refusal, 60, what="the SyncFailed event")
        assert "exceeded quota" in message
        assert len(host_pods()) == 50
    finally:
        preview(sandbox, "vcluster", "delete", "quota", "--namespace", "quota")


@pytest.mark.parametrize(("assignment", "fragment"), [
    ("isolation.quota.pods=abc", "want integer"),
    ("nosuchkey=1", "nosuchkey"),
])
def test_bad_values_fail_before_anything_is_created(sandbox: Sandbox, core: client.CoreV1Api,
                                                    assignment: str, fragment: str) -> None:
    out = preview(sandbox, "vcluster", "create", "bad", "--namespace", "bad-values", "--set",
                  assignment, check=False)
    assert out.returncode == 1
    assert fragment in out.stderr and "Traceback" not in out.stderr
    with pytest.raises(ApiException) as e:
        core.read_namespace("bad-values")
    assert e.value.status == 404


def test_create_is_idempotent_and_the_tunnel_survives_a_restart(
        sandbox: Sandbox, api_client: client.ApiClient, kubectl_path: str) -> None:
    import asyncio

    from preview.kube.client import KubeClient
    from preview.kube.connection import from_kubeconfig
    from preview.vcluster.connect import connect as open_tunnel

    preview(sandbox, "vcluster", "create", "again", "--namespace", "again")
    upgraded = json.loads(preview(sandbox, "vcluster", "create", "again", "--namespace",
                                  "again", "--upgrade", "-o", "json").stdout)
    assert upgraded["revision"] == 2 and not upgraded["created_namespace"]
    assert upgraded["upgraded"] and upgraded["changes"] == []
    core = client.CoreV1Api(api_client)
    try:
        async def scenario() -> tuple[str, str]:
            async with KubeClient(from_kubeconfig(sandbox.kubeconfig)) as host, \
                    open_tunnel(host, "again", "again") as kubeconfig:
                async def kubectl(*args: str) -> str:
                    proc = await asyncio.create_subprocess_exec(
                        kubectl_path, "--kubeconfig", str(kubeconfig), *args,
                        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
                    out, err = await proc.communicate()
                    return out.decode() + err.decode()

                before = await kubectl("get", "ns", "default", "-o", "name")
                old_uid = core.read_namespaced_pod("again-0", "again").metadata.uid
                await asyncio.to_thread(core.delete_namespaced_pod, "again-0", "again")

                def restarted() -> bool:
                    try:
                        pod = core.read_namespaced_pod("again-0", "again")
                    except ApiException:
                        return False
                    statuses = pod.status.container_statuses or []
                    return pod.metadata.uid != old_uid and bool(statuses) and all(
                        c.ready for c in statuses)
                await asyncio.to_thread(wait_for, restarted, 60, 0.2, "the pod to come back")
                after = ""
                for _ in range(100):  # the syncer republishes the new credentials
                    after = await kubectl("get", "ns", "default", "-o", "name")
                    if after.strip() == "namespace/default":
                        break
                    await asyncio.sleep(0.2)
                return before, after

        before, after = asyncio.run(scenario())
        assert before.strip() == "namespace/default"
        assert after.strip() == "namespace/default"
    finally:
        preview(sandbox, "vcluster", "delete", "again", "--namespace", "again")


def test_expose_through_the_load_balancer(sandbox: Sandbox) -> None:
    preview(sandbox, "vcluster", "create", "lb", "--namespace", "lb",
            "--set", "service.type=LoadBalancer")
    try:
        out = subprocess.run(
            [sys.executable, "-m", "preview", "vcluster", "connect", "lb", "-n", "lb",
             "--expose", "loadbalancer", "--kubeconfig", sandbox.kubeconfig, "--",
             "sh", "-c", 'cat "$KUBECONFIG"'], capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        import yaml

        cluster = yaml.safe_load(out.stdout)["clusters"][0]["cluster"]
        assert cluster["server"].startswith("https://172.18.255.")  # the sandbox's LB pool
        assert cluster["tls-server-name"] == "lb.lb.svc"
    finally:
        preview(sandbox, "vcluster", "delete", "lb", "--namespace", "lb")


def test_deleting_what_is_not_there_fails_unless_told_to_ignore_it(sandbox: Sandbox) -> None:
    out = preview(sandbox, "vcluster", "delete", "ghost", "--namespace", "ghost-ns",
                  check=False)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert "virtual cluster ghost not found in namespace ghost-ns" in out.stderr
    out = preview(sandbox, "vcluster", "delete", "ghost", check=False)
    assert out.returncode == 1
    assert "virtual cluster ghost not found in any namespace" in out.stderr
    ignored = preview(sandbox, "vcluster", "delete", "ghost", "-n", "ghost-ns",
                      "--ignore-not-found")
    assert ignored.returncode == 0 and ignored.stdout == ""


def test_connect_to_a_missing_cluster_explains(sandbox: Sandbox) -> None:
    out = subprocess.run([sys.executable, "-m", "preview", "vcluster", "connect", "ghost", "-n",
                          "default", "--kubeconfig", sandbox.kubeconfig, "--", "true"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 1
    assert "virtual cluster ghost not found in namespace default" in out.stderr
    assert "Traceback" not in out.stderr


def test_create_from_a_vcluster_values_file(sandbox: Sandbox, api_client: client.ApiClient,
                                            tmp_path: Path) -> None:
    """The vCluster article's "minimal hardened configuration" (vCluster ≤0.19 values), as
    pasted: translated, each key said on stderr, and the quota it asks for on the host."""
    values = tmp_path / "vcluster.yaml"
    values.write_text(textwrap.dedent("""\
        sync:
          pods: {enabled: true}
          services: {enabled: true}
          persistentvolumeclaims: {enabled: true}
        isolation:
          enabled: true
          resourceQuota:
            enabled: true
            quota: {requests.cpu: "10", requests.memory: "20Gi", pods: "50"}
        """))
    out = preview(sandbox, "vcluster", "create", "my-team-cluster", "--namespace",
                  "team-namespace", "-f", str(values))
    try:
        assert f"{values}: isolation.resourceQuota.quota.pods → isolation.quota.pods" \
            in out.stderr
        assert f"{values}: sync.persistentvolumeclaims.enabled → " \
            "sync.kinds.persistentvolumeclaims" in out.stderr
        hard = client.CoreV1Api(api_client).read_namespaced_resource_quota(
            "vc-my-team-cluster", "team-namespace").spec.hard
        # vCluster's pods count the namespace's, the control plane's own included, as ours
        # on the host do (docs/vcluster-chart.md): the file's 50.
        assert (hard["requests.cpu"], hard["requests.memory"], hard["pods"]) == \
            ("10", "20Gi", "50")
        sts = client.AppsV1Api(api_client).read_namespaced_stateful_set(
            "my-team-cluster", "team-namespace")
        syncer = next(c for c in sts.spec.template.spec.containers if c.name == "syncer")
        sync = next(a for a in syncer.args if a.startswith("--sync="))
        assert "persistentvolumeclaims" in sync.removeprefix("--sync=").split(",")
    finally:
        preview(sandbox, "vcluster", "delete", "my-team-cluster", "--namespace",
                "team-namespace")


def test_a_vcluster_key_with_no_equivalent_fails_before_anything_is_created(
        sandbox: Sandbox, core: client.CoreV1Api, tmp_path: Path) -> None:
    values = tmp_path / "vcluster.yaml"
    values.write_text("controlPlane: {distro: {k8s: {enabled: true}}}\n")
    out = preview(sandbox, "vcluster", "create", "k8s", "--namespace", "k8s-distro", "-f",
                  str(values), check=False)
    assert out.returncode == 2, out.stderr
    assert "controlPlane.distro.k8s: vCluster's key has no equivalent in charts/vcluster: " \
        "the control plane is always k3s" in out.stderr
    with pytest.raises(ApiException) as e:
        core.read_namespace("k8s-distro")
    assert e.value.status == 404
