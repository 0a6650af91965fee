"""Server-side printing: the `meta.k8s.io/v1` Table that `kubectl get` asks for.

kubectl sends `Accept: application/json;as=Table;v=v1;g=meta.k8s.io, application/json`
and prints the server's columns; the columns here follow the real server's printers
(`pkg/printers/internalversion`) for the common kinds, `Name`/`Age` for the rest.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from preview.sandbox.apiserver.endpoints import tables_more
from preview.sandbox.machinery.objects import dig, parse_time
from preview.sandbox.machinery.resources import ResourceType

Column = tuple[str, str, int, Callable[[dict[str, Any]], Any]]  # name, type, priority, getter


def wants_table(accept: str) -> bool:
    return any("as=Table" in part and "g=meta.k8s.io" in part for part in accept.split(","))


def human_age(timestamp: str | None) -> str:
    """kubectl's `duration.HumanDuration` for an object's age."""
    if not timestamp:
        return "<unknown>"
    seconds = int((dt.datetime.now(dt.UTC) - parse_time(timestamp)).total_seconds())
    if seconds < 0:
        return "<invalid>"
    if seconds < 120:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 10:
        s = seconds % 60
        return f"{minutes}m{s}s" if s else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 8:
        m = minutes % 60
        return f"{hours}h{m}m" if m else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    days = hours // 24
    if hours < 24 * 8:
        h = hours % 24
        return f"{days}d{h}h" if h else f"{days}d"
    if days < 365 * 2:
        return f"{days}d"
    return f"{days // 365}y"


def _name(o: dict[str, Any]) -> str:
    return str(o["metadata"]["name"])


def _age(o: dict[str, Any]) -> str:
    return human_age(o["metadata"].get("creationTimestamp"))


def _pod_ready(o: dict[str, Any]) -> str:
    statuses = dig(o, "status", "containerStatuses") or []
    total = len(dig(o, "spec", "containers") or [])
    return f"{sum(1 for s in statuses if s.get('ready'))}/{total}"


def _pod_status(o: dict[str, Any]) -> str:
    if o["metadata"].get("deletionTimestamp"):
        return "Terminating"
    for s in dig(o, "status", "containerStatuses") or []:
        waiting = (s.get("state") or {}).get("waiting")
        if waiting and waiting.get("reason"):
            return str(waiting["reason"])
        terminated = (s.get("state") or {}).get("terminated")
        if terminated and terminated.get("reason"):
            return str(terminated["reason"])
    return str(dig(o, "status", "reason") or dig(o, "status", "phase") or "Pending")


def _restarts(o: dict[str, Any]) -> int:
    return sum(int(s.get("restartCount", 0)) for s in dig(o, "status", "containerStatuses") or [])


def _ports(o: dict[str, Any]) -> str:
    out = []
    for p in dig(o, "spec", "ports") or []:
        s = f"{p.get('port')}"
        if p.get("nodePort"):
            s += f":{p['nodePort']}"
        out.append(f"{s}/{p.get('protocol', 'TCP')}")
    return ",".join(out) or "<none>"


def _external_ip(o: dict[str, Any]) -> str:
    ingress = dig(o, "status", "loadBalancer", "ingress") or []
    ips = [i.get("ip") or i.get("hostname") for i in ingress]
    if ips:
        return ",".join(str(i) for i in ips if i)
    if dig(o, "spec", "type") == "LoadBalancer":
        return "<pending>"
    return ",".join(dig(o, "spec", "externalIPs") or []) or "<none>"


_COLUMNS: dict[tuple[str, str], list[Column]] = {
    ("", "Pod"): [("Ready", "string", 0, _pod_ready), ("Status", "string", 0, _pod_status),
                  ("Restarts", "string", 0, lambda o: str(_restarts(o))),
                  ("Age", "string", 0, _age),
                  ("IP", "string", 1, lambda o: dig(o, "status", "podIP") or "<none>"),
                  ("Node", "string", 1, lambda o: dig(o, "spec", "nodeName") or "<none>")],
    ("", "Namespace"): [("Status", "string", 0, lambda o: dig(o, "status", "phase") or ""),
                        ("Age", "string", 0, _age)],
    ("", "Service"): [("Type", "string", 0, lambda o: dig(o, "spec", "type") or "ClusterIP"),
                      ("Cluster-IP", "string", 0, lambda o: dig(o, "spec", "clusterIP") or ""),
                      ("External-IP", "string", 0, _external_ip),
                      ("Port(s)", "string", 0, _ports), ("Age", "string", 0, _age)],
    ("", "Node"): [("Status", "string", 0, lambda o: "Ready" if any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in dig(o, "status", "conditions") or []) else "NotReady"),
        ("Roles", "string", 0, lambda o: "<none>"), ("Age", "string", 0, _age),
        ("Version", "string", 0, lambda o: dig(o, "status", "nodeInfo", "kubeletVersion") or "")],
    ("apps", "Deployment"): [
        ("Ready", "string", 0, lambda o: f"{dig(o, 'status', 'readyReplicas') or 0}/"
                                         f"{dig(o, 'spec', 'replicas') or 0}"),
        ("Up-to-date", "integer", 0, lambda o: dig(o, "status", "updatedReplicas") or 0),
        ("Available", "integer", 0, lambda o: dig(o, "status", "availableReplicas") or 0),
        ("Age", "string", 0, _age)],
    ("apps", "ReplicaSet"): [
        ("Desired", "integer", 0, lambda o: dig(o, "spec", "replicas") or 0),
        ("Current", "integer", 0, lambda o: dig(o, "status", "replicas") or 0),
        ("Ready", "integer", 0, lambda o: dig(o, "status", "readyReplicas") or 0),
        ("Age", "string", 0, _age)],
    ("apps", "StatefulSet"): [
        ("Ready", "string", 0, lambda o: f"{dig(o, 'status', 'readyReplicas') or 0}/"
                                         f"{dig(o, 'spec', 'replicas') or 0}"),
        ("Age", "string", 0, _age)],
    ("", "ConfigMap"): [("Data", "integer", 0, lambda o: len(o.get("data") or {})
                         + len(o.get("binaryData") or {})), ("Age", "string", 0, _age)],
    ("", "Secret"): [("Type", "string", 0, lambda o: o.get("type", "Opaque")),
                     ("Data", "integer", 0, lambda o: len(o.get("data") or {})),
                     ("Age", "string", 0, _age)],
}


_COLUMNS.update(tables_more.columns(_age))


def _columns(rt: ResourceType) -> list[Column]:
    if (rt.group, rt.kind) == ("", "Event"):
        return tables_more.event_columns(human_age)
    return [("Name", "string", 0, _name), *_COLUMNS.get((rt.group, rt.kind),
                                                        [("Age", "string", 0, _age)])]


def _row(rt: ResourceType, obj: dict[str, Any], include: str) -> dict[str, Any]:
    row: dict[str, Any] = {"cells": [getter(obj) for _, _, _, getter in _columns(rt)]}
    if include == "Object":
        row["object"] = obj
    elif include != "None":
        row["object"] = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                         "metadata": obj["metadata"]}
    return row


def _table(rt: ResourceType, items: list[dict[str, Any]], meta: dict[str, Any],
           include: str) -> dict[str, Any]:
    columns = [{"name": name, "type": typ, "format": "name" if name == "Name" and not prio else "",
                "description": "", "priority": prio} for name, typ, prio, _ in _columns(rt)]
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": meta,
            "columnDefinitions": columns, "rows": [_row(rt, o, include) for o in items]}


def render(rt: ResourceType, obj: dict[str, Any], accept: str,
           query: dict[str, str]) -> dict[str, Any] | None:
    """A Table for a get or list when the client asked for one, else None."""
    if not wants_table(accept):
        return None
    include = query.get("includeObject", "Metadata")
    if "items" in obj and obj.get("kind", "").endswith("List"):
        return _table(rt, obj["items"], dict(obj.get("metadata") or {}), include)
    return _table(rt, [obj], {"resourceVersion": obj["metadata"].get("resourceVersion", "")},
                  include)


def renderer(rt: ResourceType, accept: str,
             query: dict[str, str]) -> Callable[[dict[str, Any]], dict[str, Any]] | None:
    """For watches: turns each event's object into a one-row Table when asked."""
    if not wants_table(accept):
        return None
    include = query.get("includeObject", "Metadata")
    return lambda obj: _table(rt, [obj], {"resourceVersion": obj["metadata"].get(
        "resourceVersion", "")}, include)
