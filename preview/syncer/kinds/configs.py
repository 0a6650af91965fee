"""ConfigMaps and Secrets: copied as they are, under their host names.

Only those that synced pods reference are copied by default (`sync.configs: referenced`);
the `kube-root-ca.crt` ConfigMap and ServiceAccount token Secrets of the virtual cluster are
never copied (the host has its own, and pods get their virtual token another way).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from preview import naming
from preview.syncer.context import SyncContext
from preview.syncer.kinds import copies
from preview.syncer.objects import clone, host_metadata
from preview.syncer.resources import KINDS

if TYPE_CHECKING:
    from preview.syncer.syncer import Syncer

_DATA_FIELDS = ("data", "binaryData", "stringData", "type", "immutable")
NEVER_SYNCED_CONFIGMAPS = frozenset({"kube-root-ca.crt"})
NEVER_SYNCED_SECRET_TYPES = frozenset({"kubernetes.io/service-account-token",
                                       "helm.sh/release.v1"})


def translate(virtual: dict[str, Any], ctx: SyncContext) -> dict[str, Any]:
    """The host ConfigMap or Secret for a virtual one."""
    out: dict[str, Any] = {"apiVersion": "v1", "kind": virtual["kind"],
                           "metadata": host_metadata(virtual, ctx)}
    for key in _DATA_FIELDS:
        if key in virtual:
            out[key] = clone(virtual[key])
    return out


def syncable(virtual: dict[str, Any]) -> bool:
    """Whether this ConfigMap/Secret may ever be copied to the host."""
    name = virtual["metadata"]["name"]
    if virtual.get("kind") == "ConfigMap":
        return name not in NEVER_SYNCED_CONFIGMAPS
    return virtual.get("type") not in NEVER_SYNCED_SECRET_TYPES


def data_changes(virtual: dict[str, Any], host: dict[str, Any],
                 ctx: SyncContext) -> dict[str, Any] | None:
    """A merge patch making the host copy's data and labels equal the virtual one's."""
    wanted = translate(virtual, ctx)
    patch: dict[str, Any] = {}
    for key in ("data", "binaryData"):
        if (host.get(key) or {}) != (wanted.get(key) or {}):
            patch[key] = _replace_map(host.get(key) or {}, wanted.get(key) or {})
    for key in ("labels", "annotations"):
        current = host["metadata"].get(key) or {}
        target = wanted["metadata"].get(key) or {}
        if current != target:
            patch.setdefault("metadata", {})[key] = _replace_map(current, target)
    return patch or None


def _replace_map(current: dict[str, Any], wanted: dict[str, Any]) -> dict[str, Any]:
    """A merge-patch value turning `current` into `wanted` (absent keys set to null)."""
    return {**{k: None for k in current if k not in wanted}, **wanted}


def referenced(pod_spec: dict[str, Any]) -> tuple[set[str], set[str]]:
    """Names of the (ConfigMaps, Secrets) a virtual pod spec references."""
    config_maps: set[str] = set()
    secrets: set[str] = set()
    for volume in pod_spec.get("volumes") or []:
        if volume.get("configMap", {}).get("name"):
            config_maps.add(volume["configMap"]["name"])
        if volume.get("secret", {}).get("secretName"):
            secrets.add(volume["secret"]["secretName"])
        for source in (volume.get("projected") or {}).get("sources") or []:
            if source.get("configMap", {}).get("name"):
                config_maps.add(source["configMap"]["name"])
            if source.get("secret", {}).get("name"):
                secrets.add(source["secret"]["name"])
    for pull in pod_spec.get("imagePullSecrets") or []:
        if pull.get("name"):
            secrets.add(pull["name"])
    for container in _containers(pod_spec):
        for env in container.get("env") or []:
            source = env.get("valueFrom") or {}
            if source.get("configMapKeyRef", {}).get("name"):
                config_maps.add(source["configMapKeyRef"]["name"])
            if source.get("secretKeyRef", {}).get("name"):
                secrets.add(source["secretKeyRef"]["name"])
        for env_from in container.get("envFrom") or []:
            if env_from.get("configMapRef", {}).get("name"):
                config_maps.add(env_from["configMapRef"]["name"])
            if env_from.get("secretRef", {}).get("name"):
                secrets.add(env_from["secretRef"]["name"])
    return config_maps - NEVER_SYNCED_CONFIGMAPS, secrets


def _containers(spec: dict[str, Any]) -> Iterable[dict[str, Any]]:
    for key in ("initContainers", "containers", "ephemeralContainers"):
        yield from spec.get(key) or []


# -- reconcile (I/O) -----------------------------------------------------------------------------
async def reconcile(s: Syncer, kind: str, namespace: str, name: str) -> float | None:
    """Keep the host copy of one ConfigMap/Secret equal to the virtual one while needed."""

    res = KINDS[kind]
    virtual = s.virtual_informers[kind].get(namespace, name)
    host_name = naming.host_name(name, namespace, s.ctx.vcluster)
    host = copies.host_copy(s, kind, host_name)
    wanted = (virtual is not None and syncable(virtual)
              and not virtual["metadata"].get("deletionTimestamp")
              and (s.options.configs == "all" or _referenced(s, kind, namespace, name)))
    if not wanted:
        if host is not None and await copies.virtual_gone_or_unwanted(s, res, namespace, name,
                                                                      virtual):
            await copies.delete_owned(s, res, host)
        return None
    assert virtual is not None
    if host is None:
        await copies.create(s, res, virtual, translate(virtual, s.ctx))
        return None
    patch = data_changes(virtual, host, s.ctx)
    if patch is None:
        return None
    if host.get("immutable") and ("data" in patch or "binaryData" in patch):
        await copies.delete_owned(s, res, host)  # immutable: replaced on the next pass
        return 0.0
    await s.host.patch(res, s.ctx.host_namespace, host_name, patch)
    return None


def _referenced(s: Syncer, kind: str, namespace: str, name: str) -> bool:
    pods = s.virtual_informers.get("pods")
    if pods is None:
        return False
    for pod in pods.list(namespace):
        config_maps, secrets = referenced(pod.get("spec") or {})
        if name in (config_maps if kind == "configmaps" else secrets):
            return True
    return False
