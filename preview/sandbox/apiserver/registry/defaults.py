"""API defaulting, as the real server applies it before validation and storage.

From `pkg/apis/*/v1/defaults.go` and the registry strategies' `PrepareForCreate`. Pure:
every function returns a new dict.
"""

from __future__ import annotations

import base64
from typing import Any

from preview.sandbox.apiserver.registry import platform_kinds
from preview.sandbox.machinery.objects import clone

_TEMPLATE_KINDS = {("apps", "Deployment"), ("apps", "ReplicaSet"), ("apps", "StatefulSet"),
                   ("apps", "DaemonSet"), ("batch", "Job"), ("", "ReplicationController"),
                   ("", "PodTemplate")}


def apply_defaults(group: str, kind: str, obj: dict[str, Any]) -> dict[str, Any]:
    out = clone(obj)
    fn = _DEFAULTERS.get((group, kind))
    if fn is not None:
        fn(out)
    if (group, kind) in _TEMPLATE_KINDS:
        template = out.get("template") if kind == "PodTemplate" else \
            (out.get("spec") or {}).get("template")
        if isinstance(template, dict):
            _pod_spec(template.setdefault("spec", {}))
    if (group, kind) == ("batch", "CronJob"):
        job_template = (out.get("spec") or {}).get("jobTemplate") or {}
        _job_spec(job_template.setdefault("spec", {}))
        template = job_template["spec"].get("template")
        if isinstance(template, dict):
            _pod_spec(template.setdefault("spec", {}))
    return out


def _pod(obj: dict[str, Any]) -> None:
    spec = obj.setdefault("spec", {})
    _pod_spec(spec)
    # SetDefaults_Pod (not templates): a container requests its limit unless it says otherwise.
    for c in spec.get("containers") or []:
        resources = c.get("resources") or {}
        if resources.get("limits"):
            requests = resources.setdefault("requests", {})
            for name, value in resources["limits"].items():
                requests.setdefault(name, value)


def _pod_spec(spec: dict[str, Any]) -> None:
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", "default-scheduler")
    if spec.get("serviceAccount") and not spec.get("serviceAccountName"):
        spec["serviceAccountName"] = spec["serviceAccount"]
    for field in ("containers", "initContainers"):
        for c in spec.get(field) or []:
            _container(c)
    for v in spec.get("volumes") or []:
        for source in ("configMap", "secret"):
            if isinstance(v.get(source), dict):
                v[source].setdefault("defaultMode", 420)
        if isinstance(v.get("projected"), dict):
            v["projected"].setdefault("defaultMode", 420)
        if isinstance(v.get("downwardAPI"), dict):
            v["downwardAPI"].setdefault("defaultMode", 420)


def _container(c: dict[str, Any]) -> None:
    c.setdefault("terminationMessagePath", "/dev/termination-log")
    c.setdefault("terminationMessagePolicy", "File")
    image = str(c.get("image") or "")
    tag = image.rsplit("/", 1)[-1]
    if "imagePullPolicy" not in c:
        latest = "@" not in image and (":" not in tag or tag.endswith(":latest"))
        c["imagePullPolicy"] = "Always" if latest else "IfNotPresent"
    c.setdefault("resources", {})
    for port in c.get("ports") or []:
        port.setdefault("protocol", "TCP")
    for probe_name in ("livenessProbe", "readinessProbe", "startupProbe"):
        probe = c.get(probe_name)
        if isinstance(probe, dict):
            probe.setdefault("timeoutSeconds", 1)
            probe.setdefault("periodSeconds", 10)
            probe.setdefault("successThreshold", 1)
            probe.setdefault("failureThreshold", 3)
            if isinstance(probe.get("httpGet"), dict):
                probe["httpGet"].setdefault("path", "/")
                probe["httpGet"].setdefault("scheme", "HTTP")
    for env in c.get("env") or []:
        ref = (env.get("valueFrom") or {}).get("fieldRef")
        if isinstance(ref, dict):
            ref.setdefault("apiVersion", "v1")


