"""The persistent volume binder with the sandbox's dynamic provisioner.

Claims bind to fitting Available volumes; claims of a StorageClass whose provisioner is the
sandbox's (`volumeutil.PROVISIONER`) get a `pvc-<uid>` host-path volume made and bound at
once (`Immediate`) or once a pod using them is scheduled (`WaitForFirstConsumer`). Claims
of classes nobody here provisions stay Pending with the real events (ExternalProvisioning,
ProvisioningFailed). A released volume is deleted (reclaimPolicy Delete) or marked Released.
"""

from __future__ import annotations

import logging
from typing import Any

from preview.control import WorkQueue, key_of
from preview.kube.client import Conflict, Forbidden, NotFound
from preview.kube.events import EventRecorder
from preview.sandbox.controllers import ControllerContext
from preview.sandbox.controllers.client import path_for
from preview.sandbox.controllers.volumeutil import (
    ANN_BETA_STORAGE_PROVISIONER,
    ANN_BOUND_BY_CONTROLLER,
    ANN_SELECTED_NODE,
    ANN_STORAGE_PROVISIONER,
    PROVISIONER,
    bound_claim_status,
    claim_bind_patch,
    claim_class,
    claim_ref,
    claims_of_pod,
    external_provisioning_message,
    find_match,
    is_bound_to,
    provisioned_volume,
)

log = logging.getLogger(__name__)
QueueKey = tuple[str, str, str]  # ("pvc", namespace, name) or ("pv", "", name)


