"""The ClusterRoles and ClusterRoleBindings a real cluster starts with, and role aggregation.

The content of the RBAC bootstrap policy (`plugin/pkg/auth/authorizer/rbac/bootstrappolicy`):
`cluster-admin`; `admin`, `edit`, `view` aggregated from the `system:aggregate-to-*` roles
(and from any ClusterRole labelled `rbac.authorization.k8s.io/aggregate-to-<role>: "true"`,
as charts do); the `system:` roles that charts bind (`system:auth-delegator`,
`system:kube-dns`, `system:node-proxier`, …) and their default bindings. Pure.
"""

from __future__ import annotations

from typing import Any

from preview.sandbox.machinery.selectors import from_label_selector_object

_RBAC = "rbac.authorization.k8s.io"
READ = ["get", "list", "watch"]
WRITE = ["create", "delete", "deletecollection", "patch", "update"]
EVENTS = ["create", "patch", "update"]
Rule = dict[str, Any]


def _r(groups: str, resources: str, verbs: list[str], names: str = "") -> Rule:
    """One PolicyRule from space-separated groups ("core" is "") and resources."""
    rule: Rule = {"apiGroups": ["" if g == "core" else g for g in groups.split()],
                  "resources": resources.split(), "verbs": verbs}
    if names:
        rule["resourceNames"] = names.split()
    return rule


def _urls(urls: str, verbs: list[str] | None = None) -> Rule:
    return {"nonResourceURLs": urls.split(), "verbs": verbs or ["get"]}


def _aggregate_to_view() -> list[Rule]:
    return [
        _r("core", "configmaps endpoints persistentvolumeclaims persistentvolumeclaims/status "
           "pods replicationcontrollers replicationcontrollers/scale serviceaccounts services "
           "services/status", READ),
        _r("core", "bindings events limitranges namespaces/status pods/log pods/status "
           "replicationcontrollers/status resourcequotas resourcequotas/status", READ),
        _r("core", "namespaces", READ),
        _r("discovery.k8s.io", "endpointslices", READ),
        _r("apps", "controllerrevisions daemonsets daemonsets/status deployments "
           "deployments/scale deployments/status replicasets replicasets/scale "
           "replicasets/status statefulsets statefulsets/scale statefulsets/status", READ),
        _r("autoscaling", "horizontalpodautoscalers horizontalpodautoscalers/status", READ),
        _r("batch", "cronjobs cronjobs/status jobs jobs/status", READ),
        _r("extensions", "daemonsets daemonsets/status deployments deployments/scale "
           "deployments/status ingresses ingresses/status networkpolicies replicasets "
           "replicasets/scale replicasets/status replicationcontrollers/scale", READ),
        _r("policy", "poddisruptionbudgets poddisruptionbudgets/status", READ),
        _r("networking.k8s.io", "ingresses ingresses/status networkpolicies", READ),
    ]


def _aggregate_to_edit() -> list[Rule]:
    return [
        _r("core", "pods/attach pods/exec pods/portforward pods/proxy secrets services/proxy",
           READ),
        _r("core", "serviceaccounts", ["impersonate"]),
        _r("core", "pods pods/attach pods/exec pods/portforward pods/proxy", WRITE),
        _r("core", "pods/eviction", ["create"]),
        _r("core", "configmaps events persistentvolumeclaims replicationcontrollers "
           "replicationcontrollers/scale secrets serviceaccounts services services/proxy",
           WRITE),
        _r("core", "serviceaccounts/token", ["create"]),
        _r("apps", "daemonsets deployments deployments/rollback deployments/scale replicasets "
           "replicasets/scale statefulsets statefulsets/scale", WRITE),
        _r("autoscaling", "horizontalpodautoscalers", WRITE),
        _r("batch", "cronjobs jobs", WRITE),
        _r("extensions", "daemonsets deployments deployments/rollback deployments/scale "
           "ingresses networkpolicies replicasets replicasets/scale "
           "replicationcontrollers/scale", WRITE),
        _r("policy", "poddisruptionbudgets", WRITE),
        _r("networking.k8s.io", "ingresses networkpolicies", WRITE),
        _r("coordination.k8s.io", "leases", sorted(READ + WRITE)),
    ]


