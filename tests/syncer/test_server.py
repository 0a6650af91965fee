"""The syncer's kubelet API under attack: whoever reaches its port without k3s's client
certificate is refused at the TLS handshake, and k3s's own API server gets nothing but
the pods of its virtual cluster.

The pair's virtual sandbox stands in for k3s with a data directory, so it wrote k3s's TLS
files (server CA, client CA, its kubelet client certificate `client-kube-apiserver`), the
real syncer serves its kubelet API from them, and `kubectl logs` in the virtual cluster
goes through that mutual TLS (test_syncer_e2e). Here the requests are sent straight to
the kubelet port, as an attacker in the host cluster would send them.
"""

from __future__ import annotations

import asyncio
import ssl
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from preview import naming
from preview.kube import tls
from tests.conftest import wait_for
from tests.syncer.conftest import Pair

pytestmark = pytest.mark.sandbox

# (name, path under /{ns}/{pod}, query, WebSocket?) of each kubelet endpoint the syncer serves.
ENDPOINTS = {
    "logs": ("/containerLogs/{ns}/{pod}/app", {}, False),
    "exec": ("/exec/{ns}/{pod}/app", {"command": "id", "stdout": "1"}, True),
    "attach": ("/attach/{ns}/{pod}/app", {"stdout": "1"}, True),
    "portforward": ("/portForward/{ns}/{pod}", {"port": "80"}, True),
}


def _client(pair: Pair, cert: tls.KeyPair | None, tmp: Path) -> ssl.SSLContext:
    """Verifies the kubelet against k3s's server CA; presents `cert` (None: anonymous)."""
    context = ssl.create_default_context(cafile=str(pair.k3s_tls / "server-ca.crt"))
    if cert is not None:
        crt, key = tmp / f"{uuid.uuid4().hex}.crt", tmp / f"{uuid.uuid4().hex}.key"
        crt.write_bytes(cert.cert_pem)
        key.write_bytes(cert.key_pem)
        context.load_cert_chain(crt, key)
    return context


def _api_server_cert(pair: Pair) -> tls.KeyPair:
    """k3s's kubelet client certificate: what the virtual API server presents."""
    return tls.KeyPair((pair.k3s_tls / "client-kube-apiserver.crt").read_bytes(),
                       (pair.k3s_tls / "client-kube-apiserver.key").read_bytes())


async def _ask(pair: Pair, context: ssl.SSLContext, endpoint: str, namespace: str,
               pod: str) -> int | str:
    """The HTTP status the kubelet API answers, or how the connection failed."""
    path, query, websocket = ENDPOINTS[endpoint]
    url = f"https://127.0.0.1:{pair.kubelet_port}{path.format(ns=namespace, pod=pod)}"
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context),
                                     timeout=aiohttp.ClientTimeout(total=10)) as session:
        try:
            if websocket:
                async with session.ws_connect(url, params=query,
                                              protocols=("v5.channel.k8s.io",)) as ws:
                    await ws.close()
                    return 101
            async with session.get(url, params=query) as response:
                await response.read()
                return response.status
        except aiohttp.WSServerHandshakeError as e:
            return e.status
        except (aiohttp.ClientError, ssl.SSLError, ConnectionError) as e:
            return f"refused: {type(e).__name__}"


@pytest.fixture(scope="module")
def synced(pair: Pair) -> tuple[str, str]:
    """A virtual pod the syncer runs on the host: (namespace, name)."""
    namespace = f"k-{uuid.uuid4().hex[:8]}"
    pair.virtual_core.create_namespace({"metadata": {"name": namespace}})
    pair.virtual_core.create_namespaced_pod(namespace, {
        "metadata": {"name": "talker"},
        "spec": {"containers": [{"name": "app", "image": "example.com/talker:1"}]}})
    wait_for(lambda: pair.virtual_core.read_namespaced_pod("talker", namespace).status.phase
             == "Running", 30, what="the pod to run on the host")
    return namespace, "talker"


