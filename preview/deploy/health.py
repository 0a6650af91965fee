"""The preview URL answers: an HTTP(S) request to the Ingress address, not to DNS.

A fresh preview host may not resolve yet (negative caching, slow wildcard records), and
DNS is not what the check is about: it connects to the address in the Ingress status and
sends the URL's host as the Host header and, for https, as SNI, verifying the certificate
against that host with the system CAs (plus `ca_file`), unless `insecure`. Redirects are
answers, not followed: a 301 to a login page is a healthy app when 3xx is expected.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp

from preview.deploy.diagnostics import clean
from preview.deploy.model import IngressAddress, Progress
from preview.errors import PreviewError

ATTEMPT_S = 10.0
RETRY_S = 1.0


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
                       insecure: bool = False) -> int:
    """GET `path` of `url` at `address` until the status is within `expect` (inclusive);
    returns that status, or raises `HealthCheckFailed` after `timeout_s`."""
    connect_to, host_header, server_name = target(url, address, path)
    shown = f"{urlsplit(url)._replace(path=path or urlsplit(url).path, query='').geturl()}"
    low, high = expect
    deadline = time.monotonic() + timeout_s
    tls = ssl_context(ca_file, insecure) if connect_to.startswith("https") else False
    last_status: int | None = None
    last_line = ""
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
            except (TimeoutError, aiohttp.ClientError, OSError) as e:
                line = clean(f"GET {shown}: {_reason(e)}")
            if last_status is not None and low <= last_status <= high:
                progress(line)
                return last_status
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
