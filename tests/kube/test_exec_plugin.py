"""Kubeconfigs whose user is an exec credential plugin (as EKS, GKE and AKS write them).

The plugin is a small Python script printing a client.authentication.k8s.io/v1
ExecCredential: it hands out, one per run, the tokens queued in a JSON file (a sandbox
ServiceAccount token, or one the server refuses), with their expirationTimestamp, and counts
its runs — which is how these tests see when the token was refreshed.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import sys
import textwrap
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client

from preview.errors import PreviewError
from preview.kube.client import KubeClient, Resource
from preview.kube.connection import from_kubeconfig
from preview.sandbox.runner import Sandbox
from tests.conftest import tool_runner

pytestmark = pytest.mark.sandbox
NAMESPACES = Resource("", "v1", "namespaces", "Namespace", namespaced=False)

PLUGIN = textwrap.dedent("""\
    #!{python}
    import fcntl, json, os, pathlib, sys
    state = pathlib.Path(sys.argv[1])
    info = json.loads(os.environ["KUBERNETES_EXEC_INFO"])
    runs = state / "runs"
    with open(state / "lock", "w") as lock:  # helm may run it twice at once
        fcntl.flock(lock, fcntl.LOCK_EX)
        count = int(runs.read_text()) if runs.exists() else 0
        runs.write_text(str(count + 1))
    queue = json.loads((state / "tokens.json").read_text())
    if not queue:
        print("no more tokens: log in again", file=sys.stderr)
        sys.exit(1)
    token, expiry = queue[min(count, len(queue) - 1)]
    print(json.dumps({{"apiVersion": info["apiVersion"], "kind": "ExecCredential",
                      "status": {{"token": token, "expirationTimestamp": expiry}}}}))
    """)


def stamp(delta: datetime.timedelta) -> str:
    moment = datetime.datetime.now(datetime.UTC) + delta
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


LATER = datetime.timedelta(hours=1)
PAST = -datetime.timedelta(minutes=1)


def service_account_token(sb: Sandbox) -> str:
    """A token of a fresh ServiceAccount allowed to read namespaces (cluster-admin here)."""
    with client.ApiClient(_admin(sb)) as api:
        core, rbac = client.CoreV1Api(api), client.RbacAuthorizationV1Api(api)
        name = f"exec-{uuid.uuid4().hex[:8]}"
        core.create_namespaced_service_account("default", {"metadata": {"name": name}})
        rbac.create_cluster_role_binding({
            "metadata": {"name": name},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                        "name": "cluster-admin"},
            "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": "default"}]})
        return str(core.create_namespaced_service_account_token(
            name, "default", {"spec": {"expirationSeconds": 3600}}).status.token)


def _admin(sb: Sandbox) -> client.Configuration:
    from kubernetes import config

    configuration = client.Configuration()
    config.load_kube_config(sb.kubeconfig, client_configuration=configuration)
    return configuration


def exec_kubeconfig(sb: Sandbox, directory: Path, tokens: list[tuple[str, str]]) -> Path:
    """A kubeconfig for the sandbox whose user runs the plugin; returns its path."""
    (directory / "tokens.json").write_text(json.dumps(tokens))
    plugin = directory / "plugin.py"
    plugin.write_text(PLUGIN.format(python=sys.executable))
    plugin.chmod(0o755)
    admin: dict[str, Any] = yaml.safe_load(Path(sb.kubeconfig).read_text())
    cluster = admin["clusters"][0]["cluster"]
    doc = {"apiVersion": "v1", "kind": "Config", "current-context": "exec",
           "clusters": [{"name": "sandbox", "cluster": cluster}],
           "contexts": [{"name": "exec", "context": {"cluster": "sandbox", "user": "plugin"}}],
           "users": [{"name": "plugin", "user": {"exec": {
               "apiVersion": "client.authentication.k8s.io/v1", "command": str(plugin),
               "args": [str(directory)], "interactiveMode": "Never"}}}]}
    path = directory / "kubeconfig"
    path.write_text(yaml.safe_dump(doc))
    return path


def runs(directory: Path) -> int:
    return int((directory / "runs").read_text())


async def list_namespaces(path: Path, times: int) -> list[str]:
    async with KubeClient(from_kubeconfig(path)) as kube:
        names: list[str] = []
        for _ in range(times):
            listed = await kube.list(NAMESPACES)
            names = [item["metadata"]["name"] for item in listed["items"]]
        return names


def test_token_is_cached_until_it_nears_expiry(sandbox: Sandbox, tmp_path: Path) -> None:
    path = exec_kubeconfig(sandbox, tmp_path, [(service_account_token(sandbox), stamp(LATER))])
    assert "default" in asyncio.run(list_namespaces(path, 3))
    assert runs(tmp_path) == 1  # one run for the kubeconfig, three requests
    # helm and kubectl run the plugin themselves from the same kubeconfig.
    kubectl = tool_runner("kubectl", str(path), 60)
    assert "namespace/default" in kubectl("get", "ns", "-o", "name").stdout.split()
    assert runs(tmp_path) == 2


def test_expired_token_is_refreshed_by_running_the_plugin_again(sandbox: Sandbox,
                                                                 tmp_path: Path) -> None:
    # The first token has expired (and the server would refuse it): it is never sent.
    path = exec_kubeconfig(sandbox, tmp_path, [("expired-token", stamp(PAST)),
                                               (service_account_token(sandbox), stamp(LATER))])
    assert "default" in asyncio.run(list_namespaces(path, 2))
    assert runs(tmp_path) == 2


def test_token_refused_before_its_expiry_is_refreshed_once(sandbox: Sandbox,
                                                           tmp_path: Path) -> None:
    path = exec_kubeconfig(sandbox, tmp_path, [("revoked-token", stamp(LATER)),
                                               (service_account_token(sandbox), stamp(LATER))])
    assert "default" in asyncio.run(list_namespaces(path, 2))
    assert runs(tmp_path) == 2


def test_failing_plugin_names_the_user_and_its_error(sandbox: Sandbox, tmp_path: Path) -> None:
    path = exec_kubeconfig(sandbox, tmp_path, [])
    with pytest.raises(PreviewError) as e:
        from_kubeconfig(path)
    assert "'plugin'" in e.value.message and "log in again" in e.value.message
    assert e.value.hint
