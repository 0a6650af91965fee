"""The preview URL on a real-like ingress, through `preview up` on the host sandbox: the
scheme follows the Ingress's TLS section, a certificate the check cannot trust and a
backend that does not answer fail fast, saying what was seen."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from preview.sandbox.runner import Sandbox
from tests.operations.test_environments import SHA1, preview, up

pytestmark = [pytest.mark.sandbox, pytest.mark.tools]
ROOT = Path(__file__).resolve().parents[2]


def repository(tmp_path: Path, extra: str = "") -> Path:
    """The example app as a repository of its own, with the default URL (no `url:`)."""
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "examples" / "app", repo)
    config = repo / "preview.yaml"
    text = "\n".join(line for line in config.read_text().splitlines()
                     if not line.startswith("url:"))
    config.write_text(text + "\n" + extra)
    return config


ADMIN_INGRESS = """apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: {{ include "app.fullname" . }}-admin
spec:
  rules:
    - host: admin-{{ .Values.ingress.host }}
      http:
        paths:
          - path: /
            pathType: Prefix
            backend:
              service:
                name: {{ include "app.fullname" . }}
                port:
                  name: http
"""


def test_without_tls_the_default_url_is_http_and_answers(sandbox: Sandbox,
                                                         tmp_path: Path) -> None:
    config = repository(tmp_path)
    # A second Ingress of the release: its host comes back beside the URL, for the comment.
    (config.parent / "chart" / "templates" / "admin-ingress.yaml").write_text(ADMIN_INGRESS)
    result = up(sandbox, config, "example/plain", 41, SHA1)
    assert result["status"] == "ready", result
    assert result["url"] == f"http://pr-41-plain.localhost:{sandbox.ingress_http_port}"
    assert result["other_urls"] == [
        f"http://admin-pr-41-plain.localhost:{sandbox.ingress_http_port}"]
    preview(sandbox, "down", "--repo", "example/plain", "--pr", "41")


def test_with_tls_the_url_is_https_checked_against_the_given_ca(sandbox: Sandbox,
                                                                tmp_path: Path) -> None:
    tls = "set: [ingress.tls.secretName=app-tls]\n"
    config = repository(tmp_path, tls)
    # The sandbox's ingress certificates come from its own CA, which nothing trusts yet.
    started = time.monotonic()
    failed = up(sandbox, config, "example/secure", 42, SHA1, code=1)
    assert failed["status"] == "failed"
    summary = failed["diagnostics"]["summary"]
    assert "the ingress served a certificate for pr-42-secure.localhost issued by" in summary, \
        summary
    assert "healthCheck.caFile" in summary
    assert failed["phases"]["health"] < 10 and time.monotonic() - started < 120
    # The platform's CA as healthCheck.caFile: the same URL passes.
    (config.parent / "ca.pem").write_bytes(sandbox.ca_pem)
    config.write_text(config.read_text().replace(
        "healthCheck:\n", "healthCheck:\n  caFile: ca.pem\n"))
    result = up(sandbox, config, "example/secure", 42, SHA1)
    assert result["status"] == "ready", result
    assert result["url"] == f"https://pr-42-secure.localhost:{sandbox.ingress_https_port}"
    preview(sandbox, "down", "--repo", "example/secure", "--pr", "42")


def test_a_backend_that_does_not_answer_is_named(sandbox: Sandbox, tmp_path: Path) -> None:
    # An image the sandbox does not run for real: the container is Ready, nothing listens.
    config = repository(tmp_path, "set: [image.repository=registry.example/silent]\n")
    failed: dict[str, Any] = up(sandbox, config, "example/silent", 43, SHA1, code=1)
    summary = failed["diagnostics"]["summary"]
    assert ": 502 for 10s: no backend answered the ingress; ingress/app sends " \
           "pr-43-silent.localhost/ to service/app port http, which has 1 ready endpoint" \
        in summary, summary
    assert "no failing pods found" not in summary
    assert failed["phases"]["health"] < 30  # the timeout is 60 s
    preview(sandbox, "down", "--repo", "example/silent", "--pr", "43")