def _deployment(obj: dict[str, Any]) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    strategy = spec.setdefault("strategy", {})
    strategy.setdefault("type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        ru = strategy.setdefault("rollingUpdate", {})
        ru.setdefault("maxUnavailable", "25%")
        ru.setdefault("maxSurge", "25%")
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("progressDeadlineSeconds", 600)


def _replicaset(obj: dict[str, Any]) -> None:
    obj.setdefault("spec", {}).setdefault("replicas", 1)


def _statefulset(obj: dict[str, Any]) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    spec.setdefault("podManagementPolicy", "OrderedReady")
    strategy = spec.setdefault("updateStrategy", {"type": "RollingUpdate"})
    if strategy.get("type", "RollingUpdate") == "RollingUpdate":
        strategy.setdefault("type", "RollingUpdate")
        strategy.setdefault("rollingUpdate", {}).setdefault("partition", 0)
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("persistentVolumeClaimRetentionPolicy",
                    {"whenDeleted": "Retain", "whenScaled": "Retain"})
    for pvc in spec.get("volumeClaimTemplates") or []:
        pvc_spec = pvc.setdefault("spec", {})
        pvc_spec.setdefault("volumeMode", "Filesystem")
        pvc.setdefault("apiVersion", "v1")
        pvc.setdefault("kind", "PersistentVolumeClaim")


def _daemonset(obj: dict[str, Any]) -> None:
    spec = obj.setdefault("spec", {})
    strategy = spec.setdefault("updateStrategy", {"type": "RollingUpdate"})
    if strategy.get("type", "RollingUpdate") == "RollingUpdate":
        strategy.setdefault("type", "RollingUpdate")
        ru = strategy.setdefault("rollingUpdate", {})
        ru.setdefault("maxUnavailable", 1)
        ru.setdefault("maxSurge", 0)
    spec.setdefault("revisionHistoryLimit", 10)


def _job(obj: dict[str, Any]) -> None:
    _job_spec(obj.setdefault("spec", {}))


def _job_spec(spec: dict[str, Any]) -> None:
    if spec.get("completions") is None and spec.get("parallelism") is None:
        spec["completions"] = 1
        spec["parallelism"] = 1
    spec.setdefault("parallelism", 1)
    spec.setdefault("backoffLimit", 6)
    spec.setdefault("completionMode", "NonIndexed")
    spec.setdefault("suspend", False)
    spec.setdefault("podReplacementPolicy", "TerminatingOrFailed")
    template = spec.get("template")
    if isinstance(template, dict):
        template.setdefault("spec", {}).setdefault("restartPolicy", "Never")


def _cronjob(obj: dict[str, Any]) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("concurrencyPolicy", "Allow")
    spec.setdefault("suspend", False)
    spec.setdefault("successfulJobsHistoryLimit", 3)
    spec.setdefault("failedJobsHistoryLimit", 1)


def _service(obj: dict[str, Any]) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("type", "ClusterIP")
    spec.setdefault("sessionAffinity", "None")
    if spec["type"] != "ExternalName":
        spec.setdefault("internalTrafficPolicy", "Cluster")
    if spec["type"] in ("NodePort", "LoadBalancer"):
        spec.setdefault("externalTrafficPolicy", "Cluster")
    if spec["type"] == "LoadBalancer":
        spec.setdefault("allocateLoadBalancerNodePorts", True)
    for port in spec.get("ports") or []:
        port.setdefault("protocol", "TCP")
        if "targetPort" not in port and "port" in port:
            port["targetPort"] = port["port"]


def _pvc(obj: dict[str, Any]) -> None:
    obj.setdefault("spec", {}).setdefault("volumeMode", "Filesystem")


def _pv(obj: dict[str, Any]) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("persistentVolumeReclaimPolicy", "Retain")
    spec.setdefault("volumeMode", "Filesystem")


def _limit_range(obj: dict[str, Any]) -> None:
    spec = obj.setdefault("spec", {})
    spec["limits"] = [limit_range_item(i) if isinstance(i, dict) else i
                      for i in spec.get("limits") or []]


def limit_range_item(item: dict[str, Any]) -> dict[str, Any]:
    """SetDefaults_LimitRangeItem: a Container item's default limit and request, derived."""
    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in item.items()}
    if out.get("type") != "Container":
        return out
    default = out.setdefault("default", {})
    default_request = out.setdefault("defaultRequest", {})
    for k, v in (out.get("max") or {}).items():
        default.setdefault(k, v)  # a default limit falls back to the max
    for k, v in default.items():
        default_request.setdefault(k, v)  # a default request falls back to the limit
    for k, v in (out.get("min") or {}).items():
        default_request.setdefault(k, v)  # ... or else to the min
    return out


