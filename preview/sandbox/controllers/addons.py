"""What a host cluster's platform installs: the default IngressClass and StorageClass.

Kind and most managed clusters come with both; our preview URLs need the ingress class,
StatefulSets' claims need the storage class. Created through the API at start, as an
installer would; changes made later by users are left alone.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiohttp

from preview.kube.client import ApiError, Conflict
from preview.sandbox.controllers import ControllerContext
from preview.sandbox.controllers.client import path_for
from preview.sandbox.controllers.volumeutil import PROVISIONER

log = logging.getLogger(__name__)
INGRESS_CLASS = "nginx"
INGRESS_CONTROLLER = "k8s.io/ingress-nginx"
STORAGE_CLASS = "standard"
DEFAULT_INGRESS_CLASS_ANNOTATION = "ingressclass.kubernetes.io/is-default-class"
DEFAULT_STORAGE_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class"


def default_ingress_class() -> dict[str, Any]:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
            "metadata": {"name": INGRESS_CLASS,
                         "labels": {"app.kubernetes.io/name": "ingress-nginx",
                                    "app.kubernetes.io/component": "controller"},
                         "annotations": {DEFAULT_INGRESS_CLASS_ANNOTATION: "true"}},
            "spec": {"controller": INGRESS_CONTROLLER}}


def default_storage_class() -> dict[str, Any]:
    return {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
            "metadata": {"name": STORAGE_CLASS,
                         "annotations": {DEFAULT_STORAGE_CLASS_ANNOTATION: "true"}},
            "provisioner": PROVISIONER, "reclaimPolicy": "Delete",
            "volumeBindingMode": "Immediate", "allowVolumeExpansion": True}


class DefaultClasses:
    """Creates the default classes once; exits when they exist."""

    def __init__(self, ctx: ControllerContext) -> None:
        self.client = ctx.client
        catalog = ctx.catalog
        ingress_rt = catalog.find("networking.k8s.io", "v1", "ingressclasses")
        storage_rt = catalog.find("storage.k8s.io", "v1", "storageclasses")
        assert ingress_rt is not None and storage_rt is not None
        self.wanted = [(ingress_rt, default_ingress_class()),
                       (storage_rt, default_storage_class())]

    async def run(self) -> None:
        for rt, body in self.wanted:
            delay = 0.05
            while True:
                try:
                    await self.client.request("POST", path_for(rt), body)
                    break
                except Conflict:
                    break  # already there (a restart, or the user made one)
                except ApiError as e:
                    log.warning("could not create %s %s: %s", rt.kind,
                                body["metadata"]["name"], e)
                except (OSError, aiohttp.ClientError) as e:
                    log.debug("API not reachable yet: %s", e)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)
