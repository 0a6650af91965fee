"""The catalog of API resources the emulator serves: built-in kinds, and custom ones from CRDs.

A `ResourceType` is what discovery publishes for one resource in one group-version. Several
types may share one storage (`storage`), as core/v1 and events.k8s.io/v1 Events do on the
real server; the registry converts between their representations.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
NO_COLLECTION_VERBS = ("create", "delete", "get", "list", "patch", "update", "watch")


class PrinterColumn(NamedTuple):
    """One of a CRD version's `additionalPrinterColumns`."""

    name: str
    type: str
    format: str
    priority: int
    json_path: str


@dataclass(frozen=True)
class ResourceType:
    group: str
    version: str
    resource: str  # plural, lower case: "deployments"
    kind: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ALL_VERBS
    subresources: tuple[str, ...] = ()  # "status", "scale", "log", "binding", "token", "finalize"
    # (group, resource) of the storage this type is served from; defaults to its own.
    storage_group: str | None = None
    storage_resource: str | None = None
    # Scale subresource of a custom resource: JSON paths of spec/status replicas and selector.
    scale_paths: tuple[str, str, str] | None = None
    custom: bool = False
    list_kind_override: str | None = None
    # A custom resource version's `additionalPrinterColumns` (`kubectl get` columns).
    printer_columns: tuple[PrinterColumn, ...] = ()

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def list_kind(self) -> str:
        return self.list_kind_override or f"{self.kind}List"

    @property
    def storage(self) -> tuple[str, str]:
        return (self.storage_group if self.storage_group is not None else self.group,
                self.storage_resource or self.resource)

    @property
    def has_status(self) -> bool:
        return "status" in self.subresources


def _t(group: str, version: str, resource: str, kind: str, namespaced: bool = True,
       short: Iterable[str] = (), cats: Iterable[str] = (), sub: Iterable[str] = (),
       verbs: tuple[str, ...] = ALL_VERBS, **kw: object) -> ResourceType:
    return ResourceType(group, version, resource, kind, namespaced, tuple(short), tuple(cats),
                        verbs, tuple(sub), **kw)  # type: ignore[arg-type]


_ALL = ("all",)

BUILTIN: tuple[ResourceType, ...] = (
    # core/v1
    _t("", "v1", "namespaces", "Namespace", False, ["ns"], sub=["status", "finalize"],
       verbs=NO_COLLECTION_VERBS),
    _t("", "v1", "pods", "Pod", short=["po"], cats=_ALL,
       sub=["status", "log", "binding", "eviction", "portforward", "proxy", "exec", "attach",
            "ephemeralcontainers"]),
    _t("", "v1", "services", "Service", short=["svc"], cats=_ALL, sub=["status", "proxy"]),
    _t("", "v1", "endpoints", "Endpoints", short=["ep"], list_kind_override="EndpointsList"),
    _t("", "v1", "configmaps", "ConfigMap", short=["cm"]),
    _t("", "v1", "secrets", "Secret"),
    _t("", "v1", "serviceaccounts", "ServiceAccount", short=["sa"], sub=["token"]),
    _t("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", short=["pvc"], sub=["status"]),
    _t("", "v1", "persistentvolumes", "PersistentVolume", False, ["pv"], sub=["status"]),
    _t("", "v1", "nodes", "Node", False, ["no"], sub=["status", "proxy"]),
    _t("", "v1", "events", "Event", short=["ev"]),
    _t("", "v1", "resourcequotas", "ResourceQuota", short=["quota"], sub=["status"]),
    _t("", "v1", "limitranges", "LimitRange", short=["limits"]),
    _t("", "v1", "replicationcontrollers", "ReplicationController", short=["rc"], cats=_ALL,
       sub=["status", "scale"]),
    _t("", "v1", "podtemplates", "PodTemplate"),
    # events.k8s.io shares storage with core events
    _t("events.k8s.io", "v1", "events", "Event", short=["ev"], storage_group="",
       storage_resource="events"),
    # apps/v1
    _t("apps", "v1", "deployments", "Deployment", short=["deploy"], cats=_ALL,
       sub=["status", "scale"]),
    _t("apps", "v1", "replicasets", "ReplicaSet", short=["rs"], cats=_ALL, sub=["status", "scale"]),
    _t("apps", "v1", "statefulsets", "StatefulSet", short=["sts"], cats=_ALL,
       sub=["status", "scale"]),
    _t("apps", "v1", "daemonsets", "DaemonSet", short=["ds"], cats=_ALL, sub=["status"]),
    _t("apps", "v1", "controllerrevisions", "ControllerRevision"),
    # batch/v1
    _t("batch", "v1", "jobs", "Job", cats=_ALL, sub=["status"]),
    _t("batch", "v1", "cronjobs", "CronJob", short=["cj"], cats=_ALL, sub=["status"]),
    # networking.k8s.io/v1
    _t("networking.k8s.io", "v1", "ingresses", "Ingress", short=["ing"], sub=["status"]),
    _t("networking.k8s.io", "v1", "ingressclasses", "IngressClass", False),
    _t("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", short=["netpol"]),
    # discovery.k8s.io/v1
    _t("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice"),
    # policy/v1
    _t("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", short=["pdb"],
       sub=["status"]),
    # rbac.authorization.k8s.io/v1
    _t("rbac.authorization.k8s.io", "v1", "roles", "Role"),
    _t("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding"),
    _t("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", False),
    _t("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", False),
    # coordination.k8s.io/v1
    _t("coordination.k8s.io", "v1", "leases", "Lease"),
    # storage.k8s.io/v1
    _t("storage.k8s.io", "v1", "storageclasses", "StorageClass", False, ["sc"]),
    _t("storage.k8s.io", "v1", "csidrivers", "CSIDriver", False),
    _t("storage.k8s.io", "v1", "csinodes", "CSINode", False),
    _t("storage.k8s.io", "v1", "csistoragecapacities", "CSIStorageCapacity"),
    _t("storage.k8s.io", "v1", "volumeattachments", "VolumeAttachment", False, sub=["status"]),
    # admissionregistration.k8s.io/v1 (stored and served; webhooks and policies are not called)
    _t("admissionregistration.k8s.io", "v1", "mutatingwebhookconfigurations",
       "MutatingWebhookConfiguration", False, cats=["api-extensions"]),
    _t("admissionregistration.k8s.io", "v1", "validatingwebhookconfigurations",
       "ValidatingWebhookConfiguration", False, cats=["api-extensions"]),
    _t("admissionregistration.k8s.io", "v1", "validatingadmissionpolicies",
       "ValidatingAdmissionPolicy", False, cats=["api-extensions"], sub=["status"]),
    _t("admissionregistration.k8s.io", "v1", "validatingadmissionpolicybindings",
       "ValidatingAdmissionPolicyBinding", False, cats=["api-extensions"]),
    # certificates.k8s.io/v1
    _t("certificates.k8s.io", "v1", "certificatesigningrequests", "CertificateSigningRequest",
       False, ["csr"], sub=["approval", "status"]),
    # apiregistration.k8s.io/v1 (the aggregator's)
    _t("apiregistration.k8s.io", "v1", "apiservices", "APIService", False,
       cats=["api-extensions"], sub=["status"]),
    # scheduling.k8s.io/v1
    _t("scheduling.k8s.io", "v1", "priorityclasses", "PriorityClass", False, ["pc"]),
    # apiextensions.k8s.io/v1
    _t("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition",
       False, ["crd", "crds"], sub=["status"]),
    # autoscaling/v2
    _t("autoscaling", "v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler", short=["hpa"],
       cats=_ALL, sub=["status"]),
    # authentication / authorization (create-only virtual resources)
    _t("authentication.k8s.io", "v1", "tokenreviews", "TokenReview", False, verbs=("create",)),
    _t("authentication.k8s.io", "v1", "selfsubjectreviews", "SelfSubjectReview", False,
       verbs=("create",)),
    _t("authorization.k8s.io", "v1", "selfsubjectaccessreviews", "SelfSubjectAccessReview", False,
       verbs=("create",)),
    _t("authorization.k8s.io", "v1", "selfsubjectrulesreviews", "SelfSubjectRulesReview", False,
       verbs=("create",)),
    _t("authorization.k8s.io", "v1", "subjectaccessreviews", "SubjectAccessReview", False,
       verbs=("create",)),
    _t("authorization.k8s.io", "v1", "localsubjectaccessreviews", "LocalSubjectAccessReview",
       verbs=("create",)),
)

