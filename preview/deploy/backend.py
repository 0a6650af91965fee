"""Who should have answered: the Service behind the preview URL and its endpoints.

When the ingress answers 502/503/504 the app's pods are ready, yet nothing behind the
Ingress answered: the reason is almost always the Service (wrong port, a selector that
matches nothing) or an app that does not listen where its Service says. This names them.
"""

from __future__ import annotations

from typing import Any

from preview.deploy.ingress import host_matches
from preview.deploy.model import VirtualCluster
from preview.kube.client import ApiError
from preview.kube.resources import ENDPOINTS, INGRESSES, SERVICES


def backend_for(ingress: dict[str, Any], host: str, path: str) -> tuple[str, str] | None:
    """(Service name, port) the Ingress sends `host` + `path` to, as a controller picks it:
    the longest matching path of a rule for the host, else the default backend (pure)."""
    spec = ingress.get("spec") or {}
    best: tuple[int, dict[str, Any]] | None = None
    for rule in spec.get("rules") or []:
        if rule.get("host") and not host_matches(str(rule["host"]), host):
            continue
        for entry in (rule.get("http") or {}).get("paths") or []:
            prefix = str(entry.get("path") or "/")
            exact = entry.get("pathType") == "Exact"
            matches = path == prefix if exact else (
                path == prefix or path.startswith(prefix.rstrip("/") + "/") or prefix == "/")
            if matches and (best is None or len(prefix) > best[0]):
                best = (len(prefix), entry.get("backend") or {})
    backend = best[1] if best else spec.get("defaultBackend") or {}
    service = backend.get("service") or {}
    if not service.get("name"):
        return None
    port = service.get("port") or {}
    return str(service["name"]), str(port.get("number") or port.get("name") or "")


def endpoints_text(endpoints: dict[str, Any] | None, port: str) -> str:
    """`2 ready endpoints (10.0.0.5:8080, …), 1 not ready` (pure)."""
    ready: list[str] = []
    not_ready = 0
    for subset in (endpoints or {}).get("subsets") or []:
        ports = subset.get("ports") or []
        numbers = [str(p.get("port")) for p in ports
                   if not port or str(p.get("name") or "") == port or len(ports) == 1]
        shown = numbers[0] if numbers else "?"
        ready += [f"{a.get('ip')}:{shown}" for a in subset.get("addresses") or []]
        not_ready += len(subset.get("notReadyAddresses") or [])
    if not ready:
        text = "no ready endpoints"
    else:
        listed = ", ".join(ready[:3]) + (", …" if len(ready) > 3 else "")
        text = f"{len(ready)} ready endpoint{'s' if len(ready) > 1 else ''} ({listed})"
    return text + (f", {not_ready} not ready" if not_ready else "")


async def describe(vc: VirtualCluster, namespace: str, ingress_name: str, host: str,
                   path: str) -> str:
    """One sentence: the Ingress, the Service it sends the URL to, and that Service's
    endpoints (or what is missing)."""
    try:
        ingress = await vc.client.get(INGRESSES, namespace, ingress_name)
        if ingress is None:
            return f"ingress/{ingress_name} is gone"
        found = backend_for(ingress, host, path)
        if found is None:
            return f"ingress/{ingress_name} has no Service backend for {host}{path}"
        name, port = found
        sent = f"ingress/{ingress_name} sends {host}{path} to service/{name} port {port}"
        service = await vc.client.get(SERVICES, namespace, name)
        if service is None:
            return f"{sent}, which does not exist in namespace {namespace}"
        if port.isdigit():
            target = next((str(p.get("targetPort", port)) for p in
                           (service.get("spec") or {}).get("ports") or []
                           if str(p.get("port")) == port), "")
            if not target:
                return f"{sent}, which has no port {port}"
        endpoints = await vc.client.get(ENDPOINTS, namespace, name)
        port_name = next((str(p.get("name") or "") for p in
                          (service.get("spec") or {}).get("ports") or []
                          if str(p.get("port")) == port or p.get("name") == port), "")
        return f"{sent}, which has {endpoints_text(endpoints, port_name)}"
    except ApiError as e:
        return f"(could not read the Ingress's backend: {e.message})"
