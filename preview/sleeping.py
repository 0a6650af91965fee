"""What sleeping and waking do to one workload: merge patches, worked out without I/O.

Sleep takes an environment's pods away without losing what made them: every workload gets
the patch that stops its pods and an annotation recording exactly what it changed, and wake
applies the reverse patch from that annotation (`naming.SLEEP_*`):

- Deployment, StatefulSet, ReplicaSet: `spec.replicas` to 0, the count before it kept
  (a ReplicaSet that a Deployment controls is left to its Deployment);
- CronJob and Job: `spec.suspend` true, the value before it kept (a suspended Job's
  controller deletes its active pods; a finished Job is left alone, it runs nothing);
- DaemonSet (no replicas to scale): its pod template's `nodeSelector` replaced by a label
  no node carries (`naming.ASLEEP_NODE_LABEL`), so the controller removes its pods and the
  syncer then removes their host copies; the selector before it kept as JSON.

A workload that already carries the annotation is asleep: `sleep_patch` leaves it (running
sleep twice does not record 0 as the count to restore) and `wake_patch` restores it. The
control plane's StatefulSet on the host is a StatefulSet like any other.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from preview import naming

SCALED = ("Deployment", "StatefulSet", "ReplicaSet")
SUSPENDED = ("CronJob", "Job")
KINDS = (*SCALED, *SUSPENDED, "DaemonSet")
_MARKS = (naming.SLEEP_REPLICAS, naming.SLEEP_SUSPEND, naming.SLEEP_NODE_SELECTOR)


def _notes(obj: dict[str, Any]) -> dict[str, str]:
    return dict((obj.get("metadata") or {}).get("annotations") or {})


def is_asleep(obj: dict[str, Any]) -> bool:
    """Whether sleep changed this workload (it carries one of the sleep annotations)."""
    return any(mark in _notes(obj) for mark in _MARKS)


def _controlled(obj: dict[str, Any]) -> bool:
    return any(ref.get("controller") for ref in
               (obj.get("metadata") or {}).get("ownerReferences") or [])


def _finished(job: dict[str, Any]) -> bool:
    return any(c.get("type") in ("Complete", "Failed") and c.get("status") == "True"
               for c in (job.get("status") or {}).get("conditions") or [])


def bare_pods(pods: list[dict[str, Any]]) -> list[str]:
    """`namespace/name` of each running pod that no controller owns (pure): sleep cannot stop
    one without deleting it, and nothing would bring it back on wake, so sleep refuses such
    an environment before changing anything. A finished pod runs nothing: not counted."""
    return sorted(f"{p['metadata'].get('namespace', '')}/{p['metadata']['name']}"
                  for p in pods if not _controlled(p)
                  and (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed"))


def sleep_patch(kind: str, obj: dict[str, Any]) -> dict[str, Any] | None:
    """The merge patch that stops `obj`'s pods and records how to restore them; None when
    there is nothing to do (asleep already, controlled by another workload, finished)."""
    if kind not in KINDS:
        raise ValueError(f"sleep does not handle kind {kind!r} (it handles {', '.join(KINDS)})")
    if is_asleep(obj):
        return None
    spec = obj.get("spec") or {}
    if kind in SCALED:
        if kind == "ReplicaSet" and _controlled(obj):
            return None
        replicas = spec.get("replicas")
        replicas = 1 if replicas is None else int(replicas)  # the API's default
        return {"metadata": {"annotations": {naming.SLEEP_REPLICAS: str(replicas)}},
                "spec": {"replicas": 0}}
    if kind in SUSPENDED:
        if kind == "Job" and (_finished(obj) or _controlled(obj)):
            return None  # a CronJob's Job: suspending the CronJob stops new ones
        before = "true" if spec.get("suspend") else "false"
        return {"metadata": {"annotations": {naming.SLEEP_SUSPEND: before}},
                "spec": {"suspend": True}}
    selector = dict(((spec.get("template") or {}).get("spec") or {}).get("nodeSelector") or {})
    replaced: dict[str, Any] = {key: None for key in selector}
    replaced[naming.ASLEEP_NODE_LABEL] = "true"
    return {"metadata": {"annotations": {
                naming.SLEEP_NODE_SELECTOR: json.dumps(selector, sort_keys=True)}},
            "spec": {"template": {"spec": {"nodeSelector": replaced}}}}


def wake_patch(kind: str, obj: dict[str, Any]) -> dict[str, Any] | None:
    """The merge patch that restores what `sleep_patch` recorded, removing the record; None
    when `obj` is not asleep. A record that cannot be read is a ValueError naming it."""
    notes = _notes(obj)
    name = f"{kind} {(obj.get('metadata') or {}).get('name', '')}"
    if kind in SCALED and naming.SLEEP_REPLICAS in notes:
        recorded = notes[naming.SLEEP_REPLICAS]
        if not recorded.isdigit():
            raise ValueError(f"{name}: annotation {naming.SLEEP_REPLICAS}={recorded!r} is not "
                             "a replica count; set spec.replicas yourself and remove it")
        return {"metadata": {"annotations": {naming.SLEEP_REPLICAS: None}},
                "spec": {"replicas": int(recorded)}}
    if kind in SUSPENDED and naming.SLEEP_SUSPEND in notes:
        return {"metadata": {"annotations": {naming.SLEEP_SUSPEND: None}},
                "spec": {"suspend": notes[naming.SLEEP_SUSPEND] == "true"}}
    if kind == "DaemonSet" and naming.SLEEP_NODE_SELECTOR in notes:
        try:
            selector = json.loads(notes[naming.SLEEP_NODE_SELECTOR])
            if not isinstance(selector, dict):
                raise ValueError("not an object")
        except ValueError as e:
            raise ValueError(f"{name}: annotation {naming.SLEEP_NODE_SELECTOR} is not a "
                             f"JSON object ({e}); restore spec.template.spec.nodeSelector "
                             "yourself and remove it") from None
        restored: dict[str, Any] = {naming.ASLEEP_NODE_LABEL: None, **selector}
        return {"metadata": {"annotations": {naming.SLEEP_NODE_SELECTOR: None}},
                "spec": {"template": {"spec": {"nodeSelector": restored}}}}
    return None


@dataclass(frozen=True)
class Idle:
    """Whether the idle pass puts an environment to sleep, and why (for people)."""

    namespace: str
    sleep: bool
    reason: str


def idle(record: naming.EnvironmentRecord, now: dt.datetime, sleep_after: int | None,
         keep_label: str) -> Idle:
    """The idle pass's decision for one environment (pure; the lock is checked after: an
    environment being deployed is skipped when its Lease is held)."""
    def verdict(sleep: bool, reason: str) -> Idle:
        return Idle(record.namespace, sleep, reason)

    if record.terminating:
        return verdict(False, "being deleted")
    if record.asleep_since:
        return verdict(False, f"asleep since {record.asleep_since}")
    if record.labels.get(keep_label, "false").lower() != "false":
        return verdict(False, f"labelled {keep_label}={record.labels[keep_label]}")
    if sleep_after is None:
        return verdict(False, "the policy's sleepAfter is off")
    since = record.last_activity or record.created_at
    try:
        moment = dt.datetime.fromisoformat(since.replace("Z", "+00:00"))
    except ValueError:
        return verdict(False, f"no readable time of last activity ({since!r})")
    quiet = int((now - moment).total_seconds())
    if quiet < sleep_after:
        return verdict(False, f"active {quiet}s ago (sleepAfter {sleep_after}s)")
    return verdict(True, f"no activity for {quiet}s (sleepAfter {sleep_after}s)")


# -- the wake page: the environment's host Ingresses while asleep ----------------------------------
def _backends(spec: dict[str, Any]) -> list[dict[str, Any]]:
    found = [spec["defaultBackend"]] if spec.get("defaultBackend") else []
    return found + [p["backend"] for r in spec.get("rules") or []
                    for p in (r.get("http") or {}).get("paths") or [] if p.get("backend")]


def backend_services(spec: dict[str, Any]) -> tuple[str, ...]:
    """The Services an Ingress spec sends requests to (sorted, once each)."""
    return tuple(sorted({str(b["service"]["name"]) for b in _backends(spec)
                         if (b.get("service") or {}).get("name")}))


def ingress_hosts(ingress: dict[str, Any]) -> tuple[str, ...]:
    """The hosts of an Ingress's rules, lower case (a rule without a host is left out)."""
    return tuple(str(r["host"]).lower() for r in (ingress.get("spec") or {}).get("rules") or []
                 if r.get("host"))