def _system_roles() -> dict[str, list[Rule]]:
    review = [_r("authentication.k8s.io", "tokenreviews", ["create"]),
              _r("authorization.k8s.io", "subjectaccessreviews", ["create"])]
    return {
        "system:auth-delegator": review,
        "system:basic-user": [
            _r("authorization.k8s.io", "selfsubjectaccessreviews selfsubjectrulesreviews",
               ["create"]),
            _r("authentication.k8s.io", "selfsubjectreviews", ["create"])],
        "system:discovery": [_urls("/api /api/* /apis /apis/* /healthz /livez /openapi "
                                   "/openapi/* /readyz /version /version/")],
        "system:public-info-viewer": [_urls("/healthz /livez /readyz /version /version/")],
        "system:monitoring": [_urls("/healthz /healthz/* /livez /livez/* /metrics "
                                    "/metrics/slis /readyz /readyz/*")],
        "system:service-account-issuer-discovery": [
            _urls("/.well-known/openid-configuration /openid/v1/jwks")],
        "system:kube-dns": [_r("core", "endpoints services", ["list", "watch"])],
        "system:node-proxier": [
            _r("core", "endpoints services", ["list", "watch"]),
            _r("core", "nodes", READ),
            _r("core events.k8s.io", "events", EVENTS),
            _r("discovery.k8s.io", "endpointslices", ["list", "watch"])],
        "system:heapster": [_r("core", "events namespaces nodes pods", READ),
                            _r("extensions", "deployments", READ)],
        "system:kube-aggregator": [_r("core", "endpoints services", READ)],
        "system:kubelet-api-admin": [
            _r("core", "nodes", READ), _r("core", "nodes", ["proxy"]),
            _r("core", "nodes/log nodes/metrics nodes/proxy nodes/stats", ["*"])],
        "system:node-bootstrapper": [
            _r("certificates.k8s.io", "certificatesigningrequests", ["create", *READ])],
        "system:node-problem-detector": [
            _r("core", "nodes", ["get"]), _r("core", "nodes/status", ["patch"]),
            _r("core events.k8s.io", "events", EVENTS)],
        "system:persistent-volume-provisioner": [
            _r("core", "persistentvolumes", ["create", "delete", *READ]),
            _r("core", "persistentvolumeclaims", ["get", "list", "update", "watch"]),
            _r("storage.k8s.io", "storageclasses", READ),
            _r("core", "events", ["watch"]),
            _r("core events.k8s.io", "events", EVENTS)],
        "system:volume-scheduler": [
            _r("core", "persistentvolumes", ["get", "list", "patch", "update", "watch"]),
            _r("storage.k8s.io", "storageclasses", READ),
            _r("core", "persistentvolumeclaims", ["get", "list", "patch", "update", "watch"])],
        "system:kube-scheduler": [
            _r("core events.k8s.io", "events", EVENTS),
            _r("coordination.k8s.io", "leases", ["create"]),
            _r("coordination.k8s.io", "leases", ["get", "update"], "kube-scheduler"),
            _r("core", "nodes", READ), _r("core", "pods", ["delete", *READ]),
            _r("core", "bindings pods/binding", ["create"]),
            _r("core", "pods/status", ["patch", "update"]),
            _r("core", "replicationcontrollers services", READ),
            _r("apps extensions", "replicasets", READ), _r("apps", "statefulsets", READ),
            _r("policy", "poddisruptionbudgets", READ),
            _r("core", "persistentvolumeclaims persistentvolumes", READ), *review,
            _r("storage.k8s.io", "csinodes csidrivers csistoragecapacities", READ),
            _r("core", "namespaces", READ)],
        "system:kube-controller-manager": [
            _r("core events.k8s.io", "events", EVENTS),
            _r("coordination.k8s.io", "leases", ["create"]),
            _r("coordination.k8s.io", "leases", ["get", "update"], "kube-controller-manager"),
            _r("core", "secrets serviceaccounts", ["create"]),
            _r("core", "secrets", ["delete"]),
            _r("core", "configmaps namespaces secrets serviceaccounts", ["get"]),
            _r("core", "secrets serviceaccounts", ["update"]), *review,
            _r("*", "*", ["list", "watch"]),
            _r("core", "serviceaccounts/token", ["create"])],
        "system:node": [
            *review, _r("authorization.k8s.io", "localsubjectaccessreviews", ["create"]),
            _r("core", "services", READ), _r("core", "nodes", ["create", *READ]),
            _r("core", "nodes/status", ["patch", "update"]),
            _r("core", "nodes", ["patch", "update"]), _r("core", "events", EVENTS),
            _r("core", "pods", READ), _r("core", "pods", ["create", "delete"]),
            _r("core", "pods/status", ["patch", "update"]),
            _r("core", "pods/eviction", ["create"]), _r("core", "configmaps secrets", READ),
            _r("core", "persistentvolumeclaims persistentvolumes", ["get"]),
            _r("core", "endpoints", ["get"]),
            _r("certificates.k8s.io", "certificatesigningrequests", ["create", *READ]),
            _r("coordination.k8s.io", "leases", ["create", "delete", "get", "patch", "update"]),
            _r("storage.k8s.io", "volumeattachments", ["get"]),
            _r("core", "serviceaccounts/token", ["create"]),
            _r("core", "persistentvolumeclaims/status", ["get", "patch", "update"]),
            _r("storage.k8s.io", "csidrivers", READ),
            _r("storage.k8s.io", "csinodes", ["create", "delete", "get", "patch", "update"])],
        **{f"system:certificates.k8s.io:{name}-approver": [
            _r("certificates.k8s.io", "signers", ["approve"], f"kubernetes.io/{name}")]
           for name in ("kube-apiserver-client", "kube-apiserver-client-kubelet",
                        "kubelet-serving", "legacy-unknown")},
    }


