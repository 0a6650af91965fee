"""ConfigMaps and Secrets: copied as they are, under their host names.

Only those that synced pods or Ingresses reference are copied by default (`sync.configs:
referenced`; an Ingress's TLS Secret counts); the `kube-root-ca.crt` ConfigMap and
ServiceAccount token and Helm release Secrets of the virtual cluster are never copied (the
host has its own, and pods get their virtual token another way).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from preview import naming
from preview.syncer.context import SyncContext
from preview.syncer.engine.kind import Kind, Obj, Translation
from preview.syncer.objects import clone, host_metadata, reserved_violations
from preview.syncer.resources import CONFIGMAPS, SECRETS

if TYPE_CHECKING:
    from preview.syncer.engine.state import State

_DATA_FIELDS = ("data", "binaryData", "type", "immutable")
NEVER_SYNCED_CONFIGMAPS = frozenset({"kube-root-ca.crt"})
NEVER_SYNCED_SECRET_TYPES = frozenset({"kubernetes.io/service-account-token",
                                       "helm.sh/release.v1"})


def translate(virtual: Obj, ctx: SyncContext, _facts: Any = None) -> Translation:
    """The host ConfigMap or Secret for a virtual one."""
    out: Obj = {"apiVersion": "v1", "kind": virtual["kind"],
                "metadata": host_metadata(virtual, ctx)}
    for key in _DATA_FIELDS:
        if key in virtual:
            out[key] = clone(virtual[key])
    return Translation(out, tuple(reserved_violations(virtual)))


def syncable(virtual: Obj) -> bool:
    """Whether this ConfigMap/Secret may ever be copied to the host."""
    name = virtual["metadata"]["name"]
    if virtual.get("kind") == "ConfigMap":
        return name not in NEVER_SYNCED_CONFIGMAPS
    return virtual.get("type") not in NEVER_SYNCED_SECRET_TYPES


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


def _wanted(st: State, virtual: Obj) -> bool:
    if not syncable(virtual):
        return False
    if st.options.configs == "all":
        return True
    meta = virtual["metadata"]
    kind = "configmaps" if virtual.get("kind") == "ConfigMap" else "secrets"
    return st.references.referenced((kind, meta["namespace"], meta["name"]))


def _recreate_when(host: Obj, patch: Obj) -> bool:
    """Immutable data (or a Secret's type) cannot change in place."""
    return "type" in patch or (bool(host.get("immutable")) and
                               ("data" in patch or "binaryData" in patch))


_SYNCED = (("data",), ("binaryData",), ("type",), ("immutable",))
CONFIGMAP_KIND = Kind("configmaps", CONFIGMAPS, naming.DNS_SUBDOMAIN_MAX, translate, _SYNCED,
                      wanted=_wanted, recreate_when=_recreate_when)
SECRET_KIND = Kind("secrets", SECRETS, naming.DNS_SUBDOMAIN_MAX, translate, _SYNCED,
                   wanted=_wanted, recreate_when=_recreate_when)
