"""How the host ingress picks a backend: host, path type, precedence, defaults, endpoints."""

from __future__ import annotations

from typing import Any

import pytest

from preview.sandbox.ingress.routes import (
    Backend,
    Endpoint,
    decide,
    default_backends,
    external_name,
    host_matches,
    ready_endpoints,
    request_host,
    routes,
    service_port,
)


def ingress(name: str, rules: list[dict[str, Any]], *, created: str = "2026-01-01T00:00:00Z",
            default: str | None = None, tls: list[str] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"rules": rules}
    if default:
        spec["defaultBackend"] = {"service": {"name": default, "port": {"number": 80}}}
    if tls:
        spec["tls"] = [{"hosts": tls, "secretName": "cert"}]
    return {"metadata": {"name": name, "namespace": "ns", "creationTimestamp": created},
            "spec": spec}


def rule(host: str, *paths: tuple[str, str, str]) -> dict[str, Any]:
    return {"host": host, "http": {"paths": [
        {"path": p, "pathType": t, "backend": {"service": {"name": s, "port": {"name": "http"}}}}
        for p, t, s in paths]}}


def service_for(ingresses: list[dict[str, Any]], host: str, path: str) -> str | None:
    decision = decide(routes(ingresses), default_backends(ingresses), host, path)
    return decision.backend.service if decision.backend else None


@pytest.mark.parametrize(("pattern", "host", "expected"), [
    ("app.example.com", "app.example.com", True),
    ("APP.example.com", "app.example.com", True),
    ("*.example.com", "a.example.com", True),
    ("*.example.com", "example.com", False),
    ("*.example.com", "a.b.example.com", False),
    ("app.example.com", "other.example.com", False),
])
def test_host_matching(pattern: str, host: str, expected: bool) -> None:
    assert host_matches(pattern, host) is expected


@pytest.mark.parametrize(("header", "host"), [
    ("pr-1-app.localhost:8080", "pr-1-app.localhost"), ("Example.COM", "example.com"),
    ("[::1]:80", "[::1]"), ("127.0.0.1:443", "127.0.0.1")])
def test_request_host_drops_port_and_case(header: str, host: str) -> None:
    assert request_host(header) == host


PATHS = [ingress("web", [rule("app.example.com",
                              ("/", "Prefix", "root"),
                              ("/api", "Prefix", "api"),
                              ("/api/v2", "Prefix", "api-v2"),
                              ("/login", "Exact", "login"),
                              ("/static", "ImplementationSpecific", "static"))])]


@pytest.mark.parametrize(("path", "service"), [
    ("/", "root"), ("/about", "root"),
    ("/api", "api"), ("/api/", "api"), ("/api/users", "api"),
    ("/apiary", "root"),                     # Prefix matches whole path elements only
    ("/api/v2/x", "api-v2"),                 # longest prefix wins
    ("/login", "login"), ("/login/x", "root"),  # Exact is exact
    ("/staticfiles", "static"),              # ImplementationSpecific: nginx string prefix
])
def test_path_types_and_longest_match(path: str, service: str) -> None:
    assert service_for(PATHS, "app.example.com", path) == service


def test_exact_beats_prefix_of_the_same_path() -> None:
    ings = [ingress("a", [rule("h", ("/x", "Prefix", "prefix"), ("/x", "Exact", "exact"))])]
    assert service_for(ings, "h", "/x") == "exact"
    assert service_for(ings, "h", "/x/y") == "prefix"


def test_exact_host_then_wildcard_then_catch_all() -> None:
    ings = [ingress("a", [rule("app.example.com", ("/", "Prefix", "exact")),
                          rule("*.example.com", ("/", "Prefix", "wild")),
                          rule("", ("/", "Prefix", "any"))])]
    assert service_for(ings, "app.example.com", "/") == "exact"
    assert service_for(ings, "other.example.com", "/") == "wild"
    assert service_for(ings, "deep.other.example.com", "/") == "any"
    assert service_for(ings, "127.0.0.1", "/") == "any"


def test_a_host_without_a_matching_path_does_not_fall_through() -> None:
    # ingress-nginx: the server for the host answers; its missing location is a 404,
    # not the catch-all server's backend.
    ings = [ingress("a", [rule("h", ("/only", "Exact", "only")), rule("", ("/", "Prefix", "any"))])]
    assert service_for(ings, "h", "/else") is None


def test_oldest_ingress_wins_a_conflict() -> None:
    newer = ingress("newer", [rule("h", ("/", "Prefix", "new"))], created="2026-02-01T00:00:00Z")
    older = ingress("older", [rule("h", ("/", "Prefix", "old"))], created="2026-01-01T00:00:00Z")
    assert service_for([newer, older], "h", "/") == "old"