def _meta(name: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {"name": name, "labels": {"kubernetes.io/bootstrapping": "rbac-defaults",
                                     **(labels or {})},
            "annotations": {"rbac.authorization.kubernetes.io/autoupdate": "true"}}


def _role(name: str, rules: list[Rule], labels: dict[str, str] | None = None,
          aggregate_from: str = "") -> dict[str, Any]:
    role: dict[str, Any] = {"apiVersion": f"{_RBAC}/v1", "kind": "ClusterRole",
                            "metadata": _meta(name, labels), "rules": rules}
    if aggregate_from:
        role["aggregationRule"] = {"clusterRoleSelectors": [
            {"matchLabels": {f"{_RBAC}/aggregate-to-{aggregate_from}": "true"}}]}
    return role


def _binding(name: str, subjects: list[tuple[str, str]], role: str = "") -> dict[str, Any]:
    out = []
    for kind, who in subjects:
        if kind == "ServiceAccount":
            namespace, _, sa = who.partition("/")
            out.append({"kind": kind, "name": sa, "namespace": namespace})
        else:
            out.append({"apiGroup": _RBAC, "kind": kind, "name": who})
    return {"apiVersion": f"{_RBAC}/v1", "kind": "ClusterRoleBinding", "metadata": _meta(name),
            "roleRef": {"apiGroup": _RBAC, "kind": "ClusterRole", "name": role or name},
            "subjects": out}


def cluster_roles() -> list[dict[str, Any]]:
    """Every bootstrap ClusterRole; admin, edit and view already aggregated."""
    def to(*roles: str) -> dict[str, str]:
        return {f"{_RBAC}/aggregate-to-{r}": "true" for r in roles}
    roles = [
        _role("cluster-admin", [_r("*", "*", ["*"]), _urls("*", ["*"])]),
        _role("admin", [], aggregate_from="admin"),
        _role("edit", [], to("admin"), aggregate_from="edit"),
        _role("view", [], to("edit"), aggregate_from="view"),
        _role("system:aggregate-to-admin", [
            _r("authorization.k8s.io", "localsubjectaccessreviews", ["create"]),
            _r(_RBAC, "rolebindings roles", sorted(READ + WRITE))], to("admin")),
        _role("system:aggregate-to-edit", _aggregate_to_edit(), to("edit")),
        _role("system:aggregate-to-view", _aggregate_to_view(), to("view")),
        *(_role(name, rules) for name, rules in _system_roles().items()),
    ]
    changed = True
    while changed:  # admin aggregates edit, which aggregates view: until nothing moves
        changed = False
        for role in roles:
            if "aggregationRule" in role:
                rules = aggregated_rules(role, roles)
                changed |= rules != role["rules"]
                role["rules"] = rules
    return roles


def cluster_role_bindings() -> list[dict[str, Any]]:
    authenticated = ("Group", "system:authenticated")
    return [
        _binding("cluster-admin", [("Group", "system:masters")]),
        _binding("system:basic-user", [authenticated]),
        _binding("system:discovery", [authenticated]),
        _binding("system:public-info-viewer", [authenticated,
                                               ("Group", "system:unauthenticated")]),
        _binding("system:monitoring", [("Group", "system:monitoring")]),
        _binding("system:service-account-issuer-discovery", [
            ("Group", "system:serviceaccounts")]),
        _binding("system:kube-controller-manager", [("User", "system:kube-controller-manager")]),
        _binding("system:kube-scheduler", [("User", "system:kube-scheduler")]),
        _binding("system:volume-scheduler", [("User", "system:kube-scheduler")]),
        _binding("system:kube-dns", [("ServiceAccount", "kube-system/kube-dns")]),
        _binding("system:node-proxier", [("User", "system:kube-proxy")]),
        _binding("system:node", []),
    ]


def aggregated_rules(role: dict[str, Any], roles: list[dict[str, Any]]) -> list[Rule]:
    """The rules of an aggregated ClusterRole: those of every ClusterRole its selectors match,
    by name, without repeats (`pkg/controller/clusterroleaggregation`)."""
    selectors = [from_label_selector_object(s) for s in
                 (role.get("aggregationRule") or {}).get("clusterRoleSelectors") or []]
    name = role["metadata"]["name"]
    rules: list[Rule] = []
    for other in sorted(roles, key=lambda r: r["metadata"]["name"]):
        labels = other["metadata"].get("labels") or {}
        if other["metadata"]["name"] == name or not any(s.matches(labels) for s in selectors):
            continue
        for rule in other.get("rules") or []:
            if rule not in rules:
                rules.append(rule)
    return rules
