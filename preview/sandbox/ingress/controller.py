"""The host's ingress controller: serves its Ingresses on loopback and publishes where.

Stands in for ingress-nginx: it claims Ingresses whose class (`spec.ingressClassName`, the
legacy `kubernetes.io/ingress.class` annotation, or, with neither, the default
IngressClass) is an IngressClass with controller `k8s.io/ingress-nginx`. For those it

- serves HTTP and HTTPS on two 127.0.0.1 ports (`ServerConfig.ingress_http_port` /
  `ingress_https_port`, 0 = a free port; the bound ones are on `ApiServer.ingress_ports`),
  routing by host and path (`routes.py`) to the backend Service's ready endpoints
  and on to the pod through the API's `pods/proxy` (`proxy.py`), or, for an ExternalName
  Service, to its name and target port;
- publishes that address in `status.loadBalancer.ingress` as
  `{ip: 127.0.0.1, ports: [{port: HTTP, protocol: TCP}, {port: HTTPS, protocol: TCP}]}`,
  as ingress-nginx publishes its Service's address with `--publish-service`, so a client
  that reads the status (`preview up`'s health check) finds the ports.

Ingresses of other classes are left alone (not served, status untouched).
"""

from __future__ import annotations

import itertools
import logging
import ssl
from typing import Any

from preview.control import Key, WorkQueue, key_of
from preview.kube import tls
from preview.kube.client import Forbidden, NotFound
from preview.sandbox.controllers import ControllerContext
from preview.sandbox.controllers.addons import DEFAULT_INGRESS_CLASS_ANNOTATION, INGRESS_CONTROLLER
from preview.sandbox.ingress.proxy import (
    Answer,
    External,
    IngressServer,
    Redirect,
    Refusal,
    Upstream,
)
from preview.sandbox.ingress.routes import (
    SERVICE_NAME_LABEL,
    decide,
    default_backends,
    external_name,
    ready_endpoints,
    routes,
    service_port,
)

log = logging.getLogger(__name__)
LEGACY_CLASS_ANNOTATION = "kubernetes.io/ingress.class"
# Where the controller listens: loopback, so browsers and curl reach it (`*.localhost`
# resolves there too, RFC 6761).
CONTROLLER_ADDRESS = "127.0.0.1"


def is_default(ingress_class: dict[str, Any]) -> bool:
    annotations = ingress_class["metadata"].get("annotations") or {}
    return annotations.get(DEFAULT_INGRESS_CLASS_ANNOTATION) == "true"


def class_of(ingress: dict[str, Any], classes: list[dict[str, Any]]) -> str:
    """The IngressClass an Ingress asks for ("" when none and no default exists)."""
    name = (ingress.get("spec") or {}).get("ingressClassName")
    if name:
        return str(name)
    legacy = (ingress["metadata"].get("annotations") or {}).get(LEGACY_CLASS_ANNOTATION)
    if legacy:
        return str(legacy)
    defaults = sorted(c["metadata"]["name"] for c in classes if is_default(c))
    return defaults[0] if len(defaults) == 1 else ""


def is_ours(ingress: dict[str, Any], classes: list[dict[str, Any]]) -> bool:
    wanted = class_of(ingress, classes)
    return any(c["metadata"]["name"] == wanted
               and (c.get("spec") or {}).get("controller") == INGRESS_CONTROLLER
               for c in classes)


def load_balancer_status(address: str, ports: tuple[int, ...] = ()) -> dict[str, Any]:
    entry: dict[str, Any] = {"ip": address}
    if ports:
        entry["ports"] = [{"port": p, "protocol": "TCP"} for p in ports]
    return {"loadBalancer": {"ingress": [entry]}}


