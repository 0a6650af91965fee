"""API groups every cluster serves: admission registration, certificates, APIServices, CSI.

Discovery, CRUD, watch and validation with kubectl and the official client.
"""

from __future__ import annotations

import base64
import json

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from kubernetes import client, watch
from kubernetes.client.rest import ApiException

from preview.sandbox.runner import Sandbox
from tests.conftest import KubectlRunner, raw_request

pytestmark = pytest.mark.sandbox

WEBHOOK = {
    "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
    "metadata": {"name": "policy.example.com"},
    "webhooks": [{"name": "check.policy.example.com", "sideEffects": "None",
                  "admissionReviewVersions": ["v1"],
                  "clientConfig": {"service": {"name": "hook", "namespace": "default"}},
                  "rules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"],
                             "resources": ["pods"]}]}]}


def test_discovery_lists_the_platform_resources(kubectl: KubectlRunner) -> None:
    out = kubectl("api-resources", "-o", "name").stdout.split()
    for name in ("mutatingwebhookconfigurations.admissionregistration.k8s.io",
                 "validatingwebhookconfigurations.admissionregistration.k8s.io",
                 "validatingadmissionpolicies.admissionregistration.k8s.io",
                 "validatingadmissionpolicybindings.admissionregistration.k8s.io",
                 "certificatesigningrequests.certificates.k8s.io",
                 "apiservices.apiregistration.k8s.io", "csidrivers.storage.k8s.io",
                 "csinodes.storage.k8s.io", "csistoragecapacities.storage.k8s.io",
                 "volumeattachments.storage.k8s.io"):
        assert name in out
    services = kubectl("get", "apiservices", "-o", "name").stdout.split()
    assert "apiservice.apiregistration.k8s.io/v1.apps" in services
    assert "apiservice.apiregistration.k8s.io/v1." in services


def test_webhook_configurations_are_defaulted_and_validated(kubectl: KubectlRunner) -> None:
    kubectl("apply", "-f", "-", input=json.dumps(WEBHOOK))
    try:
        live = json.loads(kubectl("get", "validatingwebhookconfiguration",
                                  "policy.example.com", "-o", "json").stdout)
        hook = live["webhooks"][0]
        assert (hook["failurePolicy"], hook["matchPolicy"], hook["timeoutSeconds"]) == \
            ("Fail", "Equivalent", 10)
        assert hook["rules"][0]["scope"] == "*"
        assert hook["clientConfig"]["service"]["port"] == 443
    finally:
        kubectl("delete", "validatingwebhookconfiguration", "policy.example.com")
    bad = json.loads(json.dumps(WEBHOOK))
    del bad["webhooks"][0]["sideEffects"]
    result = kubectl("apply", "-f", "-", input=json.dumps(bad), check=False)
    assert result.returncode != 0
    assert "webhooks[0].sideEffects: Required value: must specify one of None, NoneOnDryRun" \
        in result.stderr


def test_validating_admission_policies_and_bindings(api_client: client.ApiClient,
                                                   sandbox: Sandbox) -> None:
    api = client.AdmissionregistrationV1Api(api_client)
    policy = api.create_validating_admission_policy({
        "metadata": {"name": "replicas-limit"},
        "spec": {"matchConstraints": {"resourceRules": [{
            "apiGroups": ["apps"], "apiVersions": ["v1"], "operations": ["CREATE"],
            "resources": ["deployments"]}]},
            "validations": [{"expression": "object.spec.replicas <= 5"}]}})
    assert policy.spec.failure_policy == "Fail"
    try:
        code, status = raw_request(
            sandbox, "POST",
            "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings",
            json.dumps({"apiVersion": "admissionregistration.k8s.io/v1",
                        "kind": "ValidatingAdmissionPolicyBinding",
                        "metadata": {"name": "replicas-limit"},
                        "spec": {"policyName": "replicas-limit"}}).encode())
        assert code == 422
        assert "spec.validationActions: Required value" in status["message"]
        binding = api.create_validating_admission_policy_binding({
            "metadata": {"name": "replicas-limit"},
            "spec": {"policyName": "replicas-limit", "validationActions": ["Deny"]}})
        assert binding.spec.validation_actions == ["Deny"]
        api.delete_validating_admission_policy_binding("replicas-limit")
    finally:
        api.delete_validating_admission_policy("replicas-limit")


def _csr_pem(name: str) -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    csr = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])).sign(key, hashes.SHA256())
    return base64.b64encode(csr.public_bytes(serialization.Encoding.PEM)).decode()


