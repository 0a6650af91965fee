"""The emulator's HTTP server: authentication, routing, and the verbs of every resource.

One asyncio event loop serves every request (the component's one concurrency model);
the store and registry are plain synchronous code called from it, so each write is atomic.
"""

from __future__ import annotations

import json
import logging
import ssl
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import yaml
from aiohttp import web

from preview.sandbox.apiserver import admission
from preview.sandbox.apiserver.auth import certs
from preview.sandbox.apiserver.auth.auth import Authenticator, Authorizer, impersonate
from preview.sandbox.apiserver.auth.rbac import Attributes, UserInfo
from preview.sandbox.apiserver.auth.tokens import TokenSigner
from preview.sandbox.apiserver.encoding import openapi_protobuf
from preview.sandbox.apiserver.endpoints import (
    discovery,
    kubelet_proxy,
    openapi,
    subresources,
    watch,
)
from preview.sandbox.apiserver.endpoints.printers import table as tables
from preview.sandbox.apiserver.endpoints.requests import (
    MAX_BODY,
    RequestInfo,
    decode_body,
    default_field_manager,
    delete_options,
    list_options,
    parse_path,
    write_options,
)
from preview.sandbox.apiserver.registry import cluster_addons, crds, platform_kinds
from preview.sandbox.apiserver.registry.options import WriteOptions
from preview.sandbox.apiserver.registry.registry import Registry
from preview.sandbox.apiserver.registry.strategies import Strategies
from preview.sandbox.apiserver.storage.store import Store
from preview.sandbox.machinery import warnings
from preview.sandbox.machinery.resources import REVIEW_GROUPS, Catalog, ResourceType
from preview.sandbox.machinery.status import StatusError, method_not_allowed, not_found, success

log = logging.getLogger(__name__)
if TYPE_CHECKING:
    from preview.sandbox.cluster.config import ServerConfig

_NOT_FOUND = StatusError(404, "NotFound", "the server could not find the requested resource")
# Kinds whose registry sets ReturnDeletedObject: a DELETE answers with the object, not a
# Status (the clients generated from the OpenAPI spec decode it as such).
_RETURNS_DELETED_OBJECT = frozenset({
    "Pod", "Service", "Namespace", "PersistentVolumeClaim", "PersistentVolume", "PodTemplate",
    "ResourceQuota", "ServiceAccount", "StorageClass", "CSIDriver", "CSINode",
    "VolumeAttachment"})
PodHandler = Callable[[web.Request, dict[str, Any], RequestInfo], Awaitable[web.StreamResponse]]