def test_k3s_api_server_reads_its_own_pods_logs(pair: Pair, synced: tuple[str, str],
                                                tmp_path: Path) -> None:
    """The control for the refusals below: the same request with k3s's certificate works."""
    status = asyncio.run(_ask(pair, _client(pair, _api_server_cert(pair), tmp_path), "logs",
                              *synced))
    assert status == 200


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
@pytest.mark.parametrize("who", ["anonymous", "another CA", "k3s's server CA"])
def test_clients_without_k3s_client_certificate_are_refused(
        pair: Pair, synced: tuple[str, str], tmp_path: Path, endpoint: str, who: str) -> None:
    server_ca = tls.KeyPair((pair.k3s_tls / "server-ca.crt").read_bytes(),
                            (pair.k3s_tls / "server-ca.key").read_bytes())
    cert = {"anonymous": None,
            # CN kube-apiserver, as k3s's: only the signature tells them apart
            "another CA": tls.issue(tls.new_ca("k3s-client-ca@1"), [], "kube-apiserver",
                                    client=True),
            "k3s's server CA": tls.issue(server_ca, [], "kube-apiserver", client=True)}[who]
    status = asyncio.run(_ask(pair, _client(pair, cert, tmp_path), endpoint, *synced))
    assert isinstance(status, str) and status.startswith("refused"), status


def _host_pod(pair: Pair, name: str, labels: dict[str, str],
              annotations: dict[str, str]) -> None:
    pair.host_core.create_namespaced_pod(pair.host_namespace, {
        "metadata": {"name": name, "labels": labels, "annotations": annotations},
        "spec": {"containers": [{"name": "app", "image": "example.com/secret-keeper:1"}]}})


@pytest.fixture(scope="module")
def strangers(pair: Pair, synced: tuple[str, str]) -> dict[str, tuple[str, str]]:
    """Pods in the syncer's host namespace it did not sync, by what they are: (namespace,
    name) as a client of the kubelet API would name them."""
    other = naming.host_name("web", "default", "other-vc", naming.DNS_LABEL_MAX)
    _host_pod(pair, other, {naming.MANAGED_BY: naming.SYNCER_VALUE,
                            naming.VCLUSTER: "other-vc", naming.VIRTUAL_NAMESPACE: "default"},
              {naming.VIRTUAL_NAME_ANNOTATION: "web",
               naming.VIRTUAL_NAMESPACE_ANNOTATION: "default"})
    _host_pod(pair, "host-only", {}, {})
    # Named as this cluster's copy of default/ghost would be, but no virtual pod of that name
    # exists: the syncer never made it (a foreign pod, or one left by a deleted tenant).
    _host_pod(pair, naming.host_name("ghost", "default", pair.vcluster, naming.DNS_LABEL_MAX),
              {}, {})
    return {
        # another virtual cluster's pod, named as that cluster names it, and by its host name
        "another vcluster's pod": ("default", "web"),
        "another vcluster's host pod": (pair.host_namespace, other),
        "an unsynced host pod": (pair.host_namespace, "host-only"),
        "an unsynced host pod under a synced name": ("default", "ghost"),
        # this cluster's own pod, by its host name: not a name of the virtual cluster
        "a synced pod's host name": (pair.host_namespace, naming.host_name(
            synced[1], synced[0], pair.vcluster, naming.DNS_LABEL_MAX)),
    }


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
@pytest.mark.parametrize("which", ["another vcluster's pod", "another vcluster's host pod",
                                   "an unsynced host pod",
                                   "an unsynced host pod under a synced name",
                                   "a synced pod's host name"])
def test_k3s_gets_nothing_but_its_own_pods(pair: Pair, strangers: dict[str, Any],
                                           tmp_path: Path, endpoint: str, which: str) -> None:
    status = asyncio.run(_ask(pair, _client(pair, _api_server_cert(pair), tmp_path), endpoint,
                              *strangers[which]))
    assert status == 404
