"""Pure decisions shared by the Endpoints and EndpointSlice controllers.

Which pods back a Service and on which ports, as `pkg/controller/util/endpoint`:
a pod counts when it matches the selector, has an IP and has not finished; a service port's
`targetPort` is a number, or the name of a container port of that pod (a pod lacking the
name is skipped for that port); `publishNotReadyAddresses` makes every such pod ready.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from preview.sandbox.controllers.podutil import is_ready, is_terminating

HEADLESS_LABEL = "service.kubernetes.io/headless"
# A tuple of (name, port, protocol, appProtocol) per service port that resolved.
PortSet = tuple[tuple[str, int, str, str], ...]


def selector_of(svc: dict[str, Any]) -> dict[str, str]:
    return dict((svc.get("spec") or {}).get("selector") or {})


def is_headless(svc: dict[str, Any]) -> bool:
    return (svc.get("spec") or {}).get("clusterIP") == "None"


def selects(svc: dict[str, Any], pod: dict[str, Any]) -> bool:
    selector = selector_of(svc)
    if not selector or svc["metadata"].get("namespace") != pod["metadata"].get("namespace"):
        return False
    labels = pod["metadata"].get("labels") or {}
    return all(labels.get(k) == v for k, v in selector.items())


def should_include(pod: dict[str, Any], include_terminating: bool) -> bool:
    """ShouldPodBeInEndpoints: an IP, not finished, and (unless asked) not terminating."""
    status = pod.get("status") or {}
    if not status.get("podIP"):
        return False
    if status.get("phase") in ("Succeeded", "Failed"):
        return False
    return include_terminating or not is_terminating(pod)


def resolve_port(svc_port: dict[str, Any], pod: dict[str, Any]) -> int | None:
    """FindPort: the pod's port a service port's targetPort means, or None."""
    target = svc_port.get("targetPort", svc_port.get("port"))
    protocol = svc_port.get("protocol", "TCP")
    if isinstance(target, int):
        return target
    if isinstance(target, str) and target.isdigit():
        return int(target)
    for c in (pod.get("spec") or {}).get("containers") or []:
        for p in c.get("ports") or []:
            if p.get("name") == target and p.get("protocol", "TCP") == protocol:
                return int(p["containerPort"])
    return None


def port_set(svc: dict[str, Any], pod: dict[str, Any]) -> PortSet:
    out = []
    for sp in (svc.get("spec") or {}).get("ports") or []:
        port = resolve_port(sp, pod)
        if port is not None:
            out.append((sp.get("name", ""), port, sp.get("protocol", "TCP"),
                        sp.get("appProtocol", "")))
    return tuple(out)


def hostname(svc: dict[str, Any], pod: dict[str, Any]) -> str:
    """A pod's hostname is published when its subdomain names the service."""
    spec = pod.get("spec") or {}
    if spec.get("hostname") and spec.get("subdomain") == svc["metadata"]["name"]:
        return str(spec["hostname"])
    return ""


def target_ref(pod: dict[str, Any]) -> dict[str, Any]:
    meta = pod["metadata"]
    return {"kind": "Pod", "namespace": meta.get("namespace", ""), "name": meta["name"],
            "uid": meta.get("uid", "")}


@dataclass(frozen=True)
class Backend:
    """One pod as an endpoint of a service."""

    pod: dict[str, Any]
    ip: str
    ports: PortSet
    ready: bool
    serving: bool
    terminating: bool


def backends(svc: dict[str, Any], pods: list[dict[str, Any]],
             include_terminating: bool) -> list[Backend]:
    """The service's endpoints, ordered by IP then name, with their conditions."""
    publish = bool((svc.get("spec") or {}).get("publishNotReadyAddresses"))
    has_ports = bool((svc.get("spec") or {}).get("ports"))
    out = []
    for pod in pods:
        if not selects(svc, pod) or not should_include(pod, include_terminating or publish):
            continue
        ports = port_set(svc, pod)
        if has_ports and not ports:
            continue  # no service port resolves on this pod
        terminating = is_terminating(pod)
        serving = is_ready(pod)
        ready = publish or (serving and not terminating)
        out.append(Backend(pod, str(pod["status"]["podIP"]), ports, ready, serving or publish,
                           terminating))
    out.sort(key=lambda b: (_ip_key(b.ip), b.pod["metadata"]["name"]))
    return out


def _ip_key(ip: str) -> tuple[int, ...]:
    try:
        return tuple(int(p) for p in ip.split("."))
    except ValueError:
        return (1 << 16,)


def endpoints_subsets(svc: dict[str, Any], pods: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`Endpoints.subsets`: pods grouped by the ports they serve, ready or not."""
    groups: dict[PortSet, dict[str, list[dict[str, Any]]]] = {}
    for b in backends(svc, pods, include_terminating=False):
        address: dict[str, Any] = {"ip": b.ip}
        name = hostname(svc, b.pod)
        if name:
            address["hostname"] = name
        node = (b.pod.get("spec") or {}).get("nodeName")
        if node:
            address["nodeName"] = node
        address["targetRef"] = target_ref(b.pod)
        group = groups.setdefault(b.ports, {"addresses": [], "notReadyAddresses": []})
        group["addresses" if b.ready else "notReadyAddresses"].append(address)
    subsets = []
    for ports, group in sorted(groups.items()):
        subset: dict[str, Any] = {k: v for k, v in group.items() if v}
        if ports:
            subset["ports"] = [_port(p) for p in ports]
        subsets.append(subset)
    return subsets


def _port(p: tuple[str, int, str, str]) -> dict[str, Any]:
    name, port, protocol, app_protocol = p
    out: dict[str, Any] = {"port": port, "protocol": protocol}
    if name:
        out["name"] = name
    if app_protocol:
        out["appProtocol"] = app_protocol
    return out


def slice_port(p: tuple[str, int, str, str]) -> dict[str, Any]:
    """EndpointSlice ports always carry a name (empty when the service port has none)."""
    name, port, protocol, app_protocol = p
    out: dict[str, Any] = {"name": name, "port": port, "protocol": protocol}
    if app_protocol:
        out["appProtocol"] = app_protocol
    return out


def service_labels(svc: dict[str, Any]) -> dict[str, str]:
    """The labels an Endpoints object copies from its service (plus the headless marker)."""
    labels = dict(svc["metadata"].get("labels") or {})
    if is_headless(svc):
        labels[HEADLESS_LABEL] = ""
    return labels
