"""More `kubectl get` columns: events, endpoints, endpoint slices and the platform kinds.

From the real server's printers (`pkg/printers/internalversion/printers.go`): the same
column names, priorities and cell formats (`formatEndpoints`, `formatDiscoveryPorts`, …).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from preview.sandbox.machinery.objects import dig

Column = tuple[str, str, int, Callable[[dict[str, Any]], Any]]
_MAX = 3


def _more(items: list[str], total: int) -> str:
    text = ",".join(items[:_MAX])
    return f"{text} + {total - _MAX} more..." if total > _MAX else text


# -- events --------------------------------------------------------------------------------------
def _event_times(o: dict[str, Any], age: Callable[[str | None], str]) -> tuple[str, str]:
    first = age(o.get("firstTimestamp")) if o.get("firstTimestamp") else age(o.get("eventTime"))
    last = age(o.get("lastTimestamp")) if o.get("lastTimestamp") else first
    series = o.get("series") or {}
    if series:
        last = age(series.get("lastObservedTime"))
    return first, last


def _event_count(o: dict[str, Any]) -> int:
    series = o.get("series") or {}
    if series:
        return int(series.get("count") or 0)
    return int(o.get("count") or 0) or 1


def _event_source(o: dict[str, Any]) -> str:
    source = o.get("source") or {}
    component = source.get("component") or o.get("reportingComponent") or ""
    host = source.get("host") or o.get("reportingInstance") or ""
    return f"{component}, {host}" if host else component


def _event_object(o: dict[str, Any]) -> str:
    ref = o.get("involvedObject") or {}
    return f"{str(ref.get('kind', '')).lower()}/{ref.get('name', '')}"


def event_columns(age: Callable[[str | None], str]) -> list[Column]:
    """The Event printer's columns: no leading Name (it is a priority-1 column at the end)."""
    return [
        ("Last Seen", "string", 0, lambda o: _event_times(o, age)[1]),
        ("Type", "string", 0, lambda o: o.get("type", "")),
        ("Reason", "string", 0, lambda o: o.get("reason", "")),
        ("Object", "string", 0, _event_object),
        ("Subobject", "string", 1, lambda o: dig(o, "involvedObject", "fieldPath") or ""),
        ("Source", "string", 1, _event_source),
        ("Message", "string", 0, lambda o: str(o.get("message", "")).strip()),
        ("First Seen", "string", 1, lambda o: _event_times(o, age)[0]),
        ("Count", "string", 1, _event_count),
        ("Name", "string", 1, lambda o: o["metadata"]["name"]),
    ]


# -- endpoints and slices -----------------------------------------------------------------------
def _endpoints(o: dict[str, Any]) -> str:
    subsets = o.get("subsets") or []
    if not subsets:
        return "<none>"
    shown: list[str] = []
    total = 0
    for subset in subsets:
        addresses = [a.get("ip", "") for a in subset.get("addresses") or []]
        ports = subset.get("ports") or []
        if not ports:
            total += len(addresses)
            shown += addresses
            continue
        for port in ports:
            total += len(addresses)
            shown += [f"{ip}:{port.get('port')}" for ip in addresses]
    return _more(shown, total)


def _slice_ports(o: dict[str, Any]) -> str:
    ports = o.get("ports") or []
    if not ports:
        return "<unset>"
    shown = [str(p["port"]) if p.get("port") is not None else p.get("name") or "*"
             for p in ports]
    return _more(shown, len(shown))


def _slice_endpoints(o: dict[str, Any]) -> str:
    addresses = [a for e in o.get("endpoints") or [] for a in e.get("addresses") or []]
    if not addresses:
        return "<unset>"
    return _more(addresses, len(addresses))


# -- platform kinds -----------------------------------------------------------------------------
def _csr_condition(o: dict[str, Any]) -> str:
    types = [str(c.get("type")) for c in dig(o, "status", "conditions") or []]
    if dig(o, "status", "certificate"):
        types.append("Issued")
    return ",".join(types) or "Pending"


def _csr_duration(o: dict[str, Any]) -> str:
    seconds = dig(o, "spec", "expirationSeconds")
    if not seconds:
        return "<none>"
    hours, rest = divmod(int(seconds), 3600)
    return f"{hours}h{rest // 60}m" if hours else f"{rest // 60}m{rest % 60}s"


def _apiservice_service(o: dict[str, Any]) -> str:
    service = dig(o, "spec", "service")
    return f"{service.get('namespace')}/{service.get('name')}" if service else "Local"


