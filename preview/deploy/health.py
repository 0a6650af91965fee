"""The preview URL answers: an HTTP(S) request to the Ingress address, not to DNS.

A fresh preview host may not resolve yet (negative caching, slow wildcard records), and
DNS is not what the check is about: it connects to the address in the Ingress status and
sends the URL's host as the Host header and, for https, as SNI, verifying the certificate
against that host with the system CAs (plus `ca_file`), unless `insecure`. Redirects are
answers, not followed: a 301 to a login page is a healthy app when 3xx is expected.

Two failures do not heal by waiting, so they end the check early, saying what was seen:
a certificate that is not trusted (unless it is an ingress's placeholder while the
Ingress's own certificate, which its TLS section promises, may still be issued), and a
gateway error (502/503/504) that lasts: the pods are ready, yet nothing behind the
Ingress answers — `backend` then names the Service and its endpoints.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
from cryptography import x509
from cryptography.x509.oid import NameOID

from preview.deploy.diagnostics import clean
from preview.deploy.ingress import has_tls, host_matches
from preview.deploy.model import IngressAddress, Progress
from preview.errors import PreviewError

ATTEMPT_S = 10.0
RETRY_S = 1.0
GATEWAY_STATUSES = (502, 503, 504)
GATEWAY_GRACE_S = 10.0  # a backend still starting is given this long
TLS_HINT = ("set healthCheck.caFile in preview.yaml to the CA that issued it, give the "
            "Ingress a TLS secret for the host, or set healthCheck.tls: skip")


class HealthCheckFailed(PreviewError):
    """The URL did not answer with an expected status in time; `status` is the last answer."""

    def __init__(self, message: str, status: int | None, hint: str | None = None) -> None:
        super().__init__(message, hint)
        self.status = status


def ssl_context(ca_file: Path | None, insecure: bool) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    if insecure:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    elif ca_file:
        ctx.load_verify_locations(cafile=str(ca_file))
    return ctx


def target(url: str, address: IngressAddress, path: str) -> tuple[str, str, str]:
    """(the URL to connect to, the Host header, the TLS server name) (pure)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PreviewError(f"preview URL {url!r} is not an http(s) URL with a host",
                           "set url in preview.yaml to e.g. https://pr-{{ pr.number }}.{{ domain }}")
    port = address.https_port if parts.scheme == "https" else address.http_port
    where = address.ip_or_hostname
    if ":" in where:
        where = f"[{where}]"  # IPv6
    request_path = path or parts.path or "/"
    if not request_path.startswith("/"):
        request_path = "/" + request_path
    if parts.query and not path:
        request_path += f"?{parts.query}"
    return f"{parts.scheme}://{where}:{port}{request_path}", parts.netloc.rpartition("@")[2], \
        parts.hostname


