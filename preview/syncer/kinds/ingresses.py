"""Ingresses: the preview URL. Backends and TLS Secrets point at the host copies.

An Ingress references its TLS Secrets (copied even with `sync.configs: referenced`) and its
backend Services. The isolation policy keeps each virtual cluster to its own hosts and keeps
configuration snippets out of the shared ingress controller (policy.ingress). While the
environment sleeps, the host copy's spec is sleep's (`keep_wake_page`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from preview import naming
from preview.syncer import policy
from preview.syncer.context import SyncContext
from preview.syncer.engine.kind import Kind, Obj, Translation
from preview.syncer.engine.reconcile import host_status
from preview.syncer.objects import clone, host_metadata, reserved_violations
from preview.syncer.resources import INGRESSES


def translate(virtual_ing: Obj, ctx: SyncContext, _facts: Any = None) -> Translation:
    namespace = virtual_ing["metadata"]["namespace"]
    spec = clone(virtual_ing.get("spec") or {})
    meta = host_metadata(virtual_ing, ctx)
    stripped = [*reserved_violations(virtual_ing),
                *policy.ingress(meta["annotations"], spec, ctx.isolation)]
    for backend in _backends(spec):
        if backend.get("service", {}).get("name"):
            backend["service"]["name"] = naming.host_name(
                backend["service"]["name"], namespace, ctx.vcluster, naming.DNS_LABEL_MAX)
    for tls in spec.get("tls") or []:
        if tls.get("secretName"):
            tls["secretName"] = naming.host_name(tls["secretName"], namespace, ctx.vcluster)
    return Translation({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
                        "metadata": meta, "spec": spec}, tuple(stripped))


def _backends(spec: dict[str, Any]) -> Iterator[dict[str, Any]]:
    if spec.get("defaultBackend"):
        yield spec["defaultBackend"]
    for rule in spec.get("rules") or []:
        for path in (rule.get("http") or {}).get("paths") or []:
            if path.get("backend"):
                yield path["backend"]


def references(virtual_ing: Obj) -> set[tuple[str, str]]:
    """The TLS Secrets and backend Services an Ingress uses."""
    spec = virtual_ing.get("spec") or {}
    refs = {("secrets", t["secretName"]) for t in spec.get("tls") or [] if t.get("secretName")}
    refs |= {("services", b["service"]["name"]) for b in _backends(spec)
             if (b.get("service") or {}).get("name")}
    return refs


def keep_wake_page(wanted: Obj, host: Obj) -> None:
    """A host copy that sleep pointed at the wake page keeps that spec until wake restores
    the one it recorded (`preview/operations/wake_page.py`): the syncer starts with the
    control plane, before the app's pods are ready, and the URL should answer with the
    wake page until they are, not with the ingress controller's 503."""
    if naming.SLEEP_INGRESS in (host["metadata"].get("annotations") or {}):
        wanted["spec"] = clone(host.get("spec") or {})


INGRESS_KIND = Kind("ingresses", INGRESSES, naming.DNS_SUBDOMAIN_MAX, translate, (("spec",),),
                    references=references, keep=keep_wake_page,
                    status=host_status(("loadBalancer",)), events=True)
