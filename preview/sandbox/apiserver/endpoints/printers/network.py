"""Cells of Services, Ingresses, IngressClasses, Endpoints and EndpointSlices, as upstream's
`printService`, `printIngress`, `formatEndpoints` and `formatDiscovery*` compute them.

The server prints with `Wide: true` (pkg/printers/storage), so load-balancer addresses are
never cut at 16 characters here: that clipping applies only to client-side printing.
"""

from __future__ import annotations

from typing import Any

from preview.sandbox.apiserver.endpoints.printers.formats import Obj, more
from preview.sandbox.machinery.objects import dig


def _load_balancer(ingress: list[dict[str, Any]] | None) -> str:
    """`loadBalancerStatusStringer`: each IP (else hostname), sorted and unique."""
    found = {str(i.get("ip") or i.get("hostname")) for i in ingress or []
             if i.get("ip") or i.get("hostname")}
    return ",".join(sorted(found))


def service_cluster_ip(o: Obj) -> str:
    ips = dig(o, "spec", "clusterIPs") or []
    return str(ips[0]) if ips else "<none>"


def service_external_ip(o: Obj) -> str:
    """`getServiceExternalIP`: `<none>`, `<pending>`, the balancer's and external IPs."""
    kind = dig(o, "spec", "type") or "ClusterIP"
    external = [str(ip) for ip in dig(o, "spec", "externalIPs") or []]
    if kind in ("ClusterIP", "NodePort"):
        return ",".join(external) or "<none>"
    if kind == "LoadBalancer":
        balancer = _load_balancer(dig(o, "status", "loadBalancer", "ingress"))
        if external:
            return ",".join([*(balancer.split(",") if balancer else []), *external])
        return balancer or "<pending>"
    if kind == "ExternalName":
        return str(dig(o, "spec", "externalName") or "")
    return "<unknown>"


def service_ports(o: Obj) -> str:
    """`makePortString`: `80/TCP,443:30443/TCP`, `<none>` for none."""
    out = []
    for p in dig(o, "spec", "ports") or []:
        node = f":{p['nodePort']}" if p.get("nodePort") else ""
        out.append(f"{p.get('port')}{node}/{p.get('protocol') or 'TCP'}")
    return ",".join(out) or "<none>"


def ingress_class(o: Obj) -> str:
    return str(dig(o, "spec", "ingressClassName") or "<none>")


def ingress_hosts(o: Obj) -> str:
    """`formatHosts`: the first three rules' hosts, `+ N more...`, `*` for none."""
    rules = dig(o, "spec", "rules") or []
    shown: list[str] = []
    cut = False
    for rule in rules:
        if len(shown) == 3:
            cut = True
        if not cut and rule.get("host"):
            shown.append(str(rule["host"]))
    if not shown:
        return "*"
    return f"{','.join(shown)} + {len(rules) - 3} more..." if cut else ",".join(shown)


def ingress_address(o: Obj) -> str:
    return _load_balancer(dig(o, "status", "loadBalancer", "ingress"))


def ingress_ports(o: Obj) -> str:
    return "80, 443" if dig(o, "spec", "tls") else "80"


def ingress_class_parameters(o: Obj) -> str:
    params = dig(o, "spec", "parameters")
    if not params:
        return "<none>"
    kind = str(params.get("kind", ""))
    if params.get("apiGroup") is not None:
        kind += f".{params['apiGroup']}"
    return f"{kind}/{params.get('name', '')}"


# -- endpoints and slices -------------------------------------------------------------------------
def endpoints(o: Obj) -> str:
    """`formatEndpoints`: `ip:port` of each address and port, three at most."""
    subsets = o.get("subsets") or []
    if not subsets:
        return "<none>"
    shown: list[str] = []
    total = 0
    for subset in subsets:
        addresses = [str(a.get("ip", "")) for a in subset.get("addresses") or []]
        ports = subset.get("ports") or []
        if not ports:
            total += len(addresses)
            shown += addresses
            continue
        for port in ports:
            total += len(addresses)
            shown += [f"[{ip}]:{port.get('port')}" if ":" in ip else f"{ip}:{port.get('port')}"
                      for ip in addresses]
    return more(shown, total)


def slice_ports(o: Obj) -> str:
    ports = o.get("ports") or []
    shown = [str(p["port"]) if p.get("port") is not None else str(p.get("name") or "*")
             for p in ports]
    return more(shown, len(shown)) or "<unset>"


def slice_endpoints(o: Obj) -> str:
    addresses = [str(a) for e in o.get("endpoints") or [] for a in e.get("addresses") or []]
    return more(addresses, len(addresses)) or "<unset>"
