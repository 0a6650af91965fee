"""The column definitions of every built-in kind's table: one entry per kind, as data.

Names, types, formats and priorities are upstream's (`AddHandlers` in
pkg/printers/internalversion/printers.go, kube-aggregator's APIService table, and the default
table of `k8s.io/apiserver/pkg/registry/rest` for kinds without a printer); priority 1 marks the
columns `kubectl get -o wide` adds. tests/sandbox/test_printers_upstream.py compares this table
with a fixture read from printers.go. Each column's cell is a small function of the object.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from preview.sandbox.apiserver.endpoints.printers import cluster as c
from preview.sandbox.apiserver.endpoints.printers import network as n
from preview.sandbox.apiserver.endpoints.printers import pods as p
from preview.sandbox.apiserver.endpoints.printers import workloads as w
from preview.sandbox.apiserver.endpoints.printers.formats import age, bool_word, created_at, name
from preview.sandbox.machinery.objects import dig


class Column(NamedTuple):
    name: str
    type: str
    priority: int
    cell: Callable[[dict[str, Any]], Any]
    format: str = ""


def col(title: str, cell: Callable[[dict[str, Any]], Any], type: str = "string",
        priority: int = 0, format: str = "") -> Column:
    return Column(title, type, priority, cell, format)


def wide(title: str, cell: Callable[[dict[str, Any]], Any], type: str = "string") -> Column:
    return Column(title, type, 1, cell)


NAME = col("Name", name, format="name")
AGE = col("Age", age)
# Kinds whose storage has no printer: `rest.NewDefaultTableConvertor`.
DEFAULT = (NAME, col("Created At", created_at, type="date"))


def _template(*spec: str) -> tuple[Column, Column]:
    return (wide("Containers", w.template_containers(*spec)),
            wide("Images", w.template_images(*spec)))


_POD_SPEC = ("spec", "template", "spec")
_INT, _BOOL = "integer", "boolean"
_ADM, _STORAGE = "admissionregistration.k8s.io", "storage.k8s.io"
_WEBHOOKS = (NAME, col("Webhooks", w.length("webhooks"), _INT), AGE)
_BINDING = (NAME, col("Role", c.role_ref), AGE, wide("Users", c.subjects("User")),
            wide("Groups", c.subjects("Group")),
            wide("ServiceAccounts", c.subjects("ServiceAccount")))

COLUMNS: dict[tuple[str, str], tuple[Column, ...]] = {
    # -- core/v1 --------------------------------------------------------------------------------
    ("", "Pod"): (
        NAME, col("Ready", p.pod_ready), col("Status", p.pod_status),
        col("Restarts", p.pod_restarts), AGE, wide("IP", p.pod_ip), wide("Node", p.pod_node),
        wide("Nominated Node", p.pod_nominated_node),
        wide("Readiness Gates", p.pod_readiness_gates)),
    ("", "Node"): (
        NAME, col("Status", p.node_status), col("Roles", p.node_roles), AGE,
        col("Version", p.kubelet_version), wide("Internal-IP", p.node_internal_ip),
        wide("External-IP", p.node_external_ip), wide("OS-Image", p.node_info("osImage")),
        wide("Kernel-Version", p.node_info("kernelVersion")),
        wide("Container-Runtime", p.node_info("containerRuntimeVersion"))),
    ("", "Service"): (
        NAME, col("Type", w.field("spec", "type", default="")),
        col("Cluster-IP", n.service_cluster_ip), col("External-IP", n.service_external_ip),
        col("Port(s)", n.service_ports), AGE, wide("Selector", w.label_map("spec", "selector"))),
    ("", "Endpoints"): (NAME, col("Endpoints", n.endpoints), AGE),
    ("", "Namespace"): (NAME, col("Status", w.field("status", "phase", default="")), AGE),
    ("", "ConfigMap"): (NAME, col("Data", lambda o: len(o.get("data") or {})
                                  + len(o.get("binaryData") or {})), AGE),
    ("", "Secret"): (NAME, col("Type", w.field("type", default="")),
                     col("Data", w.length("data")), AGE),
    ("", "ServiceAccount"): (NAME, col("Secrets", w.length("secrets")), AGE),
    ("", "PersistentVolume"): (
        NAME, col("Capacity", c.pv_capacity), col("Access Modes", c.pv_access_modes),
        col("Reclaim Policy", w.field("spec", "persistentVolumeReclaimPolicy", default="")),
        col("Status", c.volume_phase), col("Claim", c.pv_claim),
        col("StorageClass", c.storage_class),
        col("VolumeAttributesClass", c.unset("spec", "volumeAttributesClassName")),
        col("Reason", w.field("status", "reason", default="")), AGE,
        wide("VolumeMode", c.unset("spec", "volumeMode"))),
    ("", "PersistentVolumeClaim"): (
        NAME, col("Status", c.volume_phase), col("Volume", w.field("spec", "volumeName",
                                                                   default="")),
        col("Capacity", c.pvc_capacity), col("Access Modes", c.pvc_access_modes),
        col("StorageClass", c.storage_class),
        col("VolumeAttributesClass", c.unset("spec", "volumeAttributesClassName")), AGE,
        wide("VolumeMode", c.unset("spec", "volumeMode"))),
    ("", "Event"): (
        col("Last Seen", c.event_last_seen), col("Type", w.field("type", default="")),
        col("Reason", w.field("reason", default="")), col("Object", c.event_object),
        wide("Subobject", w.field("involvedObject", "fieldPath", default="")),
        wide("Source", c.event_source), col("Message", c.event_message),
        wide("First Seen", c.event_first_seen), wide("Count", c.event_count),
        col("Name", name, priority=1, format="name")),
    ("", "ResourceQuota"): (NAME, col("Request", c.quota_requests),
                            col("Limit", c.quota_limits), AGE),
    ("", "LimitRange"): DEFAULT,
    ("", "ReplicationController"): (
        NAME, col("Desired", w.count("spec", "replicas"), _INT),
        col("Current", w.count("status", "replicas"), _INT),
        col("Ready", w.count("status", "readyReplicas"), _INT), AGE, *_template(*_POD_SPEC),
        wide("Selector", w.label_map("spec", "selector"))),
    ("", "PodTemplate"): (
        NAME, col("Containers", w.template_containers("template", "spec")),
        col("Images", w.template_images("template", "spec")),
        col("Pod Labels", w.label_map("template", "metadata", "labels"))),
    # -- apps/v1 --------------------------------------------------------------------------------
    ("apps", "Deployment"): (
        NAME, col("Ready", w.ready_of_desired),
        col("Up-to-date", w.count("status", "updatedReplicas")),
        col("Available", w.count("status", "availableReplicas")), AGE, *_template(*_POD_SPEC),
        wide("Selector", w.deployment_selector)),
    ("apps", "ReplicaSet"): (
        NAME, col("Desired", w.count("spec", "replicas"), _INT),
        col("Current", w.count("status", "replicas"), _INT),
        col("Ready", w.count("status", "readyReplicas"), _INT), AGE, *_template(*_POD_SPEC),
        wide("Selector", w.selector("spec", "selector"))),
    ("apps", "StatefulSet"): (NAME, col("Ready", w.ready_of_desired), AGE,
                              *_template(*_POD_SPEC)),
    ("apps", "DaemonSet"): (
        NAME, col("Desired", w.count("status", "desiredNumberScheduled"), _INT),
        col("Current", w.count("status", "currentNumberScheduled"), _INT),
        col("Ready", w.count("status", "numberReady"), _INT),
        col("Up-to-date", w.count("status", "updatedNumberScheduled"), _INT),
        col("Available", w.count("status", "numberAvailable"), _INT),
        col("Node Selector", w.label_map(*_POD_SPEC, "nodeSelector")), AGE,
        *_template(*_POD_SPEC), wide("Selector", w.selector("spec", "selector"))),
    ("apps", "ControllerRevision"): (NAME, col("Controller", w.revision_controller),
                                     col("Revision", w.count("revision")), AGE),
    # -- batch/v1 -------------------------------------------------------------------------------
    ("batch", "Job"): (
        NAME, col("Status", w.job_status), col("Completions", w.job_completions),
        col("Duration", w.job_duration), AGE, *_template(*_POD_SPEC),
        wide("Selector", w.selector("spec", "selector"))),
    ("batch", "CronJob"): (
        NAME, col("Schedule", w.field("spec", "schedule", default="")),
        col("Timezone", w.field("spec", "timeZone", default="<none>")),
        col("Suspend", lambda o: bool_word(dig(o, "spec", "suspend")), _BOOL),
        col("Active", w.length("status", "active"), _INT),
        col("Last Schedule", w.cronjob_last_schedule), AGE,
        *_template("spec", "jobTemplate", *_POD_SPEC),
        wide("Selector", w.selector("spec", "jobTemplate", "spec", "selector"))),
    # -- networking, discovery, policy, autoscaling -------------------------------------------
    ("networking.k8s.io", "Ingress"): (
        NAME, col("Class", n.ingress_class), col("Hosts", n.ingress_hosts),
        col("Address", n.ingress_address), col("Ports", n.ingress_ports), AGE),
    ("networking.k8s.io", "IngressClass"): (
        NAME, col("Controller", w.field("spec", "controller", default="")),
        col("Parameters", n.ingress_class_parameters), AGE),
    ("networking.k8s.io", "NetworkPolicy"): (
        NAME, col("Pod-Selector", w.selector("spec", "podSelector")), AGE),
    ("discovery.k8s.io", "EndpointSlice"): (
        NAME, col("AddressType", w.field("addressType", default="")),
        col("Ports", n.slice_ports), col("Endpoints", n.slice_endpoints), AGE),
    ("policy", "PodDisruptionBudget"): (
        NAME, col("Min Available", w.int_or_na("spec", "minAvailable")),
        col("Max Unavailable", w.int_or_na("spec", "maxUnavailable")),
        col("Allowed Disruptions", w.count("status", "disruptionsAllowed"), _INT), AGE),
    ("autoscaling", "HorizontalPodAutoscaler"): (
        NAME, col("Reference", w.hpa_reference), col("Targets", w.hpa_targets),
        col("MinPods", w.hpa_min_pods), col("MaxPods", w.count("spec", "maxReplicas")),
        col("Replicas", w.count("status", "currentReplicas")), AGE),
    # -- rbac, coordination, scheduling ---------------------------------------------------------
    ("rbac.authorization.k8s.io", "Role"): DEFAULT,
    ("rbac.authorization.k8s.io", "ClusterRole"): DEFAULT,
    ("rbac.authorization.k8s.io", "RoleBinding"): _BINDING,
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"): _BINDING,
    ("coordination.k8s.io", "Lease"): (
        NAME, col("Holder", w.field("spec", "holderIdentity", default="")), AGE),
    ("scheduling.k8s.io", "PriorityClass"): (
        NAME, col("Value", w.count("value"), _INT),
        col("Global-Default", lambda o: bool(o.get("globalDefault")), _BOOL), AGE,
        col("PreemptionPolicy", w.field("preemptionPolicy", default=""))),
    # -- storage --------------------------------------------------------------------------------
    (_STORAGE, "StorageClass"): (
        col("Name", c.storage_class_name, format="name"),
        col("Provisioner", w.field("provisioner", default="")),
        col("ReclaimPolicy", w.field("reclaimPolicy", default="Delete")),
        col("VolumeBindingMode", w.field("volumeBindingMode", default="Immediate")),
        col("AllowVolumeExpansion", lambda o: bool(o.get("allowVolumeExpansion"))), AGE),
    (_STORAGE, "CSIDriver"): (
        NAME, col("AttachRequired", lambda o: dig(o, "spec", "attachRequired") is not False,
                  _BOOL),
        col("PodInfoOnMount", lambda o: bool(dig(o, "spec", "podInfoOnMount")), _BOOL),
        col("StorageCapacity", lambda o: bool(dig(o, "spec", "storageCapacity")), _BOOL),
        col("TokenRequests", c.csi_token_requests),
        col("RequiresRepublish", lambda o: bool(dig(o, "spec", "requiresRepublish")), _BOOL),
        col("Modes", c.csi_modes), AGE),
    (_STORAGE, "CSINode"): (NAME, col("Drivers", w.length("spec", "drivers"), _INT), AGE),
    (_STORAGE, "CSIStorageCapacity"): (
        NAME, col("StorageClassName", w.field("storageClassName", default="")),
        col("Capacity", c.csi_capacity)),
    (_STORAGE, "VolumeAttachment"): (
        NAME, col("Attacher", w.field("spec", "attacher", default=""), format="name"),
        col("PV", w.field("spec", "source", "persistentVolumeName", default="")),
        col("Node", w.field("spec", "nodeName", default="")),
        col("Attached", lambda o: bool(dig(o, "status", "attached")), _BOOL), AGE),
    # -- admission, certificates, aggregation, extensions --------------------------------------
    (_ADM, "MutatingWebhookConfiguration"): _WEBHOOKS,
    (_ADM, "ValidatingWebhookConfiguration"): _WEBHOOKS,
    (_ADM, "ValidatingAdmissionPolicy"): (
        NAME, col("Validations", w.length("spec", "validations"), _INT),
        col("ParamKind", c.param_kind), AGE),
    (_ADM, "ValidatingAdmissionPolicyBinding"): (
        NAME, col("PolicyName", w.field("spec", "policyName", default="")),
        col("ParamRef", c.param_ref), AGE),
    ("certificates.k8s.io", "CertificateSigningRequest"): (
        NAME, AGE, col("SignerName", c.csr_signer),
        col("Requestor", w.field("spec", "username", default="")),
        col("RequestedDuration", c.csr_duration), col("Condition", c.csr_condition)),
    ("apiregistration.k8s.io", "APIService"): (
        NAME, col("Service", c.apiservice_service),
        col("Available", c.apiservice_available), AGE),
    ("apiextensions.k8s.io", "CustomResourceDefinition"): DEFAULT,
}
# events.k8s.io/v1 Events are served from the core Events' storage, and printed by its printer.
COLUMNS[("events.k8s.io", "Event")] = COLUMNS[("", "Event")]