class IngressController:
    """Publishes the address of the Ingresses it claims and serves them (`resolve`)."""

    def __init__(self, ctx: ControllerContext) -> None:
        self.client = ctx.client
        informer = ctx.informers.informer
        self.ingresses = informer("networking.k8s.io", "v1", "ingresses")
        self.classes = informer("networking.k8s.io", "v1", "ingressclasses")
        self.services = informer("", "v1", "services")
        self.slices = informer("discovery.k8s.io", "v1", "endpointslices")
        self.endpoints = informer("", "v1", "endpoints")
        self.pods = informer("", "v1", "pods")
        self.runtimes = list(ctx.config.runtimes)
        self.queue: WorkQueue[Key] = WorkQueue()
        self.ingresses.add_handler(lambda kind, obj, old: self.queue.add(key_of(obj)))
        self.classes.add_handler(self._on_class)
        self._turns: dict[tuple[str, str], itertools.count[int]] = {}
        ca_pem = ctx.ca_pem
        # The sandbox's own CA signs the HTTPS certificates (a throwaway one when the API
        # server was made without it, as in unit tests of the server alone).
        ca = tls.KeyPair(ca_pem, ctx.ca_key_pem) if ctx.ca_key_pem else \
            tls.new_ca("sandbox-ingress-ca")
        self.server = IngressServer(
            ctx.config.ingress_http_port, ctx.config.ingress_https_port, ca, self.client.url,
            ssl.create_default_context(cadata=ca_pem.decode()) if ca_pem else
            ssl.create_default_context(), self.client.kube.auth_headers, self.resolve)
        ctx.ingress_ports.update(http=self.server.http_port, https=self.server.https_port)

    def _on_class(self, kind: str, obj: dict[str, Any], old: dict[str, Any] | None) -> None:
        for ingress in self.ingresses.list():
            self.queue.add(key_of(ingress))

    async def run(self) -> None:
        await self.server.start()
        try:
            await self.ingresses.synced.wait()
            await self.classes.synced.wait()
            await self.queue.run(self.sync)
        finally:
            await self.server.stop()

    async def sync(self, key: Key) -> float | None:
        ingress = self.ingresses.get(*key)
        if ingress is None or ingress["metadata"].get("deletionTimestamp"):
            return None
        if not is_ours(ingress, self.classes.list()):
            return None  # another controller's (or nobody's): leave its status alone
        status = load_balancer_status(CONTROLLER_ADDRESS,
                                      (self.server.http_port, self.server.https_port))
        if (ingress.get("status") or {}).get("loadBalancer") == status["loadBalancer"]:
            return None
        try:
            await self.client.merge_patch(self.ingresses.rt, *key, {"status": status}, "status")
        except (Forbidden, NotFound):
            return None
        return None

    # -- the data plane's questions ----------------------------------------------------------------
    def resolve(self, host: str, path: str, https: bool) -> Answer:
        """Where a request for `host` and `path` goes (read from the informers' caches)."""
        classes = self.classes.list()
        ours = [i for i in self.ingresses.list()
                if not i["metadata"].get("deletionTimestamp") and is_ours(i, classes)]
        decision = decide(routes(ours), default_backends(ours), host, path)
        backend = decision.backend
        if backend is None:
            return Refusal(404, f"no Ingress rule matches host {host!r} and path {path!r}")
        if decision.redirect_https and not https:
            return Redirect()
        where = f"{backend.namespace}/{backend.service}"
        if backend.resource:
            return Refusal(503, f"Ingress {backend.namespace}/{backend.ingress}: a "
                           f"{backend.resource} backend is not served")
        service = self.services.get(backend.namespace, backend.service)
        if service is None:
            return Refusal(503, f'service "{where}" not found')
        port = service_port(service, backend.port)
        if port is None:
            return Refusal(503, f'service "{where}" has no port {backend.port!r}')
        if (service.get("spec") or {}).get("type") == "ExternalName":
            target = external_name(service, port)
            if isinstance(target, str):
                return Refusal(503, f'service "{where}": {target}')
            return External(*target)
        slices = [s for s in self.slices.list(backend.namespace)
                  if (s["metadata"].get("labels") or {}).get(SERVICE_NAME_LABEL)
                  == backend.service]
        ready = ready_endpoints(port, slices, self.endpoints.get(*key_of(service)))
        if not ready:
            return Refusal(503, f'no ready endpoints for service "{where}"')
        turn = self._turns.setdefault((backend.namespace, backend.service), itertools.count())
        endpoint = ready[next(turn) % len(ready)]  # round robin, as nginx's default
        pod = self.pods.get(backend.namespace, endpoint.pod)
        if pod is None:
            return Refusal(503, f'no ready endpoints for service "{where}"')
        if not any(r.matches(pod) for r in self.runtimes):
            return Refusal(502, f"pod {backend.namespace}/{endpoint.pod} is a simulated "
                           f"container: nothing listens on port {endpoint.port} in the "
                           "sandbox (only pods a runtime hook runs, such as python images, "
                           "serve traffic; see docs/sandbox.md)")
        return Upstream(backend.namespace, endpoint.pod, endpoint.port)