def wake_page_spec(spec: dict[str, Any], port: int) -> dict[str, Any]:
    """`spec` with every request going to the wake Service (pure): the same class, hosts and
    TLS (the certificate keeps working), each rule one `/` Prefix path, and a default backend
    where there was one."""
    backend = {"service": {"name": naming.WAKE_SERVICE, "port": {"number": port}}}
    out = {k: v for k, v in spec.items() if k not in ("rules", "defaultBackend")}
    if spec.get("defaultBackend"):
        out["defaultBackend"] = backend
    out["rules"] = [{**({"host": r["host"]} if r.get("host") else {}),
                     "http": {"paths": [{"path": "/", "pathType": "Prefix",
                                         "backend": backend}]}}
                    for r in spec.get("rules") or []]
    if not out["rules"]:
        del out["rules"]
    return out


def asleep_ingress(ingress: dict[str, Any], port: int) -> dict[str, Any] | None:
    """The host Ingress pointed at the wake page, its spec before recorded (pure); None when
    it carries the record already (sleeping twice keeps the first)."""
    meta = ingress["metadata"]
    notes = dict(meta.get("annotations") or {})
    if naming.SLEEP_INGRESS in notes:
        return None
    spec = ingress.get("spec") or {}
    notes[naming.SLEEP_INGRESS] = json.dumps(spec, sort_keys=True, separators=(",", ":"))
    labels = {**(meta.get("labels") or {}), naming.WAKE_PAGE: "true"}
    return {**ingress, "metadata": {**meta, "annotations": notes, "labels": labels},
            "spec": wake_page_spec(spec, port)}