def test_certificate_signing_requests_are_approved_and_signed(
        api_client: client.ApiClient, kubectl: KubectlRunner) -> None:
    api = client.CertificatesV1Api(api_client)
    csr = api.create_certificate_signing_request({
        "metadata": {"name": "jane"},
        "spec": {"request": _csr_pem("jane"), "signerName": "kubernetes.io/kube-apiserver-client",
                 "usages": ["client auth"], "username": "someone-else"}})
    try:
        assert csr.spec.username == "kubernetes-admin"  # the requester, not what was sent
        assert "kubeadm:cluster-admins" in csr.spec.groups
        kubectl("certificate", "approve", "jane")
        approved = api.read_certificate_signing_request("jane")
        condition = approved.status.conditions[0]
        assert (condition.type, condition.status, condition.reason) == \
            ("Approved", "True", "KubectlApprove")
        assert "Approved" in kubectl("get", "csr", "jane").stdout
        approved.status.certificate = base64.b64encode(b"-----BEGIN CERTIFICATE-----").decode()
        signed = api.replace_certificate_signing_request_status("jane", approved)
        assert signed.status.certificate and signed.status.conditions[0].type == "Approved"
        with pytest.raises(ApiException) as e:
            kubectl_deny = api.read_certificate_signing_request("jane")
            kubectl_deny.status.conditions.append(client.V1CertificateSigningRequestCondition(
                type="Denied", status="True", reason="No"))
            api.replace_certificate_signing_request_approval("jane", kubectl_deny)
        assert e.value.status == 422
    finally:
        api.delete_certificate_signing_request("jane")
    with pytest.raises(ApiException) as e:
        api.create_certificate_signing_request({"metadata": {"name": "bad"}, "spec": {
            "request": base64.b64encode(b"nope").decode(), "signerName": "example.com/x"}})
    assert e.value.status == 422


def test_apiservices_conflict_on_repeat(api_client: client.ApiClient) -> None:
    api = client.ApiregistrationV1Api(api_client)
    body = {"metadata": {"name": "v1beta1.metrics.example.com"},
            "spec": {"group": "metrics.example.com", "version": "v1beta1",
                     "groupPriorityMinimum": 100, "versionPriority": 100,
                     "service": {"name": "metrics", "namespace": "kube-system"}}}
    api.create_api_service(body)
    try:
        with pytest.raises(ApiException) as e:
            api.create_api_service(body)
        assert e.value.status == 409
        assert json.loads(e.value.body)["reason"] == "AlreadyExists"
        assert api.read_api_service("v1.apps").status.conditions[0].reason == "Local"
    finally:
        api.delete_api_service("v1beta1.metrics.example.com")


def test_csi_kinds_are_served(api_client: client.ApiClient, namespace: str) -> None:
    storage = client.StorageV1Api(api_client)
    driver = storage.create_csi_driver({"metadata": {"name": "csi.example.com"}, "spec": {}})
    assert driver.spec.attach_required is True
    assert driver.spec.volume_lifecycle_modes == ["Persistent"]
    node = storage.create_csi_node({"metadata": {"name": "sandbox-worker-1"}, "spec": {
        "drivers": [{"name": "csi.example.com", "nodeID": "worker-1"}]}})
    assert node.spec.drivers[0].node_id == "worker-1"
    capacity = storage.create_namespaced_csi_storage_capacity(namespace, {
        "metadata": {"name": "cap"}, "storageClassName": "standard", "capacity": "10Gi"})
    assert capacity.capacity == "10Gi"
    rv = storage.list_volume_attachment().metadata.resource_version
    storage.create_volume_attachment({"metadata": {"name": "att"}, "spec": {
        "attacher": "csi.example.com", "nodeName": "sandbox-worker-1",
        "source": {"persistentVolumeName": "pv-1"}}})
    event = next(iter(watch.Watch().stream(storage.list_volume_attachment, resource_version=rv,
                                           timeout_seconds=5)))
    assert (event["type"], event["object"].metadata.name) == ("ADDED", "att")
    attached = storage.patch_volume_attachment_status("att", {"status": {"attached": True}})
    assert attached.status.attached is True
    with pytest.raises(ApiException) as e:
        storage.create_volume_attachment({"metadata": {"name": "bad"}, "spec": {
            "attacher": "csi.example.com", "nodeName": "n", "source": {}}})
    assert e.value.status == 422
    for delete in (lambda: storage.delete_volume_attachment("att"),
                   lambda: storage.delete_csi_node("sandbox-worker-1"),
                   lambda: storage.delete_csi_driver("csi.example.com")):
        delete()