async def health_check(url: str, address: IngressAddress, path: str, expect: tuple[int, int],
                       timeout_s: float, progress: Progress, *, ca_file: Path | None = None,
                       insecure: bool = False,
                       backend: Callable[[], Awaitable[str]] | None = None) -> int:
    """GET `path` of `url` at `address` until the status is within `expect` (inclusive);
    returns that status, or raises `HealthCheckFailed` after `timeout_s` — or sooner for an
    untrusted certificate and a lasting gateway error (`backend()` says who should answer)."""
    connect_to, host_header, server_name = target(url, address, path)
    shown = f"{urlsplit(url)._replace(path=path or urlsplit(url).path, query='').geturl()}"
    low, high = expect
    deadline = time.monotonic() + timeout_s
    tls = ssl_context(ca_file, insecure) if connect_to.startswith("https") else False
    last_status: int | None = None
    last_line = ""
    gateway_since: float | None = None
    async with aiohttp.ClientSession() as session:
        while True:
            remaining = deadline - time.monotonic()
            try:
                async with session.get(
                        connect_to, headers={"Host": host_header}, allow_redirects=False,
                        ssl=tls, server_hostname=server_name if tls else None,
                        timeout=aiohttp.ClientTimeout(total=max(1.0, min(ATTEMPT_S, remaining)))
                ) as resp:
                    last_status = resp.status
                    location = resp.headers.get("Location", "")
                # the app's Location header is the pull request's text: shown, cleaned
                line = clean(f"GET {shown}: {last_status}"
                             + (f" -> {location}" if location else ""))
            except aiohttp.ClientConnectorCertificateError as e:
                seen, covers = await served_certificate(address, server_name)
                line = clean(f"GET {shown}: the ingress served {seen}, which is not trusted "
                             f"({e.certificate_error})")
                if covers or not has_tls(address, server_name):
                    raise HealthCheckFailed(line, None, TLS_HINT) from None
                # A placeholder while the Ingress's own certificate is being issued.
            except (TimeoutError, aiohttp.ClientError, OSError) as e:
                line = clean(f"GET {shown}: {_reason(e)}")
            if last_status is not None and low <= last_status <= high:
                progress(line)
                return last_status
            if last_status in GATEWAY_STATUSES:
                gateway_since = gateway_since or time.monotonic()
                if time.monotonic() - gateway_since >= GATEWAY_GRACE_S:
                    behind = await backend() if backend is not None else ""
                    raise HealthCheckFailed(
                        f"{line} for {GATEWAY_GRACE_S:g}s: no backend answered the ingress"
                        + (f"; {behind}" if behind else ""), last_status,
                        "the Service must select the app's ready pods and target the port "
                        "the app listens on (kubectl get endpoints in the virtual cluster)")
            else:
                gateway_since = None
            if line != last_line:
                progress(line + " (retrying)")
                last_line = line
            if time.monotonic() + RETRY_S >= deadline:
                raise HealthCheckFailed(
                    f"health check of {shown} failed after {timeout_s:g}s: {line}", last_status,
                    f"the app must answer {low}-{high} on {path or '/'}; change "
                    "healthCheck.path/expectStatus in preview.yaml, or set healthCheck: false")
            last_status = None
            await asyncio.sleep(RETRY_S)


def _reason(e: BaseException) -> str:
    if isinstance(e, TimeoutError):
        return "no answer (timeout)"
    if isinstance(e, aiohttp.ClientConnectorCertificateError):
        return f"TLS certificate not accepted: {e.certificate_error}"
    return str(e) or type(e).__name__


async def served_certificate(address: IngressAddress, server_name: str) -> tuple[str, bool]:
    """What the ingress presents for `server_name`, read without verifying it: ("a
    certificate for NAMES issued by ISSUER", whether it names the host)."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(
            address.ip_or_hostname, address.https_port, ssl=ctx,
            server_hostname=server_name), ATTEMPT_S)
    except (OSError, TimeoutError, ssl.SSLError) as e:
        return f"a certificate that could not be read ({e})", False
    try:
        der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
    finally:
        writer.close()
    return describe_certificate(der, server_name)


def describe_certificate(der: bytes, host: str) -> tuple[str, bool]:
    """("a certificate for NAMES issued by ISSUER", whether NAMES cover `host`) (pure)."""
    cert = x509.load_der_x509_certificate(der)
    try:
        names = cert.extensions.get_extension_for_class(
            x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)
    except x509.ExtensionNotFound:
        names = []
    common = [str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    shown = names or common or ["no name"]
    issuer = [str(a.value) for oid in (NameOID.COMMON_NAME, NameOID.ORGANIZATION_NAME)
              for a in cert.issuer.get_attributes_for_oid(oid)]
    covers = any(host_matches(name.lower(), host.lower()) for name in names)
    listed = ", ".join(shown[:3]) + (f" (+{len(shown) - 3} more)" if len(shown) > 3 else "")
    return f"a certificate for {listed} issued by {issuer[0] if issuer else 'an unnamed CA'}", \
        covers
