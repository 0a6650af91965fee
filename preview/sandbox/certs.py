"""TLS for the emulator: a throwaway CA and a serving certificate for 127.0.0.1.

Clients refuse to send bearer tokens over plain HTTP (client-go does), so the emulator
serves HTTPS like any API server; the CA goes into the kubeconfigs it writes. Every sandbox
has its own CA (see `preview.kube.tls`).
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass

from preview.kube import tls


@dataclass(frozen=True)
class ServingCerts:
    ca_pem: bytes
    cert_pem: bytes
    key_pem: bytes
    # The CA's own key: the host ingress controller issues its HTTPS certificates with it.
    ca_key_pem: bytes = b""

    def __repr__(self) -> str:
        return "ServingCerts(<CA>, <certificate>, <private keys>)"

    def server_context(self) -> ssl.SSLContext:
        return tls.server_context(tls.KeyPair(self.cert_pem, self.key_pem), self.ca_pem)

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cadata=self.ca_pem.decode())


def generate(hosts: tuple[str, ...] = ("127.0.0.1", "localhost")) -> ServingCerts:
    ca = tls.new_ca("sandbox-ca")
    serving = tls.issue(ca, hosts, "kube-apiserver")
    return ServingCerts(ca.cert_pem, serving.cert_pem, serving.key_pem, ca.key_pem)
