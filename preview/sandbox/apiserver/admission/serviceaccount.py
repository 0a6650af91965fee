"""The ServiceAccount admission plugin: a pod runs as a service account and can reach the API.

As `plugin/pkg/admission/serviceaccount`: an empty `spec.serviceAccountName` becomes
`default`; unless automounting is off (on the pod, else on the account), a projected
`kube-api-access-<random>` volume (bound token, `kube-root-ca.crt`, the namespace) is added
and mounted read-only at /var/run/secrets/kubernetes.io/serviceaccount in every container.
"""

from __future__ import annotations

import random
from typing import Any

from preview.sandbox.apiserver.storage.store import Store
from preview.sandbox.machinery.resources import ResourceType
from preview.sandbox.machinery.status import forbidden

DEFAULT_NAME = "default"
MOUNT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount"
VOLUME_PREFIX = "kube-api-access-"
ROOT_CA_CONFIGMAP = "kube-root-ca.crt"
# The plugin asks for an hour plus a little jitter-free slack (admission.go).
TOKEN_EXPIRATION = 3607
_NAME_CHARS = "bcdfghjklmnpqrstvwxz2456789"
_MIRROR_ANNOTATION = "kubernetes.io/config.mirror"


def token_volume(name: str) -> dict[str, Any]:
    """The projected volume the plugin adds: token, cluster CA, namespace."""
    return {"name": name, "projected": {"defaultMode": 420, "sources": [
        {"serviceAccountToken": {"expirationSeconds": TOKEN_EXPIRATION, "path": "token"}},
        {"configMap": {"name": ROOT_CA_CONFIGMAP, "items": [{"key": "ca.crt",
                                                              "path": "ca.crt"}]}},
        {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {
            "apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}},
    ]}}


def wants_token(pod_spec: dict[str, Any], account: dict[str, Any] | None) -> bool:
    """The pod's automountServiceAccountToken wins over the account's; default is true."""
    if pod_spec.get("automountServiceAccountToken") is not None:
        return bool(pod_spec["automountServiceAccountToken"])
    if account is not None and account.get("automountServiceAccountToken") is not None:
        return bool(account["automountServiceAccountToken"])
    return True


def mount_token(pod_spec: dict[str, Any], suffix: str) -> None:
    """Add the token volume (unless one is there) and its mount to every container."""
    volumes = pod_spec.setdefault("volumes", [])
    existing = next((v["name"] for v in volumes
                     if str(v.get("name", "")).startswith(VOLUME_PREFIX)), None)
    name = existing or VOLUME_PREFIX + suffix
    if existing is None:
        volumes.append(token_volume(name))
    for field in ("initContainers", "containers", "ephemeralContainers"):
        for c in pod_spec.get(field) or []:
            mounts = c.setdefault("volumeMounts", [])
            if any(m.get("mountPath") == MOUNT_PATH for m in mounts):
                continue  # the user mounted something there themselves
            mounts.append({"name": name, "readOnly": True, "mountPath": MOUNT_PATH})


def admit_pod(spec: dict[str, Any], account: dict[str, Any] | None, suffix: str) -> None:
    """The plugin's mutation of a pod spec, given the account (None: not found)."""
    if not spec.get("serviceAccountName"):
        spec["serviceAccountName"] = DEFAULT_NAME
    spec.setdefault("serviceAccount", spec["serviceAccountName"])
    if wants_token(spec, account):
        mount_token(spec, suffix)


class ServiceAccountAdmission:
    def __init__(self, store: Store) -> None:
        self.store = store

    def __call__(self, rt: ResourceType, obj: dict[str, Any], dry_run: bool) -> None:
        if rt.group != "" or rt.kind != "Pod":
            return
        meta = obj["metadata"]
        if _MIRROR_ANNOTATION in (meta.get("annotations") or {}):
            return
        spec = obj.setdefault("spec", {})
        namespace = meta.get("namespace", "")
        name = spec.get("serviceAccountName") or DEFAULT_NAME
        account = self.store.get(("", "serviceaccounts"), namespace, name)
        # The real plugin waits up to ~2s for the `default` account, which the service
        # account controller is about to create; this synchronous one admits instead.
        if account is None and name != DEFAULT_NAME:
            raise forbidden(f'pods "{meta.get("name", "")}" is forbidden: error looking up '
                            f'service account {namespace}/{name}: serviceaccount "{name}" '
                            "not found", "pods", "", meta.get("name", ""))
        admit_pod(spec, account, "".join(random.choices(_NAME_CHARS, k=5)))