# Kinds whose objects are never stored: a create returns the computed answer.
REVIEW_GROUPS = frozenset({"authentication.k8s.io", "authorization.k8s.io"})

# The preferred version of each group, in the order discovery lists groups.
GROUP_ORDER = (
    "", "apiregistration.k8s.io", "apps", "events.k8s.io", "authentication.k8s.io",
    "authorization.k8s.io", "autoscaling", "batch", "certificates.k8s.io", "networking.k8s.io",
    "policy", "rbac.authorization.k8s.io", "storage.k8s.io", "admissionregistration.k8s.io",
    "apiextensions.k8s.io", "scheduling.k8s.io", "coordination.k8s.io", "discovery.k8s.io",
)


@dataclass
class Catalog:
    """All served resource types, indexed for the router; custom ones come and go with CRDs.

    A change replaces `types` with a new list, never edits it in place: a reader may cache
    what it derives from the list for as long as the list is the same object.
    """

    types: list[ResourceType] = field(default_factory=lambda: list(BUILTIN))

    def find(self, group: str, version: str, resource: str) -> ResourceType | None:
        for t in self.types:
            if t.group == group and t.version == version and t.resource == resource:
                return t
        return None

    def by_kind(self, api_version: str, kind: str) -> ResourceType | None:
        for t in self.types:
            if t.api_version == api_version and t.kind == kind:
                return t
        return None

    def group_versions(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for t in self.types:
            versions = out.setdefault(t.group, [])
            if t.version not in versions:
                versions.append(t.version)
        return out

    def in_group_version(self, group: str, version: str) -> list[ResourceType]:
        return [t for t in self.types if t.group == group and t.version == version]

    def sharing_storage(self, storage: tuple[str, str]) -> list[ResourceType]:
        return [t for t in self.types if t.storage == storage]

    def namespaced_storages(self) -> list[ResourceType]:
        """One type per storage of namespaced, stored resources (what a namespace can hold)."""
        seen: set[tuple[str, str]] = set()
        out = []
        for t in self.types:
            if not t.namespaced or t.group in REVIEW_GROUPS or t.storage in seen:
                continue
            seen.add(t.storage)
            out.append(t)
        return out

    def add_custom(self, new: list[ResourceType]) -> None:
        keys = {(t.group, t.version, t.resource) for t in new}
        self.types = [t for t in self.types if (t.group, t.version, t.resource) not in keys] + new

    def remove_custom(self, group: str, resource: str) -> None:
        self.types = [t for t in self.types
                      if not (t.custom and t.group == group and t.resource == resource)]
