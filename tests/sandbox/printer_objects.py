"""One object of every built-in kind the sandbox serves, for `kubectl get` tests.

kubectl prints a table's header only above a row, so each kind needs an object: these are
small valid ones, namespaced in the test's namespace, cluster-scoped ones named `<suffix>-…`.
"""

from __future__ import annotations

import base64
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

_POD_SPEC = {"containers": [{"name": "main", "image": "busybox"}]}


def _template(labels: dict[str, str]) -> dict[str, Any]:
    return {"metadata": {"labels": labels}, "spec": _POD_SPEC}


def _csr() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    csr = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "printers")])).sign(
        key, hashes.SHA256())
    return base64.b64encode(csr.public_bytes(serialization.Encoding.PEM)).decode()


def _o(api_version: str, kind: str, name: str, **body: Any) -> dict[str, Any]:
    return {"apiVersion": api_version, "kind": kind, "metadata": {"name": name}, **body}


def namespaced() -> list[dict[str, Any]]:
    app = {"app": "printers"}
    selector = {"matchLabels": app}
    return [
        _o("v1", "Pod", "pod", spec=_POD_SPEC),
        _o("v1", "Service", "svc", spec={"selector": app, "ports": [{"port": 80}]}),
        _o("v1", "Endpoints", "manual", subsets=[{"addresses": [{"ip": "10.1.2.3"}],
                                                  "ports": [{"port": 8080}]}]),
        _o("v1", "ConfigMap", "cm", data={"a": "1"}),
        _o("v1", "Secret", "secret", stringData={"a": "1"}),
        _o("v1", "ServiceAccount", "sa"),
        _o("v1", "PersistentVolumeClaim", "pvc", spec={
            "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}),
        _o("v1", "Event", "event", involvedObject={"kind": "Pod", "name": "pod"},
           reason="Testing", message="printed", type="Normal", count=1,
           source={"component": "printers"}),
        _o("v1", "ResourceQuota", "quota", spec={"hard": {"pods": "10",
                                                          "limits.memory": "1Gi"}}),
        _o("v1", "LimitRange", "limits", spec={"limits": [{"type": "Container",
                                                           "default": {"memory": "64Mi"}}]}),
        _o("v1", "ReplicationController", "rc", spec={
            "replicas": 0, "selector": app, "template": _template(app)}),
        _o("v1", "PodTemplate", "template", template=_template(app)),
        _o("apps/v1", "Deployment", "deploy", spec={
            "replicas": 0, "selector": selector, "template": _template(app)}),
        _o("apps/v1", "ReplicaSet", "rs", spec={
            "replicas": 0, "selector": selector, "template": _template(app)}),
        _o("apps/v1", "StatefulSet", "sts", spec={
            "replicas": 0, "serviceName": "svc", "selector": selector,
            "template": _template(app)}),
        _o("apps/v1", "DaemonSet", "ds", spec={
            "selector": selector, "template": {**_template(app), "spec": {
                **_POD_SPEC, "nodeSelector": {"printers": "none"}}}}),
        _o("apps/v1", "ControllerRevision", "revision", revision=1, data={}),
        _o("batch/v1", "Job", "job", spec={"suspend": True, "template": {"spec": {
            **_POD_SPEC, "restartPolicy": "Never"}}}),
        _o("batch/v1", "CronJob", "cron", spec={"schedule": "*/5 * * * *", "jobTemplate": {
            "spec": {"template": {"spec": {**_POD_SPEC, "restartPolicy": "Never"}}}}}),
        _o("networking.k8s.io/v1", "Ingress", "ing", spec={"rules": [{
            "host": "printers.example.com", "http": {"paths": [{
                "path": "/", "pathType": "Prefix",
                "backend": {"service": {"name": "svc", "port": {"number": 80}}}}]}}]}),
        _o("networking.k8s.io/v1", "NetworkPolicy", "netpol", spec={"podSelector": {}}),
        _o("discovery.k8s.io/v1", "EndpointSlice", "slice", addressType="IPv4",
           endpoints=[{"addresses": ["10.1.2.3"]}], ports=[{"port": 8080}]),
        _o("policy/v1", "PodDisruptionBudget", "pdb", spec={"minAvailable": 1,
                                                            "selector": selector}),
        _o("rbac.authorization.k8s.io/v1", "Role", "role", rules=[]),
        _o("rbac.authorization.k8s.io/v1", "RoleBinding", "binding", roleRef={
            "apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "role"},
           subjects=[{"kind": "User", "name": "alice", "apiGroup": "rbac.authorization.k8s.io"}]),
        _o("coordination.k8s.io/v1", "Lease", "lease", spec={"holderIdentity": "me"}),
        _o("storage.k8s.io/v1", "CSIStorageCapacity", "capacity", storageClassName="standard",
           capacity="10Gi"),
        _o("autoscaling/v2", "HorizontalPodAutoscaler", "hpa", spec={
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "deploy"},
            "minReplicas": 1, "maxReplicas": 3, "metrics": [{"type": "Resource", "resource": {
                "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}]}),
    ]


def cluster_scoped(suffix: str) -> list[dict[str, Any]]:
    adm = "admissionregistration.k8s.io/v1"
    hook = {"name": f"{suffix}.example.com", "sideEffects": "None",
            "admissionReviewVersions": ["v1"],
            "clientConfig": {"service": {"name": "hook", "namespace": "default"}}}
    return [
        _o("v1", "PersistentVolume", f"{suffix}-pv", spec={
            "capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
            "hostPath": {"path": "/tmp/printers"}, "storageClassName": "manual"}),
        _o("rbac.authorization.k8s.io/v1", "ClusterRole", f"{suffix}-role", rules=[]),
        _o("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", f"{suffix}-binding", roleRef={
            "apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
            "name": f"{suffix}-role"}, subjects=[
            {"kind": "ServiceAccount", "name": "default", "namespace": "default"}]),
        _o("storage.k8s.io/v1", "CSIDriver", f"{suffix}.csi.example.com", spec={}),
        _o("storage.k8s.io/v1", "CSINode", f"{suffix}-node", spec={"drivers": []}),
        _o("storage.k8s.io/v1", "VolumeAttachment", f"{suffix}-attachment", spec={
            "attacher": f"{suffix}.csi.example.com", "nodeName": "sandbox-worker-1",
            "source": {"persistentVolumeName": f"{suffix}-pv"}}),
        _o(adm, "MutatingWebhookConfiguration", f"{suffix}-mutating", webhooks=[hook]),
        _o(adm, "ValidatingWebhookConfiguration", f"{suffix}-validating", webhooks=[hook]),
        _o(adm, "ValidatingAdmissionPolicy", f"{suffix}-policy", spec={
            "matchConstraints": {"resourceRules": [{
                "apiGroups": ["apps"], "apiVersions": ["v1"], "operations": ["CREATE"],
                "resources": ["deployments"]}]},
            "validations": [{"expression": "true"}]}),
        _o(adm, "ValidatingAdmissionPolicyBinding", f"{suffix}-policy-binding", spec={
            "policyName": f"{suffix}-policy", "validationActions": ["Audit"],
            "matchResources": {"namespaceSelector": {"matchLabels": {"printers": "none"}}}}),
        _o("certificates.k8s.io/v1", "CertificateSigningRequest", f"{suffix}-csr", spec={
            "request": _csr(), "signerName": "example.com/printers",
            "usages": ["client auth"]}),
        _o("apiextensions.k8s.io/v1", "CustomResourceDefinition",
           f"gizmos.{suffix}.example.com", spec={
               "group": f"{suffix}.example.com", "scope": "Namespaced",
               "names": {"plural": "gizmos", "singular": "gizmo", "kind": "Gizmo"},
               "versions": [{"name": "v1", "served": True, "storage": True,
                             "schema": {"openAPIV3Schema": {
                                 "type": "object", "x-kubernetes-preserve-unknown-fields": True}},
                             "additionalPrinterColumns": [
                                 {"name": "Size", "type": "integer", "jsonPath": ".spec.size"},
                                 {"name": "Color", "type": "string", "jsonPath": ".spec.color",
                                  "priority": 1},
                                 {"name": "Age", "type": "date",
                                  "jsonPath": ".metadata.creationTimestamp"}]}]}),
    ]
