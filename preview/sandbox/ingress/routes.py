"""Which backend an HTTP request reaches through the host's Ingresses, as ingress-nginx decides.

Pure functions over Ingress, Service and EndpointSlice/Endpoints dicts; the serving side is
`proxy.py`. The rules follow ingress-nginx (its nginx.tmpl servers and locations)
and the Ingress API's path semantics (networking/v1 `HTTPIngressPath`):

- host: the request's Host (port and case dropped) picks a server: a rule's exact host
  first, then a `*.` wildcard host (one DNS label: `*.foo.com` matches `a.foo.com`, not
  `foo.com` nor `a.b.foo.com`), then the catch-all server of rules without a host;
- path, within that server: an `Exact` path equal to the request's path wins; otherwise the
  longest matching `Prefix` (element-wise: `/foo` matches `/foo` and `/foo/bar`, not
  `/foobar`) or `ImplementationSpecific` path (nginx's plain string prefix) wins; between
  Ingresses claiming the same host and path, the oldest Ingress wins (ingress-nginx's rule);
- nothing matches: the `spec.defaultBackend` of an Ingress of the chosen server's host (or,
  on the catch-all server, of any Ingress), else the controller's 404;
- an ExternalName backend Service is proxied to its name and target port (`external_name`);
- a backend Service's ready endpoints come from its EndpointSlices (`conditions.ready`
  unset counts as ready), or from its Endpoints when it has no slices.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

SERVICE_NAME_LABEL = "kubernetes.io/service-name"
_DNS_NAME = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*")


@dataclass(frozen=True)
class Backend:
    """A Service port behind an Ingress (`port` a number or a port name)."""

    namespace: str
    ingress: str
    service: str = ""
    port: int | str = ""
    resource: str = ""  # a `resource` backend (ingress-nginx serves none)


@dataclass(frozen=True)
class Route:
    """One host + path of an Ingress rule."""

    host: str  # "" for any host, "*.example.com" for a wildcard
    path: str
    path_type: str
    backend: Backend
    tls: bool  # the host is in the Ingress's spec.tls: plain HTTP is redirected


@dataclass(frozen=True)
class Decision:
    """Where a request goes: a backend, or None for the 404 default server."""

    backend: Backend | None
    redirect_https: bool = False


@dataclass(frozen=True)
class Endpoint:
    """A ready pod behind a Service and the port to reach on it."""

    pod: str
    port: int


def _age(ingress: dict[str, Any]) -> tuple[str, str, str]:
    meta = ingress["metadata"]
    return (str(meta.get("creationTimestamp") or ""), str(meta.get("namespace") or ""),
            str(meta.get("name") or ""))


def _backend(namespace: str, ingress: str, spec: dict[str, Any]) -> Backend:
    service = spec.get("service")
    if service:
        port = service.get("port") or {}
        number = port.get("number")
        return Backend(namespace, ingress, str(service.get("name") or ""),
                       int(number) if number else str(port.get("name") or ""))
    resource = spec.get("resource") or {}
    return Backend(namespace, ingress, resource=str(resource.get("kind") or "resource"))


def host_matches(pattern: str, host: str) -> bool:
    """An Ingress host (exact or `*.` wildcard of one label) against a request host."""
    pattern = pattern.lower()
    if pattern.startswith("*."):
        head, _, rest = host.partition(".")
        return bool(head) and rest == pattern[2:]
    return pattern == host


def routes(ingresses: Iterable[dict[str, Any]]) -> list[Route]:
    """Every host + path of the Ingresses, oldest Ingress first."""
    out: list[Route] = []
    for ingress in sorted(ingresses, key=_age):
        meta, spec = ingress["metadata"], ingress.get("spec") or {}
        namespace, name = str(meta.get("namespace") or ""), str(meta["name"])
        tls_hosts = [str(h) for t in spec.get("tls") or [] for h in t.get("hosts") or []]
        for rule in spec.get("rules") or []:
            host = str(rule.get("host") or "").lower()
            tls = bool(host) and any(host_matches(t, host) or t.lower() == host
                                     for t in tls_hosts)
            for path in (rule.get("http") or {}).get("paths") or []:
                out.append(Route(host, str(path.get("path") or "/"),
                                 str(path.get("pathType") or "ImplementationSpecific"),
                                 _backend(namespace, name, path.get("backend") or {}), tls))
    return out


def default_backends(ingresses: Iterable[dict[str, Any]]) -> list[tuple[set[str], Backend]]:
    """(hosts of the Ingress's rules, its spec.defaultBackend), oldest Ingress first."""
    out = []
    for ingress in sorted(ingresses, key=_age):
        spec = ingress.get("spec") or {}
        if spec.get("defaultBackend"):
            meta = ingress["metadata"]
            hosts = {str(r.get("host") or "").lower() for r in spec.get("rules") or []}
            out.append((hosts, _backend(str(meta.get("namespace") or ""), str(meta["name"]),
                                        spec["defaultBackend"])))
    return out


def path_matches(route: Route, path: str) -> int | None:
    """How long a match `route` makes with `path` (None: no match)."""
    if route.path_type == "Exact":
        return len(route.path) if path == route.path else None
    if route.path_type == "Prefix":
        prefix = route.path.rstrip("/")
        if not prefix or path == prefix or path.startswith(prefix + "/"):
            return len(prefix)
        return None
    return len(route.path) if path.startswith(route.path) else None


def request_host(header: str) -> str:
    """The Host header without its port, lower case (IPv6 literals keep their brackets)."""
    host = header.strip().lower()
    if host.startswith("["):
        return host.split("]", 1)[0] + "]"
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def decide(table: Sequence[Route], defaults: Sequence[tuple[set[str], Backend]],
           host: str, path: str) -> Decision:
    """The backend of a request for `host` (already `request_host`) and `path`."""
    server = ""
    if any(r.host == host for r in table):
        server = host
    else:
        wildcard = next((r.host for r in table
                         if r.host.startswith("*.") and host_matches(r.host, host)), None)
        server = wildcard or ""
    candidates = [r for r in table if r.host == server]
    exact = next((r for r in candidates if r.path_type == "Exact" and r.path == path), None)
    best, best_len = exact, -1
    if best is None:
        for route in candidates:
            length = path_matches(route, path)
            if length is not None and route.path_type != "Exact" and length > best_len:
                best, best_len = route, length
    if best is not None:
        return Decision(best.backend, best.tls)
    for hosts, backend in defaults:
        if server in hosts or server == "":
            tls = any(r.tls for r in candidates if r.backend.ingress == backend.ingress
                      and r.backend.namespace == backend.namespace)
            return Decision(backend, tls)
    return Decision(None, any(r.tls for r in candidates))


# -- endpoints ----------------------------------------------------------------------------------
def external_name(service: dict[str, Any], port: dict[str, Any]) -> tuple[str, int] | str:
    """Where ingress-nginx sends a request for an ExternalName Service's port: its
    `externalName` (a DNS-1123 name or an IP address) and the port's `targetPort` number
    (the API defaults it to `port`); otherwise why not. ingress-nginx refuses `localhost`
    and loopback addresses there; the sandbox does not, as every server of a development
    machine listens on loopback (docs/sandbox.md)."""
    name = str((service.get("spec") or {}).get("externalName") or "").rstrip(".")
    target = port.get("targetPort", port.get("port"))
    if not isinstance(target, int) or not 0 < target < 65536:
        return f"port {port.get('name') or port.get('port')}: targetPort {target!r} is not a " \
               "port number (an ExternalName Service has no pods to name a port)"
    try:
        ipaddress.ip_address(name)
    except ValueError:
        if not _DNS_NAME.fullmatch(name) or len(name) > 253:
            return f"externalName {name!r} is not a DNS name"
    return name, target


def service_port(service: dict[str, Any], port: int | str) -> dict[str, Any] | None:
    """The ServicePort an Ingress backend names (by number or by name)."""
    for p in (service.get("spec") or {}).get("ports") or []:
        if (isinstance(port, int) and p.get("port") == port) or \
                (isinstance(port, str) and p.get("name") == port):
            return dict(p)
    return None


def ready_endpoints(service_port_: dict[str, Any], slices: Sequence[dict[str, Any]],
                    endpoints: dict[str, Any] | None) -> list[Endpoint]:
    """The ready pods behind a Service port, with the pod port to reach (sorted by pod)."""
    name = str(service_port_.get("name") or "")
    found: set[Endpoint] = set()
    for s in slices:
        ports = [int(p["port"]) for p in s.get("ports") or []
                 if str(p.get("name") or "") == name and p.get("port")]
        if not ports:
            continue
        for endpoint in s.get("endpoints") or []:
            ready = (endpoint.get("conditions") or {}).get("ready")
            ref = endpoint.get("targetRef") or {}
            if ready is not False and ref.get("kind") == "Pod":
                found.add(Endpoint(str(ref["name"]), ports[0]))
    if not slices and endpoints is not None:
        for subset in endpoints.get("subsets") or []:
            ports = [int(p["port"]) for p in subset.get("ports") or []
                     if str(p.get("name") or "") == name and p.get("port")]
            if not ports:
                continue
            for address in subset.get("addresses") or []:  # notReadyAddresses are skipped
                ref = address.get("targetRef") or {}
                if ref.get("kind") == "Pod":
                    found.add(Endpoint(str(ref["name"]), ports[0]))
    return sorted(found, key=lambda e: (e.pod, e.port))
