"""The sandbox's certificates in k3s's layout (apiserver/auth/certs.py's k3s_tls): the files
a syncer's --kubelet-ca-dir reads, who signs what, and reuse on a restart."""

from __future__ import annotations

import stat
from pathlib import Path

from cryptography import x509

from preview.sandbox.apiserver.auth import certs

# k3s pkg/daemons/control/deps: <data-dir>/server/tls
K3S_FILES = {f"{name}.{ext}" for name in ("server-ca", "client-ca", "client-kube-apiserver",
                                          "serving-kube-apiserver") for ext in ("crt", "key")}


def _cert(pem: bytes) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem)


def test_k3s_layout_and_who_signs_what(tmp_path: Path) -> None:
    serving, kubelet = certs.k3s_tls(tmp_path, ("127.0.0.1", "localhost"))
    assert {p.name for p in tmp_path.iterdir()} == K3S_FILES
    assert all(stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600
               for name in K3S_FILES if name.endswith(".key"))
    server_ca = _cert((tmp_path / "server-ca.crt").read_bytes())
    client_ca = _cert((tmp_path / "client-ca.crt").read_bytes())
    assert server_ca.subject != client_ca.subject
    # The kubeconfig's CA is the server CA, which issued the serving certificate;
    # client certificates are verified against the client CA.
    assert serving.ca_pem == (tmp_path / "server-ca.crt").read_bytes()
    assert _cert(serving.cert_pem).issuer == server_ca.subject
    assert serving.client_ca_pem == (tmp_path / "client-ca.crt").read_bytes()
    # What the API server presents to kubelets: CN kube-apiserver from the client CA; it
    # verifies them against the server CA.
    presented = _cert(kubelet.cert.cert_pem)
    assert presented.issuer == client_ca.subject
    assert presented.subject.rfc4514_string() == "CN=kube-apiserver"
    assert kubelet.ca_pem == serving.ca_pem
    context = kubelet.context()
    assert context.verify_mode.name == "CERT_REQUIRED" and context.check_hostname


def test_a_restart_keeps_the_cas(tmp_path: Path) -> None:
    first, _ = certs.k3s_tls(tmp_path, ("127.0.0.1",))
    again, kubelet = certs.k3s_tls(tmp_path, ("127.0.0.1", "vc.example"))
    assert (again.ca_pem, again.client_ca_pem) == (first.ca_pem, first.client_ca_pem)
    assert kubelet.cert.cert_pem == (tmp_path / "client-kube-apiserver.crt").read_bytes()
    san = _cert(again.cert_pem).extensions.get_extension_for_class(
        x509.SubjectAlternativeName).value
    assert "vc.example" in san.get_values_for_type(x509.DNSName)
