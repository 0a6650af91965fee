"""Controllers that run inside the emulator process, talking to it over its own HTTP API.

Which controllers run depends on the cluster flavour (`ServerConfig.flavour`):

- every flavour: namespace lifecycle, garbage collector, and the control-plane controllers
  of kube-controller-manager (workloads, endpoints, service accounts, volumes, ingress);
- `host` only: the node agents — nodes, scheduler, kubelet — that a real host cluster has
  and a virtual control plane (k3s in our chart, with no agent and no scheduler) lacks.

Each controller is a class built from a `ControllerContext` with an async `run()`; they
read through shared informers (`preview.control`'s, over `listwatch.py`) and write through
the API like any client.
"""

from __future__ import annotations

import asyncio
import importlib
import secrets
import ssl
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from preview.sandbox.apiserver.auth.rbac import UserInfo
from preview.sandbox.controllers.client import ApiClient
from preview.sandbox.controllers.garbage_collector import GarbageCollector
from preview.sandbox.controllers.listwatch import InformerFactory
from preview.sandbox.controllers.namespace import NamespaceController

if TYPE_CHECKING:
    from preview.sandbox.apiserver.endpoints.server import ApiServer
    from preview.sandbox.cluster.config import ServerConfig


@dataclass
class ControllerContext:
    """What a controller is built from: its API client, shared informers, the server."""

    client: ApiClient
    informers: InformerFactory
    server: ApiServer  # for catalog, config, and the kubelet's HTTP handlers only

    @property
    def config(self) -> ServerConfig:
        return self.server.config


class Controller(Protocol):
    async def run(self) -> None: ...


# "module:Class", started in this order: a bare module name is under
# preview.sandbox.controllers, a dotted one under preview.sandbox (the node agents and the
# ingress controller live in their own subpackages).
WORKLOADS: list[str] = [
    "replicaset:ReplicaSetController",
    "deployment:DeploymentController",
    "statefulset:StatefulSetController",
    "daemonset:DaemonSetController",
    "job:JobController",
]
SERVICES_AND_STORAGE: list[str] = [
    "endpoints:EndpointsController", "endpointslice:EndpointSliceController",
    "serviceaccount:ServiceAccountController", "volumes:PersistentVolumeBinder",
    "resourcequota:ResourceQuotaController", "clusterroleaggregation:ClusterRoleAggregator"]
NODE_AGENTS: list[str] = ["kubelet.nodes:NodeController", "scheduler.scheduler:Scheduler",
                          "kubelet.kubelet:Kubelet"]
# What a host cluster's platform adds: an ingress controller, a default storage class.
HOST_ADDONS: list[str] = ["addons:DefaultClasses", "ingress.controller:IngressController",
                          "loadbalancer:LoadBalancerController"]
CONTROL_PLANE = WORKLOADS + SERVICES_AND_STORAGE
FLAVOURS = {"host": CONTROL_PLANE + NODE_AGENTS + HOST_ADDONS, "virtual": CONTROL_PLANE}


def controller_client(server: ApiServer, url: str, name: str,
                      ssl_context: ssl.SSLContext) -> ApiClient:
    """A client with its own token, authenticated as a privileged system component."""
    token = secrets.token_urlsafe(24)
    server.authn.add_token(token, UserInfo(f"system:{name}",
                                           ("system:masters", "system:authenticated")))
    return ApiClient(url, token, f"{name}/sandbox", ssl_context)


def _load(spec: str) -> type:
    module, cls = spec.split(":")
    package = "preview.sandbox" if "." in module else __name__
    loaded: type = getattr(importlib.import_module(f"{package}.{module}"), cls)
    return loaded


def start_controllers(server: ApiServer, url: str,
                      ssl_context: ssl.SSLContext) -> list[asyncio.Task[None]]:
    flavour = server.config.flavour
    if flavour not in FLAVOURS:
        raise ValueError(f"unknown sandbox flavour {flavour!r}; use one of {sorted(FLAVOURS)}")
    client = controller_client(server, url, "kube-controller-manager", ssl_context)
    informers = InformerFactory(client, server.catalog)
    namespaces = NamespaceController(client, server.catalog)
    informers.for_type(namespaces.ns_rt).add_handler(namespaces.on_event)
    gc = GarbageCollector(client, server.catalog, informers)
    context = ControllerContext(client, informers, server)
    controllers: list[Controller] = [_load(spec)(context) for spec in FLAVOURS[flavour]]

    tasks = [
        asyncio.create_task(namespaces.queue.run(namespaces.sync)),
        asyncio.create_task(gc.run()),
        asyncio.create_task(informers.run()),
        *(asyncio.create_task(c.run()) for c in controllers),
    ]
    tasks.append(asyncio.create_task(_close_on_cancel(client)))
    return tasks


async def _close_on_cancel(client: ApiClient) -> None:
    try:
        await asyncio.Event().wait()
    finally:
        await client.close()
