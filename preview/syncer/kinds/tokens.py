"""The virtual ServiceAccount token a synced pod mounts, kept in a host Secret.

The token is requested from the *virtual* API server (TokenRequest bound to the virtual pod)
so in-cluster clients in the pod act as its virtual ServiceAccount; it is renewed at 80 % of
its lifetime. The Secret lives and dies with its pod (`token-for-pod` annotation).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from preview import naming
from preview.kube.client import Conflict
from preview.kube.objects import parse_time
from preview.syncer.context import SyncContext
from preview.syncer.resources import SECRETS

if TYPE_CHECKING:
    from preview.syncer.engine.state import State

TOKEN_SECONDS = 3600  # lifetime asked for the virtual ServiceAccount token
_TOKEN_EXPIRY = f"{naming.PREFIX}token-expires"


def secret_name(virtual_pod: dict[str, Any], ctx: SyncContext) -> str:
    """The host Secret holding the virtual ServiceAccount token mounted into this pod."""
    meta = virtual_pod["metadata"]
    return naming.host_name(f"{meta['name']}-token", meta["namespace"], ctx.vcluster)


async def ensure(s: State, virtual: dict[str, Any]) -> None:
    """The host Secret with the virtual ServiceAccount's token for this pod."""

    meta = virtual["metadata"]
    sa = (virtual.get("spec") or {}).get("serviceAccountName") or "default"
    answer = await s.virtual.request(
        "POST", f"/api/v1/namespaces/{meta['namespace']}/serviceaccounts/{sa}/token",
        {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
         "spec": {"expirationSeconds": TOKEN_SECONDS,
                  "boundObjectRef": {"apiVersion": "v1", "kind": "Pod", "name": meta["name"],
                                     "uid": meta.get("uid", "")}}})
    status = answer.get("status") or {}
    ca = s.virtual.connection.ca_pem or b""
    name = secret_name(virtual, s.ctx)
    labels = naming.ownership_labels(s.ctx.vcluster, meta["namespace"])
    body: dict[str, Any] = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": name, "namespace": s.ctx.host_namespace,
                         "labels": labels,
                         "annotations": {_TOKEN_EXPIRY: status.get("expirationTimestamp", ""),
                                         naming.TOKEN_FOR_POD_ANNOTATION: meta["name"],
                                         naming.VIRTUAL_NAMESPACE_ANNOTATION:
                                             meta["namespace"]}},
            "stringData": {"token": status.get("token", ""), "ca.crt": ca.decode(),
                           "namespace": meta["namespace"]}}
    if s.ctx.owner is not None:
        body["metadata"]["ownerReferences"] = [s.ctx.owner.reference()]
    try:
        await s.host.create(SECRETS, s.ctx.host_namespace, body)
    except Conflict:
        existing = await s.host.get(SECRETS, s.ctx.host_namespace, name)
        if existing is None or not naming.is_owned(existing, s.ctx.vcluster):
            raise
        await s.host.patch(SECRETS, s.ctx.host_namespace, name,
                           {"metadata": {"annotations": body["metadata"]["annotations"]},
                            "stringData": body["stringData"]})


async def refresh(s: State, virtual: dict[str, Any]) -> float | None:
    """Renew the mounted token at 80 % of its lifetime; returns when to look again."""
    if (virtual.get("spec") or {}).get("automountServiceAccountToken") is False:
        return None

    # From the (owned) host cache when Secrets are synced: no API call per pod event.
    cached = s.host_informers.get("secrets")
    name = secret_name(virtual, s.ctx)
    secret = cached.get(s.ctx.host_namespace, name) if cached is not None else None
    if secret is None:  # not synced, or the cache has not seen the new Secret yet
        secret = await s.host.get(SECRETS, s.ctx.host_namespace, name)
    expiry = ((secret or {}).get("metadata", {}).get("annotations") or {}).get(_TOKEN_EXPIRY)
    if not expiry:
        await ensure(s, virtual)
        return TOKEN_SECONDS * 0.8
    left = (parse_time(expiry) - dt.datetime.now(dt.UTC)).total_seconds()
    if left < TOKEN_SECONDS * 0.2:
        await ensure(s, virtual)
        return TOKEN_SECONDS * 0.8
    return max(1.0, left - TOKEN_SECONDS * 0.2)
