"""Connection settings from kubeconfigs and from inside a pod (pure file parsing)."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
import yaml

from preview.errors import PreviewError
from preview.kube import connection


def write(tmp_path: Path, doc: dict) -> Path:
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(doc))
    return path


def config(user: dict, cluster: dict | None = None, namespace: str | None = None) -> dict:
    ctx = {"cluster": "c", "user": "u", **({"namespace": namespace} if namespace else {})}
    return {"apiVersion": "v1", "kind": "Config", "current-context": "ctx",
            "contexts": [{"name": "ctx", "context": ctx}],
            "clusters": [{"name": "c", "cluster": cluster or {"server": "https://k:6443/"}}],
            "users": [{"name": "u", "user": user}]}


def test_token_and_ca_data(tmp_path: Path) -> None:
    ca = base64.b64encode(b"PEM").decode()
    conn = connection.from_kubeconfig(write(tmp_path, config(
        {"token": "s3cret"}, {"server": "https://k:6443/", "certificate-authority-data": ca},
        namespace="team")))
    assert conn.server == "https://k:6443" and conn.ca_pem == b"PEM"
    assert conn.bearer_token() == "s3cret" and conn.namespace == "team"
    assert "s3cret" not in repr(conn)


def test_token_file_is_reread(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("one\n")
    conn = connection.from_kubeconfig(write(tmp_path, config({"tokenFile": "token"})))
    assert conn.bearer_token() == "one"
    token.write_text("two")
    assert conn.bearer_token() == "two"


def test_client_certificate_files_relative_to_the_kubeconfig(tmp_path: Path) -> None:
    (tmp_path / "c.crt").write_bytes(b"CERT")
    (tmp_path / "c.key").write_bytes(b"KEY")
    conn = connection.from_kubeconfig(write(tmp_path, config(
        {"client-certificate": "c.crt", "client-key": "c.key"})))
    assert conn.client_cert_pem == b"CERT" and conn.client_key_pem == b"KEY"


@pytest.mark.parametrize(("doc", "fragment"), [
    (config({"exec": {"command": "aws"}}), "credential plugin gave no credentials"),
    ({"apiVersion": "v1", "kind": "Config"}, "no current-context"),
    ({**config({}), "current-context": "other"}, "no context named 'other'"),
])
def test_unusable_kubeconfigs_explain_themselves(tmp_path: Path, doc: dict,
                                                 fragment: str) -> None:
    with pytest.raises(PreviewError) as e:
        connection.from_kubeconfig(write(tmp_path, doc))
    assert fragment in str(e.value)


def test_missing_kubeconfig(tmp_path: Path) -> None:
    with pytest.raises(PreviewError) as e:
        connection.from_kubeconfig(tmp_path / "nope")
    assert "does not exist" in str(e.value) and e.value.hint


def test_in_cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "token").write_text("tok")
    (tmp_path / "ca.crt").write_bytes(b"CA")
    (tmp_path / "namespace").write_text("host-ns")
    monkeypatch.setattr(connection, "SERVICE_ACCOUNT_DIR", tmp_path)
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    conn = connection.in_cluster()
    assert conn.server == "https://10.96.0.1:443"
    assert conn.bearer_token() == "tok" and conn.namespace == "host-ns"
