"""Controllers that run inside the emulator process, talking to it over its own HTTP API.

Each controller is a class built from a `ControllerContext` with an async `run()`; they
read through shared informers (`preview.control`'s, over `listwatch.py`) and write through
the API like any client. Which of them a cluster runs, and the node agents and add-ons of
a host cluster beside them, is decided in one place above them all:
`preview/sandbox/cluster/controllers.py`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from preview.sandbox.controllers.client import ApiClient
from preview.sandbox.controllers.listwatch import InformerFactory
from preview.sandbox.machinery.resources import Catalog

if TYPE_CHECKING:
    from preview.sandbox.apiserver.endpoints.server import PodHandler
    from preview.sandbox.cluster.config import ServerConfig


@dataclass
class ControllerContext:
    """What a controller is built from: its API client and shared informers, and the few
    in-process seams a real cluster's components have with their API server too."""

    client: ApiClient
    informers: InformerFactory
    catalog: Catalog  # the served resource types (what an informer or a write names)
    config: ServerConfig  # each part's settings (node count, kubelet timings, ingress ports…)
    # The serving CA: published as kube-root-ca.crt, trusted by runtime hooks; with its key,
    # it signs the host ingress controller's certificates ("": none, as in unit tests).
    ca_pem: bytes
    ca_key_pem: bytes
    # The server's pod and service subresources the kubelet serves (log, exec, attach,
    # portforward, proxy): the kubelet fills them in (kubelet/handlers.py).
    pod_handlers: dict[str, PodHandler]
    service_handlers: dict[str, PodHandler]
    # Where the host ingress controller listens ({"http": port, "https": port}), once it does.
    ingress_ports: dict[str, int]


class Controller(Protocol):
    async def run(self) -> None: ...
