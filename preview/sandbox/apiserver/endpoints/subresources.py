"""Subresources with their own shapes: scale, binding, token, eviction, and access reviews."""

from __future__ import annotations

import datetime as dt
from typing import Any

from preview.sandbox.apiserver.auth import rbac
from preview.sandbox.apiserver.auth.auth import Authenticator, Authorizer
from preview.sandbox.apiserver.auth.rbac import Attributes, UserInfo
from preview.sandbox.apiserver.auth.tokens import TokenSigner
from preview.sandbox.apiserver.registry.options import DeleteOptions, WriteOptions
from preview.sandbox.apiserver.registry.registry import Registry
from preview.sandbox.machinery.objects import clone, dig, now
from preview.sandbox.machinery.resources import ResourceType
from preview.sandbox.machinery.status import StatusError, bad_request, conflict, not_found


# -- scale ---------------------------------------------------------------------------------------
def _scale_paths(rt: ResourceType) -> tuple[str, str, str]:
    return rt.scale_paths or (".spec.replicas", ".status.replicas", "")


def _get_path(obj: dict[str, Any], path: str) -> Any:
    return dig(obj, *[p for p in path.split(".") if p])


def to_scale(rt: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
    spec_path, status_path, selector_path = _scale_paths(rt)
    meta = obj["metadata"]
    selector = ""
    if rt.custom:
        selector = _get_path(obj, selector_path) or "" if selector_path else ""
    else:
        sel = dig(obj, "spec", "selector") or {}
        selector = ",".join(f"{k}={v}" for k, v in sorted((sel.get("matchLabels") or {}).items()))
    return {"kind": "Scale", "apiVersion": "autoscaling/v1",
            "metadata": {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion",
                                               "creationTimestamp") if k in meta},
            "spec": {"replicas": _get_path(obj, spec_path) or 0},
            "status": {"replicas": _get_path(obj, status_path) or 0, "selector": selector}}


def apply_scale(rt: ResourceType, obj: dict[str, Any], scale: dict[str, Any]) -> dict[str, Any]:
    replicas = dig(scale, "spec", "replicas")
    if not isinstance(replicas, int) or replicas < 0:
        raise StatusError(422, "Invalid", f'Scale.autoscaling "{obj["metadata"]["name"]}" is '
                       f"invalid: spec.replicas: Invalid value: {replicas}: must be greater than "
                       "or equal to 0")
    out = clone(obj)
    keys = [p for p in _scale_paths(rt)[0].split(".") if p]
    target = out
    for k in keys[:-1]:
        target = target.setdefault(k, {})
    target[keys[-1]] = replicas
    rv = dig(scale, "metadata", "resourceVersion")
    out["metadata"]["resourceVersion"] = rv or obj["metadata"]["resourceVersion"]
    return out


def update_scale(registry: Registry, rt: ResourceType, namespace: str, name: str,
                 scale: dict[str, Any], opts: WriteOptions) -> dict[str, Any]:
    obj = registry.get(rt, namespace, name)
    updated, _ = registry.update(rt, namespace, name, apply_scale(rt, obj, scale), opts)
    return to_scale(rt, updated)


# -- pods/binding ------------------------------------------------------------------------------
def bind(registry: Registry, pod_rt: ResourceType, namespace: str, name: str,
         binding: dict[str, Any]) -> dict[str, Any]:
    """`BindingREST.Create` (pkg/registry/core/pod/storage): set spec.nodeName once."""
    meta = binding.get("metadata") or {}
    if meta.get("name", name) != name:
        raise bad_request("name in URL does not match name in Binding object")
    target = binding.get("target") or {}
    node = target.get("name")
    if not node:
        raise StatusError(422, "Invalid", f'Binding "{name}" is invalid: target.name: Required value')
    pod = registry.get(pod_rt, namespace, name)
    pod_meta = pod["metadata"]
    # The Binding's uid and resourceVersion are storage preconditions (the scheduler sends
    # the uid so that it never binds a pod recreated under the same name).
    for field, label in (("uid", "UID"), ("resourceVersion", "ResourceVersion")):
        if meta.get(field) and meta[field] != pod_meta.get(field):
            raise conflict("pods", "", name, f"Precondition failed: {label} in precondition: "
                           f"{meta[field]}, {label} in object meta: {pod_meta.get(field)}")
    if pod_meta.get("deletionTimestamp"):
        raise conflict("pods/binding", "", name,
                       f"pod {name} is being deleted, cannot be assigned to a host")
    if dig(pod, "spec", "nodeName"):
        raise conflict("pods/binding", "", name, f"pod {name} is already assigned to node "
                       f'"{pod["spec"]["nodeName"]}"')
    # Binding writes spec.nodeName, which a plain update may not: go through storage's
    # status path with the spec change made here, as the real BindingREST does.
    new = clone(pod)
    new["spec"]["nodeName"] = node
    if meta.get("annotations"):
        new["metadata"]["annotations"] = {**(pod_meta.get("annotations") or {}),
                                          **meta["annotations"]}
    status = new.setdefault("status", {})
    scheduled = {"type": "PodScheduled", "status": "True", "lastProbeTime": None,
                 "lastTransitionTime": now()}
    conditions = list(status.get("conditions") or [])
    at = next((i for i, c in enumerate(conditions) if c.get("type") == "PodScheduled"), None)
    if at is None:
        conditions.append(scheduled)
    else:
        conditions[at] = scheduled  # in place, as the real setPodScheduled
    status["conditions"] = conditions
    registry.force_write(pod_rt, pod, new)
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
            "code": 201}


