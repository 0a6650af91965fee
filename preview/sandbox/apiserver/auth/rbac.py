"""The RBAC authorizer: Roles, ClusterRoles and their bindings decide every request.

Semantics of `plugin/pkg/auth/authorizer/rbac`: a request is allowed when any rule of any
role bound to the user (or one of their groups) covers it. ClusterRoleBindings apply
everywhere; RoleBindings only in their namespace, even when they reference a ClusterRole.
Aggregated ClusterRoles are expanded by `controllers/clusterroleaggregation.py`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class UserInfo:
    name: str
    groups: tuple[str, ...] = ()
    uid: str = ""
    extra: tuple[tuple[str, str], ...] = field(default=())


@dataclass(frozen=True)
class Attributes:
    verb: str
    api_group: str = ""
    resource: str = ""
    subresource: str = ""
    namespace: str = ""
    name: str = ""
    resource_request: bool = True
    path: str = ""


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str = ""


Roles = dict[tuple[str, str], dict[str, Any]]
ClusterRoles = dict[str, dict[str, Any]]


def request_verb(method: str, is_collection: bool, watch: bool) -> str:
    method = method.upper()
    if method in ("GET", "HEAD"):
        return "watch" if watch else ("list" if is_collection else "get")
    return {"POST": "create", "PUT": "update", "PATCH": "patch",
            "DELETE": "deletecollection" if is_collection else "delete"}.get(method, "")


def _subject_matches(subject: dict[str, Any], user: UserInfo, binding_ns: str) -> bool:
    kind = subject.get("kind")
    if kind == "User":
        return bool(subject.get("name") == user.name)
    if kind == "Group":
        return subject.get("name") in user.groups
    if kind == "ServiceAccount":
        ns = subject.get("namespace") or binding_ns
        return user.name == f"system:serviceaccount:{ns}:{subject.get('name')}"
    return False


def _has(values: list[str] | None, wanted: str) -> bool:
    return bool(values) and ("*" in values or wanted in values)  # type: ignore[operator]


def rule_allows(rule: dict[str, Any], attrs: Attributes) -> bool:
    if not _has(rule.get("verbs"), attrs.verb):
        return False
    if not attrs.resource_request:
        for url in rule.get("nonResourceURLs") or []:
            if url == "*" or url == attrs.path or (
                    url.endswith("*") and attrs.path.startswith(url[:-1])):
                return True
        return False
    if rule.get("nonResourceURLs") and not rule.get("resources"):
        return False
    if not _has(rule.get("apiGroups"), attrs.api_group):
        return False
    combined = f"{attrs.resource}/{attrs.subresource}" if attrs.subresource else attrs.resource
    resources = rule.get("resources") or []
    if not ("*" in resources or combined in resources or
            (attrs.subresource and f"*/{attrs.subresource}" in resources)):
        return False
    names = rule.get("resourceNames") or []
    return not names or attrs.name in names


def _bound_rules(user: UserInfo, namespace: str, roles: Roles, cluster_roles: ClusterRoles,
                 role_bindings: list[dict[str, Any]],
                 cluster_role_bindings: list[dict[str, Any]]
                 ) -> Iterator[tuple[str, dict[str, Any]]]:
    """(source description, rule) for every rule that applies to `user` in `namespace`."""
    for crb in cluster_role_bindings:
        if any(_subject_matches(s, user, "") for s in crb.get("subjects") or []):
            ref = crb.get("roleRef") or {}
            role = cluster_roles.get(ref.get("name", "")) if ref.get("kind") == "ClusterRole" \
                else None
            for rule in (role or {}).get("rules") or []:
                yield f'RBAC: allowed by ClusterRoleBinding "{crb["metadata"]["name"]}"', rule
    if not namespace:
        return
    for rb in role_bindings:
        rb_ns = rb["metadata"].get("namespace", "")
        if rb_ns != namespace:
            continue
        if not any(_subject_matches(s, user, rb_ns) for s in rb.get("subjects") or []):
            continue
        ref = rb.get("roleRef") or {}
        if ref.get("kind") == "ClusterRole":
            role = cluster_roles.get(ref.get("name", ""))
        else:
            role = roles.get((rb_ns, ref.get("name", "")))
        for rule in (role or {}).get("rules") or []:
            yield f'RBAC: allowed by RoleBinding "{rb["metadata"]["name"]}/{rb_ns}"', rule


def authorize(user: UserInfo, attrs: Attributes, roles: Roles, cluster_roles: ClusterRoles,
              role_bindings: list[dict[str, Any]],
              cluster_role_bindings: list[dict[str, Any]]) -> Decision:
    if "system:masters" in user.groups:
        return Decision(True, "system:masters")
    for source, rule in _bound_rules(user, attrs.namespace, roles, cluster_roles, role_bindings,
                                     cluster_role_bindings):
        if rule_allows(rule, attrs):
            return Decision(True, source)
    return Decision(False, "")


def forbidden_message(user: UserInfo, attrs: Attributes) -> str:
    """The 403 text of `responsewriters.forbiddenMessage`."""
    if not attrs.resource_request:
        return f'forbidden: User "{user.name}" cannot {attrs.verb} path "{attrs.path}"'
    resource = attrs.resource
    if attrs.api_group:
        resource = f"{resource}.{attrs.api_group}"
    subject = f'{resource} "{attrs.name}"' if attrs.name else resource
    what = f"{attrs.resource}/{attrs.subresource}" if attrs.subresource else attrs.resource
    scope = f'in the namespace "{attrs.namespace}"' if attrs.namespace else "at the cluster scope"
    return (f'{subject} is forbidden: User "{user.name}" cannot {attrs.verb} resource "{what}" '
            f'in API group "{attrs.api_group}" {scope}')


def rules_for(user: UserInfo, namespace: str, roles: Roles, cluster_roles: ClusterRoles,
              role_bindings: list[dict[str, Any]], cluster_role_bindings: list[dict[str, Any]]
              ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Resource and non-resource rules for a SelfSubjectRulesReview."""
    if "system:masters" in user.groups:
        return ([{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
                [{"verbs": ["*"], "nonResourceURLs": ["*"]}])
    resource_rules: list[dict[str, Any]] = []
    non_resource_rules: list[dict[str, Any]] = []
    for _, rule in _bound_rules(user, namespace, roles, cluster_roles, role_bindings,
                                cluster_role_bindings):
        if rule.get("nonResourceURLs"):
            non_resource_rules.append({"verbs": rule.get("verbs") or [],
                                       "nonResourceURLs": rule["nonResourceURLs"]})
        else:
            out = {k: rule[k] for k in ("verbs", "apiGroups", "resources", "resourceNames")
                   if rule.get(k)}
            resource_rules.append(out)
    return resource_rules, non_resource_rules
