"""The GC's own way to delete an environment: its host namespace, and nothing not ours.

`preview down` (preview.operations) is the full teardown; the GC operation injects it. This
is the fallback the executor uses without it, and the one way the GC unblocks a namespace
stuck Terminating: finalizers are removed only from objects that carry our labels, and a
foreign object's finalizer is reported, never touched.
"""

from __future__ import annotations

import logging
from typing import Any

from preview import naming
from preview.errors import PreviewError
from preview.gc.collect import NAMESPACES
from preview.gc.model import HostEnvironment
from preview.kube.client import KubeClient
from preview.kube.objects import dig
from preview.kube.resources import VCLUSTER_KINDS

log = logging.getLogger(__name__)
# Kinds an environment's namespace holds (the chart's and the syncer's copies): where a
# blocking finalizer can sit.
CONTENT_KINDS = VCLUSTER_KINDS


def is_ours(obj: dict[str, Any]) -> bool:
    """Whether an object inside an environment was made by us (chart, syncer or `up`)."""
    labels = dig(obj, "metadata", "labels", default=None) or {}
    return labels.get(naming.MANAGED_BY) in (naming.MANAGED_BY_VALUE, naming.SYNCER_VALUE) or \
        labels.get("app.kubernetes.io/part-of") == naming.MANAGED_BY_VALUE


async def delete_environment(host: KubeClient, env: HostEnvironment) -> str:
    """Delete the environment's namespace (or push a stuck deletion on); what was done."""
    name = env.record.namespace
    ns = await host.get(NAMESPACES, None, name)
    if ns is None:
        return "already gone"
    if not naming.is_environment(ns):
        raise PreviewError(f"namespace {name} is not a preview environment (labels changed)",
                           "it was left alone; check who relabelled it")
    if env.uid and dig(ns, "metadata", "uid") != env.uid:
        raise PreviewError(f"namespace {name} was re-created since the GC read it",
                           "it was left alone; the next run judges the new one")
    if not dig(ns, "metadata", "deletionTimestamp"):
        await host.delete(NAMESPACES, None, name, uid=env.uid or None,
                          propagation="Background")
        return "namespace deletion requested"
    released, foreign = await release_finalizers(host, name)
    parts = [f"released finalizers of {', '.join(released)}" if released else
             "no finalizer of ours was blocking"]
    if foreign:
        parts.append(f"still blocked by objects not ours: {', '.join(foreign)}")
    return "; ".join(parts)


async def release_finalizers(host: KubeClient, namespace: str) -> tuple[list[str], list[str]]:
    """Remove finalizers from our deleted-but-blocked objects; (released, foreign blockers)."""
    released: list[str] = []
    foreign: list[str] = []
    for kind in CONTENT_KINDS:
        items = (await host.list(kind, namespace)).get("items") or []
        for obj in items:
            meta = obj.get("metadata") or {}
            if not meta.get("deletionTimestamp") or not meta.get("finalizers"):
                continue
            ref = f"{kind.kind}/{meta.get('name')}"
            if not is_ours(obj):
                foreign.append(f"{ref} ({', '.join(meta['finalizers'])})")
                continue
            # resourceVersion makes the patch fail rather than drop a finalizer added since.
            await host.patch(kind, namespace, meta["name"], {"metadata": {
                "finalizers": None, "resourceVersion": meta.get("resourceVersion")}})
            log.warning("gc: removed finalizers %s of %s in %s", meta["finalizers"], ref,
                        namespace)
            released.append(ref)
    return released, foreign