def recorded_spec(ingress: dict[str, Any]) -> dict[str, Any] | None:
    """The spec sleep recorded on a host Ingress (None: no record); a record that cannot be
    read is a ValueError naming the Ingress and the fix."""
    raw = ((ingress.get("metadata") or {}).get("annotations") or {}).get(naming.SLEEP_INGRESS)
    if raw is None:
        return None
    try:
        spec = json.loads(raw)
        if not isinstance(spec, dict):
            raise ValueError("not an object")
    except ValueError as e:
        name = (ingress.get("metadata") or {}).get("name", "")
        raise ValueError(f"Ingress {name}: annotation {naming.SLEEP_INGRESS} is not a JSON "
                         f"object ({e}); remove it (the syncer then restores the spec)"
                         ) from None
    return spec


def awake_ingress(ingress: dict[str, Any]) -> dict[str, Any] | None:
    """The host Ingress with the spec sleep recorded, record and label removed (pure); None
    when it has no record."""
    spec = recorded_spec(ingress)
    if spec is None:
        return None
    meta = ingress["metadata"]
    notes = {k: v for k, v in (meta.get("annotations") or {}).items()
             if k != naming.SLEEP_INGRESS}
    labels = {k: v for k, v in (meta.get("labels") or {}).items() if k != naming.WAKE_PAGE}
    return {**ingress, "metadata": {**meta, "annotations": notes, "labels": labels},
            "spec": spec}


def wake_service(namespace: str, target: str, port: int,
                 labels: dict[str, str]) -> dict[str, Any]:
    """The ExternalName Service the sleeping Ingresses point at: `target:port`, the platform
    API's wake listener as the ingress controller reaches it (pure)."""
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": naming.WAKE_SERVICE, "namespace": namespace,
                         "labels": {**labels, "app.kubernetes.io/component": "wake-page"}},
            "spec": {"type": "ExternalName", "externalName": target,
                     "ports": [{"name": "http", "port": port, "targetPort": port,
                                "protocol": "TCP"}]}}