# -- serviceaccounts/token -----------------------------------------------------------------------
def request_token(registry: Registry, signer: TokenSigner, sa_rt: ResourceType, namespace: str,
                  name: str, request: dict[str, Any]) -> dict[str, Any]:
    sa = registry.get(sa_rt, namespace, name)
    spec = request.get("spec") or {}
    expiration = int(spec.get("expirationSeconds") or 3600)
    if expiration < 600:
        raise StatusError(422, "Invalid", 'TokenRequest.authentication.k8s.io "" is invalid: '
                       "spec.expirationSeconds: Invalid value: "
                       f"{expiration}: may not specify a duration less than 10 minutes")
    audiences = list(spec.get("audiences") or ["https://kubernetes.default.svc.cluster.local"])
    bound = spec.get("boundObjectRef")
    token, exp = signer.issue(namespace, name, sa["metadata"]["uid"], audiences, expiration,
                              bound)
    out = {"kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1",
           "metadata": {"name": name, "namespace": namespace, "creationTimestamp": None},
           "spec": {"audiences": audiences, "expirationSeconds": expiration,
                    "boundObjectRef": bound},
           "status": {"token": token, "expirationTimestamp": dt.datetime.fromtimestamp(
               exp, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}}
    return out


# -- pods/eviction -------------------------------------------------------------------------------
def evict(registry: Registry, pod_rt: ResourceType, namespace: str, name: str,
          eviction: dict[str, Any]) -> dict[str, Any]:
    opts = eviction.get("deleteOptions") or {}
    grace = opts.get("gracePeriodSeconds")
    registry.delete(pod_rt, namespace, name, DeleteOptions(
        grace_period=int(grace) if grace is not None else None))
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
            "code": 201}


# -- access reviews ------------------------------------------------------------------------------
def review(kind: str, body: dict[str, Any], user: UserInfo, authorizer: Authorizer,
           namespace: str) -> dict[str, Any]:
    spec = body.get("spec") or {}
    out = clone(body)
    out.setdefault("metadata", {})["creationTimestamp"] = None
    if kind == "SelfSubjectRulesReview":
        resource_rules, non_resource_rules = authorizer.rules(user, spec.get("namespace", ""))
        out["status"] = {"resourceRules": resource_rules, "nonResourceRules": non_resource_rules,
                         "incomplete": False}
        return out
    if kind == "SelfSubjectReview":
        out["status"] = {"userInfo": {"username": user.name, "groups": list(user.groups),
                                      **({"uid": user.uid} if user.uid else {})}}
        return out
    subject = user
    if kind in ("SubjectAccessReview", "LocalSubjectAccessReview"):
        if not spec.get("user") and not spec.get("groups"):
            raise StatusError(422, "Invalid", f'{kind}.authorization.k8s.io "" is invalid: '
                           "spec.user: Invalid value: \"\": at least one of user or group must "
                           "be specified")
        subject = UserInfo(spec.get("user", ""), tuple(spec.get("groups") or ()),
                           uid=spec.get("uid", ""))
    ra = spec.get("resourceAttributes")
    nra = spec.get("nonResourceAttributes")
    if ra:
        ns = ra.get("namespace", "") if kind != "LocalSubjectAccessReview" else namespace
        attrs = Attributes(verb=ra.get("verb", ""), api_group=ra.get("group", ""),
                           resource=ra.get("resource", ""), subresource=ra.get("subresource", ""),
                           namespace=ns, name=ra.get("name", ""), resource_request=True)
    elif nra:
        attrs = Attributes(verb=nra.get("verb", ""), resource_request=False,
                           path=nra.get("path", ""))
    else:
        raise StatusError(422, "Invalid", f'{kind}.authorization.k8s.io "" is invalid: '
                       "spec.resourceAttributes: Required value: exactly one of "
                       "nonResourceAttributes or resourceAttributes must be specified")
    decision = authorizer.decide(subject, attrs)
    out["status"] = {"allowed": decision.allowed}
    if decision.reason:
        out["status"]["reason"] = decision.reason
    return out


def token_review(body: dict[str, Any], authn: Authenticator) -> dict[str, Any]:
    """`authentication.k8s.io/v1` TokenReview: the token's user, as the API server sees it."""
    spec = body.get("spec") or {}
    token = str(spec.get("token") or "")
    if not token:
        raise bad_request("token is required for TokenReview in authentication")
    out = clone(body)
    out.setdefault("metadata", {})["creationTimestamp"] = None
    out["status"] = authn.review(token, list(spec.get("audiences") or []))
    return out


def not_scheduled(name: str) -> StatusError:
    return bad_request(f"pod {name} does not have a host assigned")


__all__ = ["apply_scale", "bind", "evict", "not_found", "rbac", "request_token", "review",
           "to_scale", "update_scale"]
