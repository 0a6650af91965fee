"""From an HTTP request to what it asks of the API: path parsing, bodies, options.

Pure functions over the method, path, query and body bytes, so the routing rules of the
real server (`k8s.io/apiserver/pkg/endpoints/request.RequestInfoFactory`) are unit-tested
without a server.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from preview.sandbox.apiserver.encoding import protobuf
from preview.sandbox.apiserver.registry.options import DeleteOptions, ListOptions, WriteOptions
from preview.sandbox.apiserver.registry.registry import PATCH_TYPES
from preview.sandbox.machinery.status import StatusError, bad_request, field_not_supported, invalid

MAX_BODY = 3 * 1024 * 1024  # --max-request-bytes default of kube-apiserver
_NAMESPACE_SUBRESOURCES = ("status", "finalize")


@dataclass(frozen=True)
class RequestInfo:
    """What the path names: a resource request, or a non-resource URL (discovery, health)."""

    path: str
    verb: str
    is_resource: bool
    api_prefix: str = ""  # "api" | "apis"
    group: str = ""
    version: str = ""
    namespace: str = ""
    resource: str = ""
    name: str = ""
    subresource: str = ""
    extra: tuple[str, ...] = ()  # proxy paths after the subresource


def parse_path(method: str, path: str, query: Mapping[str, str]) -> RequestInfo:
    parts = [p for p in path.split("/") if p]
    watch = query.get("watch") in ("1", "true", "True")
    if not parts or parts[0] not in ("api", "apis"):
        return RequestInfo(path, method.lower(), False)
    prefix, rest = parts[0], parts[1:]
    if prefix == "api":
        if not rest:
            return RequestInfo(path, method.lower(), False)
        group, version, rest = "", rest[0], rest[1:]
    else:
        if len(rest) < 2:
            return RequestInfo(path, method.lower(), False)
        group, version, rest = rest[0], rest[1], rest[2:]
    if not rest:
        return RequestInfo(path, method.lower(), False)
    namespace = ""
    if rest[0] == "namespaces" and len(rest) >= 3 and rest[2] not in _NAMESPACE_SUBRESOURCES:
        namespace, rest = rest[1], rest[2:]
    elif rest[0] == "namespaces" and len(rest) >= 2:
        namespace = rest[1]  # the namespace object itself: its own namespace, as the real server
    resource = rest[0]
    name = rest[1] if len(rest) > 1 else ""
    sub = rest[2] if len(rest) > 2 else ""
    extra = tuple(rest[3:])
    verb = _verb(method, bool(name), watch)
    return RequestInfo(path, verb, True, prefix, group, version, namespace, resource, name, sub,
                       extra)


def _verb(method: str, has_name: bool, watch: bool) -> str:
    method = method.upper()
    if method in ("GET", "HEAD"):
        if watch:
            return "watch"
        return "get" if has_name else "list"
    return {"POST": "create", "PUT": "update", "PATCH": "patch",
            "DELETE": "delete" if has_name else "deletecollection"}.get(method, method.lower())


def decode_body(raw: bytes, content_type: str, *, patch: bool = False) -> Any:
    """Parse a request body as the real server's negotiated decoder would, or raise 400/415."""
    media = content_type.split(";")[0].strip().lower()
    if len(raw) > MAX_BODY:
        raise StatusError(413, "RequestEntityTooLarge",
                       f"Request entity too large: limit is {MAX_BODY}")
    if patch:
        if media not in PATCH_TYPES:
            raise StatusError(415, "UnsupportedMediaType",
                           f"the body of the request was in an unknown format - accepted media "
                           f"types include: {', '.join(PATCH_TYPES)}")
        yaml_body = media.endswith("+yaml")
    elif media in ("application/json", ""):
        yaml_body = False
    elif media == "application/yaml":
        yaml_body = True
    elif media == protobuf.MEDIA_TYPE:
        return protobuf.decode(raw)
    else:
        raise StatusError(415, "UnsupportedMediaType",
                       "the body of the request was in an unknown format - accepted media types "
                       "include: application/json, application/yaml")
    if not raw.strip():
        raise bad_request("the request body is empty: an object is required")
    if yaml_body:
        try:
            return yaml.safe_load(raw)
        except yaml.YAMLError as e:
            raise bad_request(f"error converting YAML to JSON: yaml: {_yaml_problem(e)}") from e
    try:
        return json.loads(raw)
    except UnicodeDecodeError as e:
        raise bad_request(f"couldn't get version/kind; json parse error: {e}") from e
    except json.JSONDecodeError as e:
        raise bad_request("couldn't get version/kind; json parse error: "
                          f"{e.msg} at line {e.lineno} column {e.colno}") from e


