"""In a pod with no kubeconfig, the host is the pod's own ServiceAccount, as client-go's
loading rules end: `preview` reads its token (re-read as the kubelet rotates it) and CA, and
helm gets a private kubeconfig of the same files."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from preview.errors import PreviewError
from preview.kube.host import HostCluster, in_cluster_applies


@pytest.fixture
def pod(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    sa = tmp_path / "serviceaccount"
    sa.mkdir()
    (sa / "token").write_text("first\n")
    (sa / "ca.crt").write_text("CA")
    (sa / "namespace").write_text("preview-system\n")
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    monkeypatch.setenv("PREVIEW_SERVICE_ACCOUNT_DIR", str(sa))
    return sa


def test_a_pod_without_a_kubeconfig_is_its_service_account(pod: Path) -> None:
    host = HostCluster.from_kubeconfig()
    assert host.connection.server == "https://10.96.0.1:443"
    assert host.connection.ca_pem == b"CA" and host.connection.namespace == "preview-system"
    assert host.connection.bearer_token() == "first"
    (pod / "token").write_text("rotated\n")
    assert host.connection.bearer_token() == "rotated"
    # helm and kubectl: the same server and files, in a file only we can read.
    assert host.kubeconfig is not None and host.context is None
    assert host.kubeconfig.stat().st_mode & 0o777 == 0o600
    kubeconfig = yaml.safe_load(host.kubeconfig.read_text())
    assert kubeconfig["clusters"][0]["cluster"] == {
        "server": "https://10.96.0.1:443", "certificate-authority": str(pod / "ca.crt")}
    assert kubeconfig["users"][0]["user"] == {"tokenFile": str(pod / "token")}
    assert "rotated" not in host.kubeconfig.read_text()  # the file, never the token
    assert host.tool_flags() == ("--kubeconfig", str(host.kubeconfig))


def test_a_kubeconfig_wins_over_the_pod(pod: Path, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    environ = {"KUBERNETES_SERVICE_HOST": "10.96.0.1"}
    assert in_cluster_applies(environ, tmp_path / "home", pod)
    assert not in_cluster_applies({**environ, "KUBECONFIG": "/x"}, tmp_path / "home", pod)
    assert not in_cluster_applies({}, tmp_path / "home", pod)  # not in a pod
    assert not in_cluster_applies(environ, tmp_path / "home", tmp_path / "none")  # no token
    (tmp_path / "home" / ".kube").mkdir(parents=True)
    (tmp_path / "home" / ".kube" / "config").write_text("{}")
    assert not in_cluster_applies(environ, tmp_path / "home", pod)
    # An explicit --kubeconfig or --context is a kubeconfig's, never the pod's.
    with pytest.raises(PreviewError, match="elsewhere"):
        HostCluster.from_kubeconfig(None, "elsewhere")
