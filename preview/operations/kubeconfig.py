"""`preview kubeconfig`: a kubeconfig for an environment's virtual cluster, for kubectl.

The syncer publishes the virtual cluster's kubeconfig (Secret `vc-<name>`, server: the
in-cluster Service). `environment_kubeconfig` returns it with the server a developer can
reach (`--server`, e.g. the vcluster's Ingress or LoadBalancer) or as published (reachable
from pods of the host cluster); `tunnel` opens a port-forward through the host API and
yields a kubeconfig pointing at its local end, for as long as the caller stays inside.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from preview import naming
from preview.errors import PreviewError
from preview.kube.client import ApiError
from preview.kube.host import HostCluster
from preview.kube.resources import NAMESPACES
from preview.operations import ownership
from preview.vcluster import connect

log = logging.getLogger(__name__)

def hint(env: naming.Environment) -> str:
    """The command that gives a developer a kubeconfig for `env` (shown after `up`)."""
    app = naming.app_of(env.name, env.pr)
    named = f" --environment {app}" if app else ""
    return f"preview kubeconfig --repo {env.full_name} --pr {env.pr}{named} --tunnel " \
           f"--file {env.name}.kubeconfig"


async def _check(host: HostCluster, env: naming.Environment) -> None:
    """The environment exists; handing out its kubeconfig is activity (it delays sleep)."""
    async with host.client() as kube:
        if await ownership.find(kube, env) is None:
            raise PreviewError(f"{env.full_name} PR {env.pr} has no environment (namespace "
                               f"{env.namespace} does not exist)",
                               "run `preview up` first; `preview list` shows what exists")
        now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        try:
            await kube.patch(NAMESPACES, None, env.namespace, {"metadata": {"annotations": {
                naming.LAST_ACTIVITY: now}}})
        except ApiError as e:  # a read-only credential still gets its kubeconfig
            log.info("could not record activity on %s: %s", env.namespace, e)


async def environment_kubeconfig(host: HostCluster, env: naming.Environment,
                                 server: str | None = None) -> dict[str, Any]:
    """The virtual cluster's kubeconfig; its server is `server` when given (TLS still
    verified against the name in the virtual API's certificate)."""
    await _check(host, env)
    async with host.client() as kube:
        published = await connect.published_kubeconfig(kube, env.vcluster, env.namespace)
    return connect.elsewhere(published, server or published_server(published), env.name)


def published_server(published: dict[str, Any]) -> str:
    """The server of the published kubeconfig's current context (pure)."""
    contexts = {c.get("name"): c.get("context") or {} for c in published.get("contexts") or []}
    clusters = {c.get("name"): c.get("cluster") or {} for c in published.get("clusters") or []}
    context = contexts.get(published.get("current-context")) or {}
    return str((clusters.get(context.get("cluster")) or {}).get("server", ""))


@contextlib.asynccontextmanager
async def tunnel(host: HostCluster, env: naming.Environment, output: Path,
                 local_port: int = 0) -> AsyncIterator[Path]:
    """Keep a port-forward to the virtual API open; yield `output`, a kubeconfig using it
    (written 0600, rewritten if the virtual cluster's credentials change)."""
    await _check(host, env)
    async with host.client() as kube, \
            connect.connect(kube, env.vcluster, env.namespace, local_port=local_port,
                            path=output) as path:
        yield path