def _yaml_problem(e: yaml.YAMLError) -> str:
    mark = getattr(e, "problem_mark", None)
    problem = getattr(e, "problem", None) or str(e)
    return f"line {mark.line + 1}: {problem}" if mark else problem


def write_options(query: Mapping[str, str], default_manager: str) -> WriteOptions:
    dry_run = _dry_run(query)
    force = query.get("force", "") in ("true", "1")
    return WriteOptions(dry_run=dry_run, field_manager=query.get("fieldManager") or default_manager,
                        force=force, field_validation=_field_validation(query))


_FIELD_VALIDATION = ["Ignore", "Warn", "Strict"]


def _field_validation(query: Mapping[str, str]) -> str:
    """The `fieldValidation` directive; Warn when absent, as the real server defaults."""
    value = query.get("fieldValidation") or "Warn"
    if value not in _FIELD_VALIDATION:
        raise invalid("CreateOptions", "meta.k8s.io", "", [field_not_supported(
            "fieldValidation", value, _FIELD_VALIDATION)])
    return value


def _dry_run(query: Mapping[str, str]) -> bool:
    value = query.get("dryRun")
    if value is None:
        return False
    if value != "All":
        raise invalid("CreateOptions", "meta.k8s.io", "", [field_not_supported(
            "dryRun", value, ["All"])])
    return True


def list_options(query: Mapping[str, str]) -> ListOptions:
    limit = query.get("limit", "0") or "0"
    try:
        n = int(limit)
    except ValueError:
        raise bad_request(f'limit: Invalid value: "{limit}": must be an integer') from None
    return ListOptions(label_selector=query.get("labelSelector", ""),
                       field_selector=query.get("fieldSelector", ""), limit=max(0, n),
                       continue_token=query.get("continue", ""))


def delete_options(query: Mapping[str, str], body: Any) -> DeleteOptions:
    opts: dict[str, Any] = dict(body) if isinstance(body, dict) else {}
    propagation = query.get("propagationPolicy") or opts.get("propagationPolicy")
    orphan = query.get("orphanDependents") or opts.get("orphanDependents")
    if propagation is None and orphan is not None:
        propagation = "Orphan" if str(orphan).lower() == "true" else "Background"
    if propagation not in (None, "Foreground", "Background", "Orphan"):
        raise invalid("DeleteOptions", "meta.k8s.io", "", [field_not_supported(
            "propagationPolicy", propagation, ["Foreground", "Background", "Orphan"])])
    grace = query.get("gracePeriodSeconds")
    grace_value = opts.get("gracePeriodSeconds") if grace is None else grace
    preconditions = opts.get("preconditions") or {}
    dry = query.get("dryRun") or (opts.get("dryRun") or [None])[0]
    return DeleteOptions(
        propagation=propagation,
        grace_period=int(grace_value) if grace_value is not None else None,
        uid=preconditions.get("uid"), resource_version=preconditions.get("resourceVersion"),
        dry_run=dry == "All")


def default_field_manager(user_agent: str) -> str:
    """The manager name the real server derives from a client's User-Agent."""
    return (user_agent.split("/")[0] or "unknown")[:128]
