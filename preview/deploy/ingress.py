"""The address the preview URL is served at: the virtual Ingress's status (copied back from
the host Ingress by the syncer, which the host's ingress controller fills in)."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from typing import Any

from preview.deploy.model import IngressAddress, Progress, VirtualCluster
from preview.errors import PreviewError
from preview.kube.resources import INGRESSES

POLL_S = 1.0


def host_matches(pattern: str, host: str) -> bool:
    """Ingress host matching: exact, or a `*.domain` wildcard covering one label (pure)."""
    if pattern.startswith("*."):
        first, _, rest = host.partition(".")
        return bool(first) and rest == pattern[2:]
    return pattern == host


def serves(ingress: dict[str, Any], host: str) -> bool:
    rules = (ingress.get("spec") or {}).get("rules") or []
    return any(host_matches(str(r.get("host") or ""), host) for r in rules)


def tls_hosts(ingress: dict[str, Any]) -> tuple[str, ...]:
    """The hosts an Ingress provides a certificate for (`spec.tls[].hosts`) (pure)."""
    return tuple(str(host) for entry in (ingress.get("spec") or {}).get("tls") or []
                 for host in entry.get("hosts") or [] if host)


def ingress_hosts(ingresses: list[dict[str, Any]]) -> tuple[str, ...]:
    """Every host the rules of these Ingresses name, sorted, once each; wildcards (`*.x`),
    which no one can open, left out (pure)."""
    return tuple(sorted({str(r["host"]) for i in ingresses
                         for r in (i.get("spec") or {}).get("rules") or []
                         if r.get("host") and not str(r["host"]).startswith("*")}))


def has_tls(address: IngressAddress, host: str) -> bool:
    """Whether the Ingress serving `host` names it in its TLS section (pure)."""
    return any(host_matches(pattern, host) for pattern in address.tls_hosts)


def address_of(ingress: dict[str, Any]) -> IngressAddress | None:
    """The first load-balancer entry in the status, or None while there is none (pure).

    Ports: from the entry's `ports` when published (the sandbox publishes its loopback HTTP
    then HTTPS port there), 80 and 443 otherwise — what an ingress controller listens on.
    """
    entries = (((ingress.get("status") or {}).get("loadBalancer") or {}).get("ingress")) or []
    for entry in entries:
        where = entry.get("ip") or entry.get("hostname")
        if not where:
            continue
        ports = [int(p["port"]) for p in entry.get("ports") or []
                 if p.get("port") and not p.get("error")]
        http, https = 80, 443
        if ports:
            others = [p for p in ports if p not in (80, 443)]
            http = 80 if 80 in ports else (others.pop(0) if others else 80)
            https = 443 if 443 in ports else (others.pop(0) if others else 443)
        return IngressAddress(str(where), http, https)
    return None


async def wait_ingress(vc: VirtualCluster, namespace: str, host: str, timeout_s: float,
                       progress: Progress) -> IngressAddress:
    """Until the Ingress whose rules name `host` has an address in its status."""
    deadline = time.monotonic() + timeout_s
    said = ""
    while True:
        items = (await vc.client.list(INGRESSES, namespace)).get("items") or []
        matching = sorted((i for i in items if serves(i, host)),
                          key=lambda i: i["metadata"]["name"])
        for ingress in matching:
            found = address_of(ingress)
            if found:
                found = dataclasses.replace(found, ingress=ingress["metadata"]["name"],
                                            tls_hosts=tls_hosts(ingress),
                                            hosts=ingress_hosts(items))
                progress(f"ingress/{ingress['metadata']['name']} has address "
                         f"{found.ip_or_hostname} (http {found.http_port}, "
                         f"https {found.https_port})")
                return found
        line = (f"waiting for an address on ingress/{matching[0]['metadata']['name']}"
                if matching else f"waiting for an Ingress with host {host} in {namespace}")
        if line != said:
            progress(line)
            said = line
        if time.monotonic() >= deadline:
            raise _timeout(namespace, host, timeout_s, items, bool(matching))
        await asyncio.sleep(POLL_S)


def _timeout(namespace: str, host: str, timeout_s: float, items: list[dict[str, Any]],
             matched: bool) -> PreviewError:
    if matched:
        return PreviewError(f"the Ingress for {host} got no address within {timeout_s:g}s",
                            "check that the host cluster's ingress controller handles the "
                            "Ingress's class (kubectl get ingressclass on the host)")
    hosts = sorted({str(r.get("host")) for i in items
                    for r in (i.get("spec") or {}).get("rules") or [] if r.get("host")})
    seen = f" (Ingress hosts there: {', '.join(hosts)})" if hosts else ""
    return PreviewError(f"no Ingress in namespace {namespace} serves {host}{seen}",
                        "make the chart's Ingress use the preview host, e.g. in preview.yaml "
                        "set: [\"ingress.host={{ env.host }}\"]")
