"""Pure decisions of the persistent volume binder: matching, provisioning, binding.

From `pkg/controller/volume/persistentvolume`: a claim binds the smallest Available volume
of its class that offers its access modes and size; a claim of a class our provisioner
serves gets a volume `pvc-<claim uid>` made for it; binding writes `claimRef` on the
volume and `volumeName` on the claim, with the controller's annotations.
"""

from __future__ import annotations

from typing import Any

from preview.sandbox.machinery.quantity import QuantityError, parse

PROVISIONER = "sandbox.preview-vcluster.io/hostpath"
ANN_PROVISIONED_BY = "pv.kubernetes.io/provisioned-by"
ANN_BOUND_BY_CONTROLLER = "pv.kubernetes.io/bound-by-controller"
ANN_BIND_COMPLETED = "pv.kubernetes.io/bind-completed"
ANN_STORAGE_PROVISIONER = "volume.kubernetes.io/storage-provisioner"
ANN_BETA_STORAGE_PROVISIONER = "volume.beta.kubernetes.io/storage-provisioner"
ANN_SELECTED_NODE = "volume.kubernetes.io/selected-node"
HOST_PATH_ROOT = "/var/local-path-provisioner"
HOSTNAME_LABEL = "kubernetes.io/hostname"


def requested_storage(pvc: dict[str, Any]) -> str:
    requests = ((pvc.get("spec") or {}).get("resources") or {}).get("requests") or {}
    return str(requests.get("storage", "0"))


def claim_class(pvc: dict[str, Any]) -> str:
    return str((pvc.get("spec") or {}).get("storageClassName") or "")


def _size(value: Any) -> Any:
    try:
        return parse(value).value
    except QuantityError:
        return 0


def is_bound_to(pv: dict[str, Any], pvc: dict[str, Any]) -> bool:
    ref = (pv.get("spec") or {}).get("claimRef") or {}
    meta = pvc["metadata"]
    return ref.get("name") == meta["name"] and ref.get("namespace") == meta["namespace"] and \
        ref.get("uid") in (None, "", meta.get("uid"))


def find_match(pvc: dict[str, Any], pvs: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The smallest volume this claim may bind (pre-bound to it, or available and fitting)."""
    spec = pvc.get("spec") or {}
    want = _size(requested_storage(pvc))
    modes = set(spec.get("accessModes") or [])
    mode = spec.get("volumeMode", "Filesystem")
    labels_wanted = (spec.get("selector") or {}).get("matchLabels") or {}
    candidates = []
    for pv in pvs:
        pv_spec = pv.get("spec") or {}
        if pv["metadata"].get("deletionTimestamp"):
            continue
        ref = pv_spec.get("claimRef")
        if ref and not is_bound_to(pv, pvc):
            continue
        if ref and is_bound_to(pv, pvc):
            return pv  # pre-bound by the user (or by us, before a restart)
        if (pv.get("status") or {}).get("phase", "Available") not in ("Available", "Pending"):
            continue
        if str(pv_spec.get("storageClassName") or "") != claim_class(pvc):
            continue
        if pv_spec.get("volumeMode", "Filesystem") != mode:
            continue
        if not modes <= set(pv_spec.get("accessModes") or []):
            continue
        labels = pv["metadata"].get("labels") or {}
        if any(labels.get(k) != v for k, v in labels_wanted.items()):
            continue
        size = _size((pv_spec.get("capacity") or {}).get("storage", "0"))
        if size < want:
            continue
        candidates.append((size, pv["metadata"]["name"], pv))
    return min(candidates, key=lambda c: (c[0], c[1]))[2] if candidates else None


def claim_ref(pvc: dict[str, Any]) -> dict[str, Any]:
    meta = pvc["metadata"]
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "name": meta["name"],
            "namespace": meta["namespace"], "uid": meta["uid"],
            "resourceVersion": meta.get("resourceVersion", "")}


def provisioned_volume(pvc: dict[str, Any], storage_class: dict[str, Any],
                       node: str = "") -> dict[str, Any]:
    """The volume our provisioner makes for a claim: a host directory named after it."""
    meta = pvc["metadata"]
    spec = pvc.get("spec") or {}
    name = f"pvc-{meta['uid']}"
    pv_spec: dict[str, Any] = {
        "capacity": {"storage": requested_storage(pvc)},
        "accessModes": list(spec.get("accessModes") or ["ReadWriteOnce"]),
        "claimRef": claim_ref(pvc),
        "persistentVolumeReclaimPolicy": storage_class.get("reclaimPolicy", "Delete"),
        "storageClassName": storage_class["metadata"]["name"],
        "volumeMode": spec.get("volumeMode", "Filesystem"),
        "hostPath": {"path": f"{HOST_PATH_ROOT}/{name}_{meta['namespace']}_{meta['name']}",
                     "type": "DirectoryOrCreate"},
    }
    if storage_class.get("mountOptions"):
        pv_spec["mountOptions"] = list(storage_class["mountOptions"])
    if node:
        pv_spec["nodeAffinity"] = {"required": {"nodeSelectorTerms": [{"matchExpressions": [
            {"key": HOSTNAME_LABEL, "operator": "In", "values": [node]}]}]}}
    return {"apiVersion": "v1", "kind": "PersistentVolume",
            "metadata": {"name": name, "annotations": {ANN_PROVISIONED_BY: PROVISIONER}},
            "spec": pv_spec}


def bound_claim_status(pv: dict[str, Any]) -> dict[str, Any]:
    spec = pv.get("spec") or {}
    return {"phase": "Bound", "accessModes": list(spec.get("accessModes") or []),
            "capacity": dict(spec.get("capacity") or {})}


def claim_bind_patch(pvc: dict[str, Any], pv: dict[str, Any]) -> dict[str, Any]:
    """metadata/spec changes on the claim that record the binding."""
    annotations = {ANN_BIND_COMPLETED: "yes"}
    if not (pvc.get("spec") or {}).get("volumeName"):
        annotations[ANN_BOUND_BY_CONTROLLER] = "yes"
    return {"metadata": {"annotations": annotations},
            "spec": {"volumeName": pv["metadata"]["name"]}}


def claims_of_pod(pod: dict[str, Any]) -> list[str]:
    return [v["persistentVolumeClaim"]["claimName"]
            for v in (pod.get("spec") or {}).get("volumes") or []
            if isinstance(v.get("persistentVolumeClaim"), dict)
            and v["persistentVolumeClaim"].get("claimName")]


def external_provisioning_message(provisioner: str) -> str:
    return (f'Waiting for a volume to be created either by the external provisioner '
            f'"{provisioner}" or manually by the system administrator. If volume creation is '
            "delayed, please verify that the provisioner is running and correctly registered.")
