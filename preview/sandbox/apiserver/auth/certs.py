"""TLS for the emulator: a throwaway CA, a serving certificate for 127.0.0.1, and the admin's
client certificate; or, standing in for k3s, the CAs and certificates k3s keeps on disk.

Clients refuse to send bearer tokens over plain HTTP (client-go does), so the emulator
serves HTTPS like any API server; the CA goes into the kubeconfigs it writes. Every sandbox
has its own CA (see `preview.kube.tls`). As kubeadm (and so kind) does, the admin
kubeconfig carries a client certificate for `kubernetes-admin` in the group
`kubeadm:cluster-admins`; the server asks for (and verifies against its client CA) client
certificates but accepts connections without one.

With a data directory (`k3s_tls`), the certificates are k3s's, in its layout of
`<data-dir>/server/tls` (k3s pkg/daemons/control/deps): a server CA (`server-ca.crt/.key`)
that issues the serving certificate, a client CA (`client-ca.crt/.key`) that client
certificates are verified against, and `client-kube-apiserver.crt/.key` (CN
`kube-apiserver`, from the client CA), which the API server presents to kubelets
(kube-apiserver's `--kubelet-client-certificate`) while verifying them against the server
CA (`--kubelet-certificate-authority`). The syncer's kubelet API reads that directory.
Files already there are reused, as k3s does on a restart.
"""

from __future__ import annotations

import datetime as dt
import ssl
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from preview.kube import tls

ADMIN_USER = "kubernetes-admin"
ADMIN_GROUP = "kubeadm:cluster-admins"


@dataclass(frozen=True)
class ServingCerts:
    ca_pem: bytes
    cert_pem: bytes
    key_pem: bytes
    # The CA's own key: the host ingress controller issues its HTTPS certificates with it.
    ca_key_pem: bytes = b""
    admin: tls.KeyPair | None = None  # the admin's client certificate
    # The CA client certificates are verified against (k3s: its client CA); "": `ca_pem`.
    client_ca_pem: bytes = b""

    def __repr__(self) -> str:
        return "ServingCerts(<CA>, <certificate>, <private keys>)"

    def server_context(self) -> ssl.SSLContext:
        ctx = tls.server_context(tls.KeyPair(self.cert_pem, self.key_pem), self.ca_pem)
        ctx.verify_mode = ssl.CERT_OPTIONAL
        ctx.load_verify_locations(cadata=(self.client_ca_pem or self.ca_pem).decode())
        return ctx

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cadata=self.ca_pem.decode())


def generate(hosts: tuple[str, ...] = ("127.0.0.1", "localhost")) -> ServingCerts:
    ca = tls.new_ca("sandbox-ca")
    serving = tls.issue(ca, hosts, "kube-apiserver")
    return ServingCerts(ca.cert_pem, serving.cert_pem, serving.key_pem, ca.key_pem,
                        client_certificate(ca, ADMIN_USER, (ADMIN_GROUP,)))


@dataclass(frozen=True)
class KubeletClient:
    """How the API server dials kubelets: kube-apiserver's `--kubelet-client-certificate`
    and `--kubelet-client-key` (`cert`), `--kubelet-certificate-authority` (`ca_pem`)."""

    cert: tls.KeyPair
    ca_pem: bytes

    def context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cadata=self.ca_pem.decode())
        with tempfile.TemporaryDirectory() as tmp:
            cert, key = Path(tmp) / "tls.crt", Path(tmp) / "tls.key"
            cert.write_bytes(self.cert.cert_pem)
            key.write_bytes(self.cert.key_pem)
            ctx.load_cert_chain(cert, key)
        return ctx


def k3s_tls(tls_dir: Path, hosts: tuple[str, ...]) -> tuple[ServingCerts, KubeletClient]:
    """k3s's certificates in `tls_dir` (`<data-dir>/server/tls`): made on first start,
    reused after; the serving certificate is issued for `hosts` on every start."""
    tls_dir.mkdir(parents=True, exist_ok=True)
    stamp = int(time.time())  # k3s names its CAs `k3s-server-ca@<unix time>`
    server_ca = _kept(tls_dir, "server-ca", lambda: tls.new_ca(f"k3s-server-ca@{stamp}"))
    client_ca = _kept(tls_dir, "client-ca", lambda: tls.new_ca(f"k3s-client-ca@{stamp}"))
    # k3s: factory("kube-apiserver", nil, runtime.ClientKubeAPICert, …): no groups.
    kubelet_client = _kept(tls_dir, "client-kube-apiserver",
                           lambda: client_certificate(client_ca, "kube-apiserver", ()))
    serving = tls.issue(server_ca, hosts, "kube-apiserver")
    _write(tls_dir, "serving-kube-apiserver", serving)
    admin = client_certificate(client_ca, ADMIN_USER, (ADMIN_GROUP,))
    return (ServingCerts(server_ca.cert_pem, serving.cert_pem, serving.key_pem,
                         server_ca.key_pem, admin, client_ca.cert_pem),
            KubeletClient(kubelet_client, server_ca.cert_pem))


def _kept(tls_dir: Path, name: str, make: Callable[[], tls.KeyPair]) -> tls.KeyPair:
    cert, key = tls_dir / f"{name}.crt", tls_dir / f"{name}.key"
    if cert.is_file() and key.is_file():
        return tls.KeyPair(cert.read_bytes(), key.read_bytes())
    pair = make()
    _write(tls_dir, name, pair)
    return pair


def _write(tls_dir: Path, name: str, pair: tls.KeyPair) -> None:
    # Each file whole or absent (renamed into place), the key first and private (k3s writes
    # keys 0600): a reader (the syncer) that sees a certificate finds it and its key complete.
    for suffix, data, mode in ((".key", pair.key_pem, 0o600), (".crt", pair.cert_pem, 0o644)):
        partial = tls_dir / f".{name}{suffix}.tmp"
        partial.touch(mode=mode)
        partial.write_bytes(data)
        partial.replace(tls_dir / f"{name}{suffix}")


def client_certificate(ca: tls.KeyPair, user: str, groups: tuple[str, ...]) -> tls.KeyPair:
    """A client certificate as the API server reads it: CN the user, O each group."""
    ca_cert = x509.load_pem_x509_certificate(ca.cert_pem)
    ca_key = serialization.load_pem_private_key(ca.key_pem, password=None)
    now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, g) for g in groups]
                        + [x509.NameAttribute(NameOID.COMMON_NAME, user)])
    cert = (x509.CertificateBuilder()
            .subject_name(subject).issuer_name(ca_cert.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + dt.timedelta(days=365))
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))  # type: ignore[arg-type]
    key_pem = key.private_bytes(serialization.Encoding.PEM,
                                serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption())
    return tls.KeyPair(cert.public_bytes(serialization.Encoding.PEM), key_pem)


def peer_user(peercert: dict[str, object] | None) -> tuple[str, tuple[str, ...]] | None:
    """(user, groups) of a verified client certificate (`ssl` decoded form), or None."""
    if not peercert:
        return None
    user, groups = "", []
    for rdn in peercert.get("subject") or ():  # type: ignore[attr-defined]
        for key, value in rdn:
            if key == "commonName":
                user = value
            elif key == "organizationName":
                groups.append(value)
    return (user, tuple(groups)) if user else None
