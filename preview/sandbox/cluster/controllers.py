"""What runs against a sandbox's API server, by flavour: its controllers, started in one place.

Every flavour runs the namespace lifecycle, the garbage collector and the control-plane
controllers of kube-controller-manager (workloads, endpoints, service accounts, volumes);
`host` adds the node agents — nodes, scheduler, kubelet — that a real host cluster has and a
virtual control plane (k3s in our chart, with no agent and no scheduler) lacks, and what a
host's platform adds: default classes, an ingress controller, LoadBalancer IPs.

The list is built here, above every part it names, so the parts import each other one way
(docs/sandbox.md, "Layout"): the controllers know no kubelet, scheduler or ingress controller.
"""

from __future__ import annotations

import asyncio
import secrets
import ssl
from collections.abc import Callable

from preview.sandbox.apiserver.auth.auth import Authenticator
from preview.sandbox.apiserver.auth.rbac import UserInfo
from preview.sandbox.apiserver.endpoints.server import ApiServer
from preview.sandbox.controllers import Controller, ControllerContext
from preview.sandbox.controllers.addons import DefaultClasses
from preview.sandbox.controllers.client import ApiClient
from preview.sandbox.controllers.clusterroleaggregation import ClusterRoleAggregator
from preview.sandbox.controllers.daemonset import DaemonSetController
from preview.sandbox.controllers.deployment import DeploymentController
from preview.sandbox.controllers.endpoints import EndpointsController
from preview.sandbox.controllers.endpointslice import EndpointSliceController
from preview.sandbox.controllers.garbage_collector import GarbageCollector
from preview.sandbox.controllers.job import JobController
from preview.sandbox.controllers.listwatch import InformerFactory
from preview.sandbox.controllers.loadbalancer import LoadBalancerController
from preview.sandbox.controllers.namespace import NamespaceController
from preview.sandbox.controllers.replicaset import ReplicaSetController
from preview.sandbox.controllers.resourcequota import ResourceQuotaController
from preview.sandbox.controllers.serviceaccount import ServiceAccountController
from preview.sandbox.controllers.statefulset import StatefulSetController
from preview.sandbox.controllers.volumes import PersistentVolumeBinder
from preview.sandbox.ingress.controller import IngressController
from preview.sandbox.kubelet.kubelet import Kubelet
from preview.sandbox.kubelet.nodes import NodeController
from preview.sandbox.scheduler.scheduler import Scheduler

Factory = Callable[[ControllerContext], Controller]

# Started in this order.
WORKLOADS: list[Factory] = [ReplicaSetController, DeploymentController, StatefulSetController,
                            DaemonSetController, JobController]
SERVICES_AND_STORAGE: list[Factory] = [
    EndpointsController, EndpointSliceController, ServiceAccountController,
    PersistentVolumeBinder, ResourceQuotaController, ClusterRoleAggregator]
NODE_AGENTS: list[Factory] = [NodeController, Scheduler, Kubelet]
# What a host cluster's platform adds: an ingress controller, a default storage class.
HOST_ADDONS: list[Factory] = [DefaultClasses, IngressController, LoadBalancerController]
CONTROL_PLANE = WORKLOADS + SERVICES_AND_STORAGE
FLAVOURS: dict[str, list[Factory]] = {"host": CONTROL_PLANE + NODE_AGENTS + HOST_ADDONS,
                                      "virtual": CONTROL_PLANE}


def controller_client(authn: Authenticator, url: str, name: str,
                      ssl_context: ssl.SSLContext) -> ApiClient:
    """A client with its own token, authenticated as a privileged system component."""
    token = secrets.token_urlsafe(24)
    authn.add_token(token, UserInfo(f"system:{name}", ("system:masters", "system:authenticated")))
    return ApiClient(url, token, f"{name}/sandbox", ssl_context)


def controller_context(server: ApiServer, client: ApiClient,
                       informers: InformerFactory) -> ControllerContext:
    """What of the server its controllers are handed: the in-process seams, nothing more."""
    return ControllerContext(
        client, informers, server.catalog, server.config, server.ca_pem, server.ca_key_pem,
        server.pod_handlers, server.service_handlers, server.ingress_ports)


def start_controllers(server: ApiServer, url: str,
                      ssl_context: ssl.SSLContext) -> list[asyncio.Task[None]]:
    """Start the flavour's controllers against `server` (served at `url`); cancel the tasks
    to stop them."""
    flavour = server.config.flavour
    if flavour not in FLAVOURS:
        raise ValueError(f"unknown sandbox flavour {flavour!r}; use one of {sorted(FLAVOURS)}")
    client = controller_client(server.authn, url, "kube-controller-manager", ssl_context)
    informers = InformerFactory(client, server.catalog)
    namespaces = NamespaceController(client, server.catalog)
    informers.for_type(namespaces.ns_rt).add_handler(namespaces.on_event)
    gc = GarbageCollector(client, server.catalog, informers)
    context = controller_context(server, client, informers)
    controllers = [make(context) for make in FLAVOURS[flavour]]

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