def test_default_backend_for_its_hosts_and_unmatched_hosts() -> None:
    ings = [ingress("a", [rule("h", ("/api", "Prefix", "api"))], default="fallback")]
    assert service_for(ings, "h", "/api") == "api"
    assert service_for(ings, "h", "/other") == "fallback"
    assert service_for(ings, "unknown.example.com", "/") == "fallback"
    assert service_for([ingress("b", [rule("h", ("/api", "Prefix", "api"))])],
                       "unknown.example.com", "/") is None


def test_tls_hosts_are_redirected() -> None:
    ings = [ingress("a", [rule("secure.example.com", ("/", "Prefix", "s")),
                          rule("plain.example.com", ("/", "Prefix", "p"))],
                    tls=["secure.example.com"])]
    table, defaults = routes(ings), default_backends(ings)
    assert decide(table, defaults, "secure.example.com", "/").redirect_https
    assert not decide(table, defaults, "plain.example.com", "/").redirect_https


def test_port_by_number_or_name_and_resource_backends() -> None:
    ing = {"metadata": {"name": "a", "namespace": "ns"}, "spec": {"rules": [{"host": "h", "http": {
        "paths": [
            {"path": "/n", "pathType": "Prefix",
             "backend": {"service": {"name": "s", "port": {"number": 8080}}}},
            {"path": "/r", "pathType": "Prefix",
             "backend": {"resource": {"apiGroup": "x", "kind": "Bucket", "name": "b"}}}]}}]}}
    table = routes([ing])
    assert table[0].backend == Backend("ns", "a", "s", 8080)
    assert table[1].backend.resource == "Bucket"
    service = {"spec": {"ports": [{"name": "http", "port": 80, "targetPort": "web"},
                                  {"name": "admin", "port": 8080}]}}
    assert service_port(service, "http") == service["spec"]["ports"][0]
    assert service_port(service, 8080) == service["spec"]["ports"][1]
    assert service_port(service, 9999) is None


def endpoint(pod: str, ready: bool | None) -> dict[str, Any]:
    conditions = {} if ready is None else {"ready": ready}
    return {"addresses": ["10.0.0.1"], "conditions": conditions,
            "targetRef": {"kind": "Pod", "name": pod}}


def test_ready_endpoints_from_slices() -> None:
    slices = [{"ports": [{"name": "http", "port": 8080}, {"name": "admin", "port": 9000}],
               "endpoints": [endpoint("a", True), endpoint("b", None), endpoint("c", False)]}]
    assert ready_endpoints({"name": "http"}, slices, None) == [
        Endpoint("a", 8080), Endpoint("b", 8080)]
    assert ready_endpoints({"name": "admin"}, slices, None) == [
        Endpoint("a", 9000), Endpoint("b", 9000)]
    assert ready_endpoints({"name": "other"}, slices, None) == []


def test_ready_endpoints_from_endpoints_without_slices() -> None:
    endpoints = {"subsets": [{"ports": [{"name": "", "port": 8080}],
                              "addresses": [{"ip": "1", "targetRef": {"kind": "Pod", "name": "a"}}],
                              "notReadyAddresses": [
                                  {"ip": "2", "targetRef": {"kind": "Pod", "name": "b"}}]}]}
    assert ready_endpoints({"port": 80}, [], endpoints) == [Endpoint("a", 8080)]


@pytest.mark.parametrize(("name", "port", "expected"), [
    # ingress-nginx: the externalName and the port's targetPort (the API defaults it to port)
    ("api.platform.svc.cluster.local", {"port": 80, "targetPort": 8081},
     ("api.platform.svc.cluster.local", 8081)),
    ("api.example.", {"port": 8081}, ("api.example", 8081)),
    ("10.1.2.3", {"port": 80, "targetPort": 80}, ("10.1.2.3", 80)),
    ("127.0.0.1", {"port": 80, "targetPort": 80}, ("127.0.0.1", 80)),  # the sandbox allows it
    ("Not_A_Name", {"port": 80}, "externalName 'Not_A_Name' is not a DNS name"),
    ("api.example", {"name": "http", "port": 80, "targetPort": "web"},
     "port http: targetPort 'web' is not a port number"),
])
def test_external_name_backends(name: str, port: dict[str, Any],
                                expected: tuple[str, int] | str) -> None:
    found = external_name({"spec": {"type": "ExternalName", "externalName": name}}, port)
    if isinstance(expected, str):
        assert isinstance(found, str) and found.startswith(expected)
    else:
        assert found == expected
