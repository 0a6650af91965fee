"""Per-namespace service accounts and the cluster CA: `default` SA and `kube-root-ca.crt`.

Two controllers of kube-controller-manager in one: the service account controller
(`pkg/controller/serviceaccount`) keeps a `default` ServiceAccount in every active
namespace, recreating it when deleted; the root CA publisher
(`pkg/controller/certificates/rootcacertpublisher`) keeps the `kube-root-ca.crt` ConfigMap,
holding the API server's CA, in every namespace, for the token volume pods mount.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from preview.control import WorkQueue
from preview.kube.client import Conflict, Forbidden, NotFound
from preview.sandbox.controllers import ControllerContext
from preview.sandbox.controllers.client import path_for
from preview.sandbox.machinery.resources import ResourceType

log = logging.getLogger(__name__)
DEFAULT_ACCOUNT = "default"
ROOT_CA = "kube-root-ca.crt"
ROOT_CA_DESCRIPTION = (
    "Contains a CA bundle that can be used to verify the kube-apiserver when using internal "
    "endpoints such as the internal service IP or kubernetes.default.svc. No other usage is "
    "guaranteed across distributions of Kubernetes clusters.")


def is_active(ns: dict[str, Any] | None) -> bool:
    return ns is not None and not ns["metadata"].get("deletionTimestamp") and \
        (ns.get("status") or {}).get("phase", "Active") == "Active"


def root_ca_configmap(namespace: str, ca_pem: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": ROOT_CA, "namespace": namespace,
                         "annotations": {"kubernetes.io/description": ROOT_CA_DESCRIPTION}},
            "data": {"ca.crt": ca_pem}}


class ServiceAccountController:
    def __init__(self, ctx: ControllerContext) -> None:
        self.client = ctx.client
        self.ca_pem = ctx.ca_pem
        self.namespaces = ctx.informers.informer("", "v1", "namespaces")
        self.accounts = ctx.informers.informer("", "v1", "serviceaccounts")
        self.configmaps = ctx.informers.informer("", "v1", "configmaps")
        self.queue: WorkQueue[str] = WorkQueue()
        self.namespaces.add_handler(self._on_namespace)
        self.accounts.add_handler(self._on_account)
        self.configmaps.add_handler(self._on_configmap)

    def _on_namespace(self, kind: str, ns: dict[str, Any], old: dict[str, Any] | None) -> None:
        if kind != "DELETED" and is_active(ns):
            self.queue.add(ns["metadata"]["name"])

    def _on_account(self, kind: str, sa: dict[str, Any], old: dict[str, Any] | None) -> None:
        if kind == "DELETED" and sa["metadata"]["name"] == DEFAULT_ACCOUNT:
            self.queue.add(sa["metadata"]["namespace"])

    def _on_configmap(self, kind: str, cm: dict[str, Any], old: dict[str, Any] | None) -> None:
        if cm["metadata"]["name"] == ROOT_CA:
            self.queue.add(cm["metadata"]["namespace"])

    async def run(self) -> None:
        for informer in (self.namespaces, self.accounts, self.configmaps):
            await informer.synced.wait()
        await self.queue.run(self.sync)

    async def sync(self, namespace: str) -> float | None:
        if not is_active(self.namespaces.get("", namespace)):
            return None
        try:
            if self.accounts.get(namespace, DEFAULT_ACCOUNT) is None:
                await self._create(self.accounts.rt, namespace, {
                    "apiVersion": "v1", "kind": "ServiceAccount",
                    "metadata": {"name": DEFAULT_ACCOUNT, "namespace": namespace}})
            ca_pem = self.ca_pem.decode()
            if ca_pem:
                await self._publish_ca(namespace, ca_pem)
        except (Forbidden, NotFound):
            return None  # the namespace went away or is terminating
        return None

    async def _publish_ca(self, namespace: str, ca_pem: str) -> None:
        current = self.configmaps.get(namespace, ROOT_CA)
        desired = root_ca_configmap(namespace, ca_pem)
        if current is None:
            await self._create(self.configmaps.rt, namespace, desired)
        elif (current.get("data") or {}).get("ca.crt") != ca_pem:
            await self.client.merge_patch(self.configmaps.rt, namespace, ROOT_CA,
                                          {"data": desired["data"]})

    async def _create(self, rt: ResourceType, namespace: str, body: dict[str, Any]) -> None:
        with contextlib.suppress(Conflict):  # already there: the cache is behind
            await self.client.request("POST", path_for(rt, namespace), body)
