"""TLS for the emulator: a throwaway CA, a serving certificate for 127.0.0.1, and the admin's
client certificate.

Clients refuse to send bearer tokens over plain HTTP (client-go does), so the emulator
serves HTTPS like any API server; the CA goes into the kubeconfigs it writes. Every sandbox
has its own CA (see `preview.kube.tls`). As kubeadm (and so kind) does, the admin
kubeconfig carries a client certificate for `kubernetes-admin` in the group
`kubeadm:cluster-admins`; the server asks for (and verifies against its CA) client
certificates but accepts connections without one.
"""

from __future__ import annotations

import datetime as dt
import ssl
from dataclasses import dataclass

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

    def __repr__(self) -> str:
        return "ServingCerts(<CA>, <certificate>, <private keys>)"

    def server_context(self) -> ssl.SSLContext:
        ctx = tls.server_context(tls.KeyPair(self.cert_pem, self.key_pem), self.ca_pem)
        ctx.verify_mode = ssl.CERT_OPTIONAL
        ctx.load_verify_locations(cadata=self.ca_pem.decode())
        return ctx

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cadata=self.ca_pem.decode())


def generate(hosts: tuple[str, ...] = ("127.0.0.1", "localhost")) -> ServingCerts:
    ca = tls.new_ca("sandbox-ca")
    serving = tls.issue(ca, hosts, "kube-apiserver")
    return ServingCerts(ca.cert_pem, serving.cert_pem, serving.key_pem, ca.key_pem,
                        client_certificate(ca, ADMIN_USER, (ADMIN_GROUP,)))


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
