"""preview/deploy/backend.py: which Service an Ingress sends the URL to, and its endpoints."""

from __future__ import annotations

from typing import Any

import pytest

from preview.deploy.backend import backend_for, endpoints_text

INGRESS: dict[str, Any] = {"spec": {
    "defaultBackend": {"service": {"name": "fallback", "port": {"number": 80}}},
    "rules": [
        {"host": "other.example.com", "http": {"paths": [
            {"path": "/", "pathType": "Prefix",
             "backend": {"service": {"name": "other", "port": {"number": 80}}}}]}},
        {"host": "*.preview.example.com", "http": {"paths": [
            {"path": "/", "pathType": "Prefix",
             "backend": {"service": {"name": "web", "port": {"name": "http"}}}},
            {"path": "/api", "pathType": "Prefix",
             "backend": {"service": {"name": "api", "port": {"number": 8080}}}},
            {"path": "/exact", "pathType": "Exact",
             "backend": {"service": {"name": "exact", "port": {"number": 1}}}}]}},
    ]}}


@pytest.mark.parametrize(("host", "path", "backend"), [
    ("pr-1.preview.example.com", "/", ("web", "http")),
    ("pr-1.preview.example.com", "/api/v1", ("api", "8080")),
    ("pr-1.preview.example.com", "/apix", ("web", "http")),  # a prefix is a path element
    ("pr-1.preview.example.com", "/exact", ("exact", "1")),
    ("pr-1.preview.example.com", "/exact/more", ("web", "http")),
    ("other.example.com", "/x", ("other", "80")),
    ("unknown.example.com", "/", ("fallback", "80")),
])
def test_the_backend_a_controller_picks(host: str, path: str,
                                        backend: tuple[str, str]) -> None:
    assert backend_for(INGRESS, host, path) == backend


def test_no_backend_without_a_rule_or_default() -> None:
    assert backend_for({"spec": {"rules": []}}, "a.example.com", "/") is None


def test_endpoints_text() -> None:
    endpoints = {"subsets": [{"addresses": [{"ip": "10.0.0.5"}, {"ip": "10.0.0.6"}],
                              "notReadyAddresses": [{"ip": "10.0.0.7"}],
                              "ports": [{"name": "http", "port": 8080}]}]}
    assert endpoints_text(endpoints, "http") == \
        "2 ready endpoints (10.0.0.5:8080, 10.0.0.6:8080), 1 not ready"
    assert endpoints_text({"subsets": []}, "http") == "no ready endpoints"
    assert endpoints_text(None, "") == "no ready endpoints"
