"""Controllers that run inside the emulator process, talking to it over its own HTTP API."""

from __future__ import annotations

import asyncio
import secrets
import ssl
from typing import TYPE_CHECKING

from preview.sandbox.controllers.client import ApiClient
from preview.sandbox.controllers.garbage_collector import GarbageCollector
from preview.sandbox.controllers.namespace import NamespaceController
from preview.sandbox.rbac import UserInfo

if TYPE_CHECKING:
    from preview.sandbox.server import ApiServer


def controller_client(server: ApiServer, url: str, name: str,
                      ssl_context: ssl.SSLContext) -> ApiClient:
    """A client with its own token, authenticated as a privileged system component."""
    token = secrets.token_urlsafe(24)
    server.authn.add_token(token, UserInfo(f"system:{name}",
                                           ("system:masters", "system:authenticated")))
    return ApiClient(url, token, f"{name}/sandbox", ssl_context)


def start_controllers(server: ApiServer, url: str,
                      ssl_context: ssl.SSLContext) -> list[asyncio.Task[None]]:
    client = controller_client(server, url, "kube-controller-manager", ssl_context)
    namespaces = NamespaceController(client, server.catalog)
    gc = GarbageCollector(client, server.catalog)
    ns_rt = namespaces.ns_rt

    tasks = [
        asyncio.create_task(client.informer(ns_rt, namespaces.on_event)),
        asyncio.create_task(namespaces.queue.run(namespaces.sync)),
        asyncio.create_task(gc.run()),
    ]
    tasks.append(asyncio.create_task(_close_on_cancel(client)))
    return tasks


async def _close_on_cancel(client: ApiClient) -> None:
    try:
        await asyncio.Event().wait()
    finally:
        await client.close()