def _namespace(obj: dict[str, Any]) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("finalizers", ["kubernetes"])
    meta = obj.setdefault("metadata", {})
    if meta.get("name"):
        labels = meta.get("labels") or {}
        labels["kubernetes.io/metadata.name"] = meta["name"]
        meta["labels"] = labels


def _secret(obj: dict[str, Any]) -> None:
    obj.setdefault("type", "Opaque")
    # As the v1 → internal conversion does: `stringData` is write-only, merged into `data`
    # (its keys win) and never stored or read back.
    string_data = obj.pop("stringData", None)
    if isinstance(string_data, dict) and string_data:
        data = obj.get("data")
        data = data if isinstance(data, dict) else {}
        obj["data"] = {**data, **{k: base64.b64encode(str(v).encode()).decode()
                                  for k, v in string_data.items()}}


def _network_policy(obj: dict[str, Any]) -> None:
    spec = obj.setdefault("spec", {})
    if "policyTypes" not in spec:
        types = ["Ingress"]
        if spec.get("egress"):
            types.append("Egress")
        spec["policyTypes"] = types


def _rbac_binding(obj: dict[str, Any]) -> None:
    for subject in obj.get("subjects") or []:
        if subject.get("kind") in ("User", "Group"):
            subject.setdefault("apiGroup", "rbac.authorization.k8s.io")
        elif subject.get("kind") == "ServiceAccount":
            subject.setdefault("apiGroup", "")


_DEFAULTERS = {
    ("", "Pod"): _pod,
    ("apps", "Deployment"): _deployment,
    ("apps", "ReplicaSet"): _replicaset,
    ("", "ReplicationController"): _replicaset,
    ("apps", "StatefulSet"): _statefulset,
    ("apps", "DaemonSet"): _daemonset,
    ("batch", "Job"): _job,
    ("batch", "CronJob"): _cronjob,
    ("", "Service"): _service,
    ("", "PersistentVolumeClaim"): _pvc,
    ("", "PersistentVolume"): _pv,
    ("", "Namespace"): _namespace,
    ("", "LimitRange"): _limit_range,
    ("", "Secret"): _secret,
    ("networking.k8s.io", "NetworkPolicy"): _network_policy,
    ("rbac.authorization.k8s.io", "RoleBinding"): _rbac_binding,
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"): _rbac_binding,
    **platform_kinds.DEFAULTERS,
}


def qos_class(pod_spec: dict[str, Any]) -> str:
    """Guaranteed, Burstable or BestEffort from the containers' requests and limits."""
    containers = list(pod_spec.get("containers") or []) + list(pod_spec.get("initContainers") or [])
    any_set = False
    guaranteed = True
    for c in containers:
        res = c.get("resources") or {}
        requests, limits = res.get("requests") or {}, res.get("limits") or {}
        if requests or limits:
            any_set = True
        for r in ("cpu", "memory"):
            if r not in limits or (r in requests and requests[r] != limits[r]):
                guaranteed = False
    if not any_set:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"


def reset_status_on_create(group: str, kind: str, obj: dict[str, Any]) -> dict[str, Any]:
    out = dict(obj)
    if (group, kind) == ("", "Pod"):
        out["status"] = {"phase": "Pending", "qosClass": qos_class(out.get("spec") or {})}
    elif (group, kind) == ("", "Namespace"):
        out["status"] = {"phase": "Active"}
    elif (group, kind) in (("", "PersistentVolumeClaim"), ("", "PersistentVolume")):
        out["status"] = {"phase": "Pending"}
    elif (group, kind) == ("", "Service"):
        out["status"] = {"loadBalancer": {}}
    elif (group, kind) in (("apps", "Deployment"), ("apps", "ReplicaSet"),
                           ("apps", "StatefulSet"), ("apps", "DaemonSet"), ("batch", "Job"),
                           ("batch", "CronJob"), ("", "ReplicationController"),
                           ("networking.k8s.io", "Ingress"),
                           ("apiextensions.k8s.io", "CustomResourceDefinition"),
                           ("", "ResourceQuota"), ("policy", "PodDisruptionBudget"),
                           ("autoscaling", "HorizontalPodAutoscaler"),
                           ("certificates.k8s.io", "CertificateSigningRequest"),
                           ("storage.k8s.io", "VolumeAttachment")):
        out.pop("status", None)
    return out
