"""While an environment sleeps, its URL answers with the platform API's wake page.

Sleep, once the control plane's pod is gone (so its syncer, which owns the host Ingresses,
is not running), points every host Ingress of the environment at Service `preview-wake`
(`naming.WAKE_SERVICE`): an ExternalName Service in the environment's namespace naming the
policy's `wakePage` (the API's wake listener), since an Ingress backend must be a Service of
its own namespace. The Ingress's spec before is recorded on it (`naming.SLEEP_INGRESS`) and
it is labelled `naming.WAKE_PAGE`, which is how the wake page finds it by its host.

Wake restores them last: when the control plane comes back its syncer keeps the spec of a
host Ingress that carries the record (`syncer/kinds/ingresses.py`), so the URL goes on
answering with the wake page while the workloads start; once they are ready and their host
Services have ready endpoints, each Ingress gets its recorded spec back exactly, the record
and the label removed, and the wake Service is deleted. Only objects the environment owns
are changed: host Ingresses its syncer made (`naming.is_owned`), and a wake Service
labelled as ours.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from preview import naming, sleeping
from preview.errors import PreviewError
from preview.kube.client import AlreadyExists, Conflict, KubeClient, NotFound
from preview.kube.resources import ENDPOINTS, INGRESSES, SERVICES
from preview.policy.model import WakePagePolicy
from preview.vcluster.model import Progress

POLL_SECONDS = 0.5
ATTEMPTS = 5  # a write that meets a newer version is read again and retried this often


def _copies(env: naming.Environment) -> str:
    return (f"{naming.MANAGED_BY}={naming.SYNCER_VALUE},"
            f"{naming.VCLUSTER}={naming.label_value(env.vcluster)}")


def _labels(env: naming.Environment) -> dict[str, str]:
    return {naming.MANAGED_BY: naming.MANAGED_BY_VALUE, naming.REPO: env.repo_label,
            naming.PR: str(env.pr), naming.ENVIRONMENT: env.name}


async def _ingresses(kube: KubeClient, env: naming.Environment) -> list[dict[str, Any]]:
    listed = (await kube.list(INGRESSES, env.namespace, _copies(env))).get("items") or []
    return [i for i in listed if naming.is_owned(i, env.vcluster)]


async def point_at_wake_page(kube: KubeClient, env: naming.Environment,
                             wake: WakePagePolicy, progress: Progress) -> tuple[str, ...]:
    """Point the environment's host Ingresses at the wake page (see the module's docstring);
    the names of those changed."""
    ingresses = await _ingresses(kube, env)
    if not ingresses:
        return ()
    await _ensure_service(kube, env, wake)
    changed = []
    for ingress in ingresses:
        if await _rewrite(kube, env, ingress, lambda i: sleeping.asleep_ingress(i, wake.port)):
            name = ingress["metadata"]["name"]
            progress(f"ingress {name}: points at the wake page "
                     f"({wake.service}:{wake.port}) while asleep")
            changed.append(name)
    return tuple(changed)


async def restore(kube: KubeClient, env: naming.Environment, deadline: float,
                  progress: Progress) -> tuple[str, ...]:
    """Give every host Ingress that points at the wake page its recorded spec back, once
    the Services it names have ready endpoints (or at `deadline`), and delete the wake
    Service; the names of the Ingresses restored."""
    asleep = [i for i in await _ingresses(kube, env)
              if naming.SLEEP_INGRESS in (i["metadata"].get("annotations") or {})]
    restored = []
    for ingress in asleep:
        try:
            spec = sleeping.recorded_spec(ingress)
        except ValueError as e:
            raise PreviewError(str(e), "then run `preview wake` again") from None
        await _until_endpoints(kube, env.namespace, sleeping.backend_services(spec or {}),
                               deadline, progress)
        if await _rewrite(kube, env, ingress, sleeping.awake_ingress):
            name = ingress["metadata"]["name"]
            progress(f"ingress {name}: restored (the app answers at its URL again)")
            restored.append(name)
    service = await kube.get(SERVICES, env.namespace, naming.WAKE_SERVICE)
    if service is not None and _ours(service, env):
        await kube.delete(SERVICES, env.namespace, naming.WAKE_SERVICE,
                          uid=service["metadata"].get("uid"))
    return tuple(restored)


def _ours(obj: dict[str, Any], env: naming.Environment) -> bool:
    labels = obj["metadata"].get("labels") or {}
    return all(labels.get(k) == v for k, v in _labels(env).items())


async def _ensure_service(kube: KubeClient, env: naming.Environment,
                          wake: WakePagePolicy) -> None:
    wanted = sleeping.wake_service(env.namespace, wake.service, wake.port, _labels(env))
    try:
        await kube.create(SERVICES, env.namespace, wanted)
        return
    except AlreadyExists:
        pass
    existing = await kube.get(SERVICES, env.namespace, naming.WAKE_SERVICE)
    if existing is None or not _ours(existing, env):
        raise PreviewError(
            f"Service {env.namespace}/{naming.WAKE_SERVICE} exists and is not the wake "
            "page's (its labels do not name this environment): the URL cannot be pointed "
            "at the wake page", f"delete it (`kubectl -n {env.namespace} delete service "
            f"{naming.WAKE_SERVICE}`) if nothing needs it, then sleep again")
    await kube.patch(SERVICES, env.namespace, naming.WAKE_SERVICE, {"spec": wanted["spec"]})


async def _rewrite(kube: KubeClient, env: naming.Environment, ingress: dict[str, Any],
                   make: Any) -> bool:
    """Replace `ingress` with `make(ingress)` (None: nothing to do), read again and retried
    when it changed meanwhile; False when nothing was written."""
    meta = ingress["metadata"]
    for _ in range(ATTEMPTS):
        try:
            wanted = make(ingress)
        except ValueError as e:
            raise PreviewError(str(e), "then run the command again") from None
        if wanted is None:
            return False
        try:
            await kube.replace(INGRESSES, env.namespace, meta["name"], wanted)
            return True
        except NotFound:
            return False
        except Conflict:
            fresh = await kube.get(INGRESSES, env.namespace, meta["name"])
            if fresh is None or not naming.is_owned(fresh, env.vcluster):
                return False
            ingress = fresh
    raise PreviewError(f"ingress {env.namespace}/{meta['name']} kept changing while being "
                       "written", "run the command again")


async def _until_endpoints(kube: KubeClient, namespace: str, services: tuple[str, ...],
                           deadline: float, progress: Progress) -> None:
    """Until each Service has a ready address, or `deadline` (then the Ingress is restored
    anyway: the environment is awake, its app is what does not answer)."""
    said = False
    for name in services:
        while True:
            endpoints = await kube.get(ENDPOINTS, namespace, name)
            if any(s.get("addresses") for s in (endpoints or {}).get("subsets") or []):
                break
            if time.monotonic() > deadline:
                progress(f"service {name} has no ready endpoint yet: restoring its ingress "
                         "anyway")
                break
            if not said:
                progress(f"waiting for service {name} to have a ready endpoint")
                said = True
            await asyncio.sleep(POLL_SECONDS)
