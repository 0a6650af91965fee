"""The syncer works with nothing but its Role in its namespace, and nothing beyond it."""

from __future__ import annotations

import re
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from kubernetes import client, config
from kubernetes.client.rest import ApiException

from preview import naming
from preview.sandbox.runner import Sandbox, ServerConfig
from preview.syncer.permissions import HOST_RULES
from tests.conftest import wait_for
from tests.syncer.conftest import free_port

pytestmark = pytest.mark.sandbox


def test_syncer_with_its_role_only(tmp_path: Path) -> None:
    with Sandbox(ServerConfig(flavour="host")) as host, \
            Sandbox(ServerConfig(flavour="virtual", data_dir=tmp_path / "k3s")) as virtual, \
            config.new_client_from_config(host.kubeconfig) as admin_api, \
            config.new_client_from_config(virtual.kubeconfig) as virtual_api:
        core, rbac = client.CoreV1Api(admin_api), client.RbacAuthorizationV1Api(admin_api)
        for ns in ("vc-rbac", "elsewhere"):
            core.create_namespace({"metadata": {"name": ns}})
        core.create_namespaced_service_account("vc-rbac", {"metadata": {"name": "syncer"}})
        rbac.create_namespaced_role("vc-rbac", {"metadata": {"name": "syncer"},
                                                "rules": HOST_RULES})
        rbac.create_namespaced_role_binding("vc-rbac", {
            "metadata": {"name": "syncer"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                        "name": "syncer"},
            "subjects": [{"kind": "ServiceAccount", "name": "syncer",
                          "namespace": "vc-rbac"}]})
        token = core.create_namespaced_service_account_token(
            "syncer", "vc-rbac", {"spec": {"expirationSeconds": 3600}}).status.token
        syncer_kubeconfig = host.write_kubeconfig(tmp_path / "syncer", token, user="syncer")

        port = free_port()
        log = tmp_path / "syncer.log"
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "preview", "syncer", "--name", "rbac",
                 "--host-namespace", "vc-rbac", "--host-kubeconfig", str(syncer_kubeconfig),
                 "--virtual-kubeconfig", virtual.kubeconfig, "--port", str(port),
                 "--kubelet-port", str(free_port()),
                 "--kubelet-ca-dir", str(tmp_path / "k3s" / "server" / "tls")],
                stdout=out, stderr=subprocess.STDOUT)
        try:
            def ready() -> bool:
                assert proc.poll() is None, log.read_text()
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1):
                        return True
                except OSError:
                    return False
            wait_for(ready, 30, what="the syncer to be ready")
            virtual_core = client.CoreV1Api(virtual_api)
            virtual_core.create_namespaced_pod("default", {
                "metadata": {"name": "web"},
                "spec": {"containers": [{"name": "c", "image": "nginx"}]}})
            wait_for(lambda: virtual_core.read_namespaced_pod("web", "default").status.phase
                     == "Running", 30, what="the pod to run through the syncer")
            host_pod = core.read_namespaced_pod(naming.host_name("web", "default", "rbac", 63),
                                                "vc-rbac")
            assert host_pod.spec.service_account_name == "default"
            # 403 as a status, not inside a port number the log prints (":54035").
            assert "Forbidden" not in log.read_text()
            assert not re.search(r"\b403\b", log.read_text())
            node = virtual_core.read_node(host_pod.spec.node_name)  # a synthetic one
            assert node.metadata.labels["preview-vcluster.io/node"] == "fake"
            virtual_core.delete_namespaced_pod("web", "default")
            wait_for(lambda: not virtual_core.list_node().items, 30,
                     what="the virtual node to go with its last pod")
        finally:
            proc.terminate()
            proc.wait(10)

        with config.new_client_from_config(str(syncer_kubeconfig)) as syncer_api:
            as_syncer = client.CoreV1Api(syncer_api)
            assert as_syncer.list_namespaced_pod("vc-rbac").kind == "PodList"  # allowed
            for call in (lambda: as_syncer.list_namespaced_pod("elsewhere"),
                         lambda: as_syncer.create_namespaced_config_map(
                             "elsewhere", {"metadata": {"name": "x"}}),
                         lambda: as_syncer.list_node()):
                with pytest.raises(ApiException) as e:
                    call()
                assert e.value.status == 403