def _apiservice_available(o: dict[str, Any]) -> str:
    for c in dig(o, "status", "conditions") or []:
        if c.get("type") == "Available":
            return "True" if c.get("status") == "True" else f"{c.get('status')} ({c.get('reason')})"
    return "Unknown"


def _param_kind(o: dict[str, Any]) -> str:
    kind = dig(o, "spec", "paramKind")
    return f"{kind.get('apiVersion')}/{kind.get('kind')}" if kind else "<unset>"


def _param_ref(o: dict[str, Any]) -> str:
    ref = dig(o, "spec", "paramRef")
    if not ref:
        return "<unset>"
    return f"{ref.get('namespace')}/{ref.get('name')}" if ref.get("namespace") else \
        str(ref.get("name") or "*")


def _bool(value: Any) -> str:
    return "true" if value else "false"


def columns(age: Callable[[dict[str, Any]], str]) -> dict[tuple[str, str], list[Column]]:
    """Columns after Name, keyed by (group, kind); `age` renders an object's Age."""
    adm, storage = "admissionregistration.k8s.io", "storage.k8s.io"
    webhooks: list[Column] = [("Webhooks", "integer", 0, lambda o: len(o.get("webhooks") or [])),
                              ("Age", "string", 0, age)]
    return {
        ("", "Endpoints"): [("Endpoints", "string", 0, _endpoints), ("Age", "string", 0, age)],
        ("discovery.k8s.io", "EndpointSlice"): [
            ("AddressType", "string", 0, lambda o: o.get("addressType", "")),
            ("Ports", "string", 0, _slice_ports), ("Endpoints", "string", 0, _slice_endpoints),
            ("Age", "string", 0, age)],
        (adm, "MutatingWebhookConfiguration"): webhooks,
        (adm, "ValidatingWebhookConfiguration"): webhooks,
        (adm, "ValidatingAdmissionPolicy"): [
            ("Validations", "integer", 0, lambda o: len(dig(o, "spec", "validations") or [])),
            ("ParamKind", "string", 0, _param_kind), ("Age", "string", 0, age)],
        (adm, "ValidatingAdmissionPolicyBinding"): [
            ("PolicyName", "string", 0, lambda o: dig(o, "spec", "policyName") or ""),
            ("ParamRef", "string", 0, _param_ref), ("Age", "string", 0, age)],
        ("certificates.k8s.io", "CertificateSigningRequest"): [
            ("Age", "string", 0, age),
            ("SignerName", "string", 0, lambda o: dig(o, "spec", "signerName") or ""),
            ("Requestor", "string", 0, lambda o: dig(o, "spec", "username") or ""),
            ("RequestedDuration", "string", 0, _csr_duration),
            ("Condition", "string", 0, _csr_condition)],
        ("apiregistration.k8s.io", "APIService"): [
            ("Service", "string", 0, _apiservice_service),
            ("Available", "string", 0, _apiservice_available), ("Age", "string", 0, age)],
        (storage, "CSIDriver"): [
            ("AttachRequired", "boolean", 0, lambda o: _bool(dig(o, "spec", "attachRequired"))),
            ("PodInfoOnMount", "boolean", 0, lambda o: _bool(dig(o, "spec", "podInfoOnMount"))),
            ("StorageCapacity", "boolean", 0,
             lambda o: _bool(dig(o, "spec", "storageCapacity"))),
            ("TokenRequests", "string", 0, lambda o: ",".join(
                t.get("audience", "") for t in dig(o, "spec", "tokenRequests") or [])
             or "<unset>"),
            ("RequiresRepublish", "boolean", 0,
             lambda o: _bool(dig(o, "spec", "requiresRepublish"))),
            ("Modes", "string", 0, lambda o: ",".join(
                dig(o, "spec", "volumeLifecycleModes") or []) or "<none>"),
            ("Age", "string", 0, age)],
        (storage, "CSINode"): [
            ("Drivers", "integer", 0, lambda o: len(dig(o, "spec", "drivers") or [])),
            ("Age", "string", 0, age)],
        (storage, "CSIStorageCapacity"): [
            ("StorageClassName", "string", 0, lambda o: o.get("storageClassName", "")),
            ("Capacity", "string", 0, lambda o: o.get("capacity") or "")],
        (storage, "VolumeAttachment"): [
            ("Attacher", "string", 0, lambda o: dig(o, "spec", "attacher") or ""),
            ("PV", "string", 0, lambda o: dig(o, "spec", "source", "persistentVolumeName") or ""),
            ("Node", "string", 0, lambda o: dig(o, "spec", "nodeName") or ""),
            ("Attached", "boolean", 0, lambda o: _bool(dig(o, "status", "attached"))),
            ("Age", "string", 0, age)],
    }