class PersistentVolumeBinder:
    def __init__(self, ctx: ControllerContext) -> None:
        self.client = ctx.client
        self.claims = ctx.informers.informer("", "v1", "persistentvolumeclaims")
        self.volumes = ctx.informers.informer("", "v1", "persistentvolumes")
        self.classes = ctx.informers.informer("storage.k8s.io", "v1", "storageclasses")
        self.pods = ctx.informers.informer("", "v1", "pods")
        self.events = EventRecorder(ctx.client, "persistentvolume-controller")
        self.queue: WorkQueue[QueueKey] = WorkQueue()
        self.claims.add_handler(self._on_claim)
        self.volumes.add_handler(self._on_volume)
        self.classes.add_handler(self._on_class)
        self.pods.add_handler(self._on_pod)

    def _on_claim(self, kind: str, pvc: dict[str, Any], old: dict[str, Any] | None) -> None:
        self.queue.add(("pvc", *key_of(pvc)))
        volume = (pvc.get("spec") or {}).get("volumeName")
        if kind == "DELETED" and volume:
            self.queue.add(("pv", "", volume))  # released: reclaim it

    def _on_volume(self, kind: str, pv: dict[str, Any], old: dict[str, Any] | None) -> None:
        self.queue.add(("pv", "", pv["metadata"]["name"]))
        ref = (pv.get("spec") or {}).get("claimRef") or {}
        if ref.get("name"):
            self.queue.add(("pvc", ref.get("namespace", ""), ref["name"]))
        elif kind != "DELETED":
            for pvc in self.claims.list():
                if not (pvc.get("spec") or {}).get("volumeName"):
                    self.queue.add(("pvc", *key_of(pvc)))

    def _on_class(self, kind: str, sc: dict[str, Any], old: dict[str, Any] | None) -> None:
        for pvc in self.claims.list():
            if claim_class(pvc) == sc["metadata"]["name"]:
                self.queue.add(("pvc", *key_of(pvc)))

    def _on_pod(self, kind: str, pod: dict[str, Any], old: dict[str, Any] | None) -> None:
        if kind != "DELETED" and (pod.get("spec") or {}).get("nodeName"):
            for claim in claims_of_pod(pod):
                self.queue.add(("pvc", pod["metadata"]["namespace"], claim))

    async def run(self) -> None:
        for informer in (self.claims, self.volumes, self.classes, self.pods):
            await informer.synced.wait()
        await self.queue.run(self.sync)

    async def sync(self, key: QueueKey) -> float | None:
        what, namespace, name = key
        try:
            if what == "pv":
                return await self._sync_volume(name)
            return await self._sync_claim(namespace, name)
        except (NotFound, Conflict):
            return 0.05  # the cache is behind; retry once it caught up
        except Forbidden:
            return None  # namespace terminating

    # -- claims --------------------------------------------------------------------------------
    async def _sync_claim(self, namespace: str, name: str) -> float | None:
        pvc = self.claims.get(namespace, name)
        if pvc is None or pvc["metadata"].get("deletionTimestamp"):
            return None
        volume_name = (pvc.get("spec") or {}).get("volumeName")
        if volume_name:
            pv = self.volumes.get("", volume_name)
            if pv is None:
                if (pvc.get("status") or {}).get("phase") == "Bound":
                    await self._claim_status(pvc, {"phase": "Lost"})
                    await self.events.record(pvc, "Warning", "ClaimLost",
                                             "Bound claim has lost its PersistentVolume. Data "
                                             "on the volume is lost!")
                return None
            if not (pv.get("spec") or {}).get("claimRef"):
                await self._bind_volume(pv, pvc)
                return None
            if is_bound_to(pv, pvc):
                await self._finish_binding(pvc, pv)
            return None
        match = find_match(pvc, self.volumes.list())
        if match is not None:
            await self._bind(pvc, match)
            return None
        return await self._provision(pvc)

    async def _provision(self, pvc: dict[str, Any]) -> float | None:
        class_name = claim_class(pvc)
        if not class_name:
            await self.events.record(pvc, "Normal", "FailedBinding",
                                     "no persistent volumes available for this claim and no "
                                     "storage class is set")
            return None
        sc = self.classes.get("", class_name)
        if sc is None:
            await self.events.record(pvc, "Warning", "ProvisioningFailed",
                                     f'storageclass.storage.k8s.io "{class_name}" not found')
            return None
        provisioner = str(sc.get("provisioner", ""))
        annotations = pvc["metadata"].get("annotations") or {}
        node = annotations.get(ANN_SELECTED_NODE, "")
        if sc.get("volumeBindingMode") == "WaitForFirstConsumer" and not node:
            node = self._consumer_node(pvc)
            if not node:
                await self.events.record(pvc, "Normal", "WaitForFirstConsumer",
                                         "waiting for first consumer to be created before "
                                         "binding")
                return None
        wanted = {ANN_STORAGE_PROVISIONER: provisioner, ANN_BETA_STORAGE_PROVISIONER: provisioner}
        if node:
            wanted[ANN_SELECTED_NODE] = node
        if any(annotations.get(k) != v for k, v in wanted.items()):
            patched = await self.client.merge_patch(self.claims.rt, *key_of(pvc),
                                                    {"metadata": {"annotations": wanted}})
            pvc = patched or pvc
        if provisioner != PROVISIONER:
            await self.events.record(pvc, "Normal", "ExternalProvisioning",
                                     external_provisioning_message(provisioner))
            return None
        await self.events.record(pvc, "Normal", "Provisioning",
                                 f'External provisioner is provisioning volume for claim '
                                 f'"{pvc["metadata"]["namespace"]}/{pvc["metadata"]["name"]}"')
        body = provisioned_volume(pvc, sc, node)
        try:
            pv = await self.client.request("POST", path_for(self.volumes.rt), body)
        except Conflict:
            pv = await self.client.get(self.volumes.rt, "", body["metadata"]["name"])
            if pv is None:
                return 0.05
        await self.events.record(pvc, "Normal", "ProvisioningSucceeded",
                                 f"Successfully provisioned volume {pv['metadata']['name']}")
        await self._volume_status(pv, "Bound")
        await self._bind_claim(pvc, pv)
        return None

    def _consumer_node(self, pvc: dict[str, Any]) -> str:
        name = pvc["metadata"]["name"]
        for pod in self.pods.list(pvc["metadata"]["namespace"]):
            node = (pod.get("spec") or {}).get("nodeName")
            if node and name in claims_of_pod(pod):
                return str(node)
        return ""

    async def _bind(self, pvc: dict[str, Any], pv: dict[str, Any]) -> None:
        if not (pv.get("spec") or {}).get("claimRef"):
            pv = await self._bind_volume(pv, pvc)
        await self._volume_status(pv, "Bound")
        await self._bind_claim(pvc, pv)

    async def _bind_volume(self, pv: dict[str, Any], pvc: dict[str, Any]) -> dict[str, Any]:
        # The resourceVersion precondition keeps two claims from taking one volume.
        patched = await self.client.merge_patch(self.volumes.rt, "", pv["metadata"]["name"], {
            "metadata": {"annotations": {ANN_BOUND_BY_CONTROLLER: "yes"},
                         "resourceVersion": pv["metadata"]["resourceVersion"]},
            "spec": {"claimRef": claim_ref(pvc)}})
        return patched or pv

    async def _bind_claim(self, pvc: dict[str, Any], pv: dict[str, Any]) -> None:
        patched = await self.client.merge_patch(self.claims.rt, *key_of(pvc),
                                                claim_bind_patch(pvc, pv))
        await self._finish_binding(patched or pvc, pv)

    async def _finish_binding(self, pvc: dict[str, Any], pv: dict[str, Any]) -> None:
        if (pv.get("status") or {}).get("phase") != "Bound":
            await self._volume_status(pv, "Bound")
        status = bound_claim_status(pv)
        current = pvc.get("status") or {}
        if any(current.get(k) != v for k, v in status.items()):
            await self._claim_status(pvc, status)

    async def _claim_status(self, pvc: dict[str, Any], status: dict[str, Any]) -> None:
        await self.client.merge_patch(self.claims.rt, *key_of(pvc), {"status": status}, "status")

    async def _volume_status(self, pv: dict[str, Any], phase: str) -> None:
        if (pv.get("status") or {}).get("phase") != phase:
            await self.client.merge_patch(self.volumes.rt, "", pv["metadata"]["name"],
                                          {"status": {"phase": phase}}, "status")

    # -- volumes -------------------------------------------------------------------------------
    async def _sync_volume(self, name: str) -> float | None:
        pv = self.volumes.get("", name)
        if pv is None or pv["metadata"].get("deletionTimestamp"):
            return None
        spec = pv.get("spec") or {}
        ref = spec.get("claimRef")
        if not ref:
            await self._volume_status(pv, "Available")
            return None
        pvc = self.claims.get(ref.get("namespace", ""), ref.get("name", ""))
        if pvc is not None and (not ref.get("uid") or ref.get("uid") == pvc["metadata"]["uid"]):
            return None  # bound (or binding): the claim's sync owns it
        if pvc is None and not ref.get("uid"):
            return None  # pre-bound to a claim that does not exist yet
        # The claim is gone: reclaim.
        policy = spec.get("persistentVolumeReclaimPolicy", "Retain")
        if policy == "Delete":
            await self.client.delete(self.volumes.rt, "", name)
        else:
            await self._volume_status(pv, "Released")
        return None