class ApiServer:
    """Holds the cluster state and answers the Kubernetes REST API over aiohttp."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.store = Store(self.config.history)
        self.catalog = Catalog()
        self.openapi_v2 = openapi.V2Documents(self.catalog)
        self.strategies = Strategies(self.store, self.catalog, self.config.service_cidr)
        self.registry = Registry(self.store, self.catalog, self.strategies)
        self.strategies.admission.extend(admission.plugins(self.store))
        self.signer = TokenSigner()
        self.authn = Authenticator(self.store, self.signer)
        self.authz = Authorizer(self.store)
        self.authn.add_token(self.config.admin_token, UserInfo(
            "sandbox-admin", ("system:masters", "system:authenticated")))
        self.address = ""
        # The serving CA (PEM), published in every namespace as the kube-root-ca.crt ConfigMap.
        self.ca_pem = b""
        self.ca_key_pem = b""  # its key: the host ingress controller's certificates
        # Where the host ingress controller serves ({"http": port, "https": port}); set when
        # the controller starts (host flavour only).
        self.ingress_ports: dict[str, int] = {}
        # Pod subresources served by the kubelet (log, portforward, proxy): set by the host
        # flavour; without a kubelet the real answers for an unscheduled pod apply.
        self.pod_handlers: dict[str, PodHandler] = {}
        # Without a kubelet of its own (virtual flavour), logs come from the node's kubelet
        # endpoint, as the real server fetches them (the host flavour's kubelet replaces it).
        # How it dials them: False, unverified and without a client certificate; with a data
        # directory (k3s's certificates), the context of its kubelet client certificate.
        self.kubelet_tls: ssl.SSLContext | bool = False
        self.pod_handlers["log"] = kubelet_proxy.log_handler(self.catalog, self.store,
                                                             lambda: self.kubelet_tls)
        for sub in ("exec", "attach", "portforward"):
            self.pod_handlers[sub] = kubelet_proxy.stream_handler(
                self.catalog, self.store, sub, lambda: self.kubelet_tls)
        # services/proxy, also served by the kubelet (it knows where pods listen).
        self.service_handlers: dict[str, PodHandler] = {}
        self.app = web.Application(client_max_size=MAX_BODY + 1024 * 1024)
        self.app.router.add_route("*", "/{tail:.*}", self.dispatch)
        self._bootstrap()

    def _bootstrap(self) -> None:
        """What a new cluster holds: namespaces, RBAC, APIServices, Services, add-ons."""
        ip = str(self.strategies.cluster_ips.network.network_address + 1)
        for obj in cluster_addons.initial_objects(self.catalog, self.config.flavour,
                                                  self.config.service_cidr, ip):
            rt = self.catalog.by_kind(obj["apiVersion"], obj["kind"])
            assert rt is not None
            self.registry.create(rt, obj["metadata"].get("namespace", ""), obj, WriteOptions())

    # -- entry ---------------------------------------------------------------------------------
    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        with warnings.recording() as found:
            response = await self._serve(request)
        if found and not response.prepared:
            for text in found:
                response.headers.add("Warning", warnings.header(text))
        return response

    async def _serve(self, request: web.Request) -> web.StreamResponse:
        try:
            peer = request.transport.get_extra_info("peercert") if request.transport else None
            user = self.authn.authenticate(request.headers, certs.peer_user(peer))
            user = impersonate(self.authz, user, request.headers)
            info = parse_path(request.method, request.path, request.query)
            if not info.is_resource:
                self.authz.check(user, Attributes(verb=info.verb, resource_request=False,
                                                  path=request.path))
                return await self._non_resource(request)
            return await self._resource(request, info, user)
        except StatusError as e:
            return _status_response(e)
        except web.HTTPRequestEntityTooLarge:
            return _status_response(StatusError(413, "RequestEntityTooLarge",
                                             f"Request entity too large: limit is {MAX_BODY}"))
        except Exception as e:
            log.exception("internal error serving %s %s", request.method, request.path)
            return _status_response(StatusError(500, "InternalError",
                                             f"Internal error occurred: {e}"))

    async def _non_resource(self, request: web.Request) -> web.StreamResponse:
        path = request.path.rstrip("/") or "/"
        if path in ("/healthz", "/livez", "/readyz"):
            return web.Response(text="ok", content_type="text/plain")
        if path == "/version":
            return _json(discovery.version_info())
        if path == "/api":
            return _json(discovery.api_versions(self.address))
        if path == "/apis":
            return _json(discovery.api_group_list(self.catalog))
        parts = path.strip("/").split("/")
        if parts[0] == "api" and len(parts) == 2:
            doc = discovery.resource_list(self.catalog, "", parts[1])
            return _json(doc) if doc else _status_response(_NOT_FOUND)
        if parts[0] == "apis" and len(parts) == 2:
            group_doc = discovery.api_group(self.catalog, parts[1])
            return _json(group_doc) if group_doc else _status_response(_NOT_FOUND)
        if parts[0] == "apis" and len(parts) == 3:
            doc = discovery.resource_list(self.catalog, parts[1], parts[2])
            return _json(doc) if doc else _status_response(_NOT_FOUND)
        if path == "/openapi/v2":
            return self._openapi_v2(request)
        if path == "/openapi/v3":
            return _json(openapi.openapi_v3_index(self.catalog, self._custom_schemas()))
        if path.startswith("/openapi/v3/"):
            gv = path.removeprefix("/openapi/v3/").split("/")
            if gv[0] == "api" and len(gv) == 2:
                group, version = "", gv[1]
            elif gv[0] == "apis" and len(gv) == 3:
                group, version = gv[1], gv[2]
            else:
                return web.Response(status=404, text="404 page not found\n")
            if not self.catalog.in_group_version(group, version):
                return web.Response(status=404, text="404 page not found\n")
            return _json(openapi.openapi_v3_group_version(self.catalog, group, version,
                                                          self._custom_schemas()))
        return web.Response(status=404, text="404 page not found\n", content_type="text/plain")

    def _custom_schemas(self) -> dict[tuple[str, str, str], dict[str, Any]]:
        return crds.schemas_by_kind(self.store.list(crds.STORAGE))

    def _openapi_v2(self, request: web.Request) -> web.Response:
        media = openapi_protobuf.negotiate(request.headers.get("Accept", ""))
        if media is None:
            return web.Response(status=406, headers={"Vary": "Accept"})
        body, etag = self.openapi_v2.get(media)
        headers = {"Vary": "Accept", "Etag": etag}
        if openapi.none_match(request.headers.get("If-None-Match", ""), etag):
            return web.Response(status=304, headers=headers)
        return web.Response(body=body, content_type=media, headers=headers)

    # -- resources -----------------------------------------------------------------------------
    async def _resource(self, request: web.Request, info: RequestInfo,
                        user: UserInfo) -> web.StreamResponse:
        rt = self.catalog.find(info.group, info.version, info.resource)
        if rt is None:
            raise _NOT_FOUND
        namespaced_path = bool(info.namespace) and not (rt.kind == "Namespace" and rt.group == "")
        if rt.namespaced != namespaced_path and not (rt.namespaced and not info.name
                                                     and info.verb in ("list", "watch")):
            raise _NOT_FOUND
        if info.subresource and info.subresource not in rt.subresources:
            raise _NOT_FOUND
        verb = info.verb
        if verb not in rt.verbs and not info.subresource:
            raise method_not_allowed()
        if verb == "create" and info.name and not info.subresource:
            raise method_not_allowed()  # POST goes to the collection; no route takes a name
        self.authz.check(user, Attributes(
            verb=verb, api_group=rt.group, resource=rt.resource, subresource=info.subresource,
            namespace=info.namespace if rt.namespaced or rt.kind == "Namespace" else "",
            name=info.name, resource_request=True))
        ns = info.namespace if rt.namespaced else ""
        query = dict(request.query)
        if info.subresource:
            return await self._subresource(request, rt, info, user, query)
        if rt.group in REVIEW_GROUPS:
            body = decode_body(await request.read(), _content_type(request))
            if rt.kind == "TokenReview":
                return _json(subresources.token_review(body, self.authn), 201)
            out = subresources.review(rt.kind, body, user, self.authz, ns)
            return _json(out, 201)
        manager = default_field_manager(request.headers.get("User-Agent", ""))
        if verb == "get":
            return self._render(request, rt, self.registry.get(rt, ns, info.name))
        if verb == "list":
            listed = self.registry.list(rt, ns if rt.namespaced and info.namespace else None,
                                        list_options(query))
            return self._render(request, rt, listed)
        if verb == "watch":
            opts = list_options(query)
            matcher = self.registry.matcher(rt, opts.label_selector, opts.field_selector)
            if info.name:
                by_name = matcher
                matcher = lambda o: o["metadata"]["name"] == info.name and by_name(o)  # noqa: E731
            render = tables.renderer(rt, request.headers.get("Accept", ""), query)
            return await watch.serve(request, self.store, rt, ns or None, matcher, query,
                                     self.config.bookmark_interval, render)
        if verb == "create":
            body = decode_body(await request.read(), _content_type(request))
            if rt.kind == "CertificateSigningRequest" and isinstance(body, dict):
                platform_kinds.requester(body, user.name, user.groups, user.uid)
            return _json(self.registry.create(rt, ns, body, write_options(query, manager)), 201)
        if verb == "update":
            body = decode_body(await request.read(), _content_type(request))
            out, created = self.registry.update(rt, ns, info.name, body,
                                                write_options(query, manager))
            return _json(out, 201 if created else 200)
        if verb == "patch":
            raw = await request.read()
            body = decode_body(raw, _content_type(request), patch=True)
            # Apply names its manager explicitly (the registry refuses it without one);
            # other patches default to the client's User-Agent, as the real server does.
            applying = _content_type(request).startswith("application/apply-patch")
            write_opts = write_options(query, "" if applying else manager)
            out, created = self.registry.patch(rt, ns, info.name, _content_type(request), body,
                                               write_opts)
            return _json(out, 201 if created else 200)
        if verb == "delete":
            raw = await request.read()
            body = decode_body(raw, _content_type(request)) if raw.strip() else None
            out, deleted = self.registry.delete(rt, ns, info.name, delete_options(query, body))
            if deleted and rt.kind not in _RETURNS_DELETED_OBJECT:
                return _json(success(rt.resource, info.name, rt.group) | {
                    "details": {"name": info.name, "group": rt.group, "kind": rt.resource,
                                "uid": out["metadata"]["uid"]}})
            return _json(out)
        if verb == "deletecollection":
            raw = await request.read()
            body = decode_body(raw, _content_type(request)) if raw.strip() else None
            out = self.registry.delete_collection(rt, ns or None, list_options(query),
                                                  delete_options(query, body))
            return _json(out)
        raise method_not_allowed()

    async def _subresource(self, request: web.Request, rt: ResourceType, info: RequestInfo,
                           user: UserInfo, query: dict[str, str]) -> web.StreamResponse:
        ns = info.namespace if rt.namespaced else ""
        sub, method = info.subresource, request.method
        manager = default_field_manager(request.headers.get("User-Agent", ""))
        if sub in ("status", "finalize", "approval", "ephemeralcontainers"):
            if method == "GET":
                return _json(self.registry.get(rt, ns, info.name))
            raw = await request.read()
            if method == "PUT":
                out, _ = self.registry.update(rt, ns, info.name, decode_body(
                    raw, _content_type(request)), write_options(query, manager), sub)
                return _json(out)
            if method == "PATCH" and sub in ("status", "approval", "ephemeralcontainers"):
                out, _ = self.registry.patch(rt, ns, info.name, _content_type(request), decode_body(
                    raw, _content_type(request), patch=True), write_options(query, manager), sub)
                return _json(out)
        elif sub == "scale":
            if method == "GET":
                return _json(subresources.to_scale(rt, self.registry.get(rt, ns, info.name)))
            raw = await request.read()
            if method == "PUT":
                return _json(subresources.update_scale(
                    self.registry, rt, ns, info.name, decode_body(raw, _content_type(request)),
                    write_options(query, manager)))
            if method == "PATCH":
                from preview.sandbox.apiserver.apply import patch as patching
                current = subresources.to_scale(rt, self.registry.get(rt, ns, info.name))
                body = decode_body(raw, _content_type(request), patch=True)
                if _content_type(request).startswith("application/json-patch"):
                    scale = patching.json_patch(current, body)
                else:
                    scale = patching.json_merge_patch(current, body)
                return _json(subresources.update_scale(self.registry, rt, ns, info.name, scale,
                                                       write_options(query, manager)))
        elif sub == "binding" and method == "POST":
            body = decode_body(await request.read(), _content_type(request))
            return _json(subresources.bind(self.registry, rt, ns, info.name, body), 201)
        elif sub == "eviction" and method == "POST":
            body = decode_body(await request.read(), _content_type(request))
            return _json(subresources.evict(self.registry, rt, ns, info.name, body), 201)
        elif sub == "token" and method == "POST":
            body = decode_body(await request.read(), _content_type(request))
            return _json(subresources.request_token(self.registry, self.signer, rt, ns,
                                                    info.name, body), 201)
        elif sub == "proxy" and rt.kind == "Service" and "proxy" in self.service_handlers:
            # `[scheme:]name[:port]`: the handler picks the port; the object is the Service.
            service = self.registry.get(rt, ns, proxy_target(info.name)[1])
            return await self.service_handlers["proxy"](request, service, info)
        elif sub in ("log", "portforward", "proxy", "exec", "attach"):
            name = proxy_target(info.name)[1] if sub == "proxy" else info.name
            pod = self.registry.get(rt, ns, name)
            handler = self.pod_handlers.get(sub) if rt.kind == "Pod" else None
            if handler is None and rt.kind == "Pod":
                if not (pod.get("spec") or {}).get("nodeName"):
                    raise subresources.not_scheduled(info.name)
                raise StatusError(503, "ServiceUnavailable",
                               f"no kubelet serves node {pod['spec']['nodeName']!r} in this "
                               "sandbox")
            if handler is None:
                raise _NOT_FOUND
            return await handler(request, pod, info)
        raise method_not_allowed()

    def _render(self, request: web.Request, rt: ResourceType,
                obj: dict[str, Any]) -> web.StreamResponse:
        accept = request.headers.get("Accept", "")
        table = tables.render(rt, obj, accept, dict(request.query))
        if table is not None:
            return _json(table)
        if "application/yaml" in accept and "application/json" not in accept:
            return web.Response(body=yaml.safe_dump(obj).encode(),
                                content_type="application/yaml")
        return _json(obj)


def proxy_target(name: str) -> tuple[str, str, str]:
    """`[scheme:]name[:port]` of a proxy path, as `net.SplitSchemeNamePort` reads it."""
    parts = name.split(":")
    if len(parts) == 3:
        return parts[0], parts[1], parts[2]
    if len(parts) == 2:
        return "", parts[0], parts[1]
    return "", name, ""


def _json(obj: Any, status: int = 200) -> web.Response:
    return web.Response(body=json.dumps(obj, separators=(",", ":")).encode(), status=status,
                        content_type="application/json")


def _status_response(e: StatusError) -> web.Response:
    headers = {"Retry-After": str(e.retry_after)} if e.retry_after is not None else None
    # Compact, with the trailing newline of Go's json.Encoder, as the real server writes it.
    body = json.dumps(e.status(), separators=(",", ":")) + "\n"
    return web.Response(body=body.encode(), status=e.code,
                        content_type="application/json", headers=headers)


def _content_type(request: web.Request) -> str:
    """The raw Content-Type: an absent one means JSON to the real server, so keep it empty.

    (aiohttp's `request.content_type` would report `application/octet-stream` instead.)
    """
    return request.headers.get("Content-Type", "")


__all__ = ["ApiServer", "not_found"]

