"""Lists (selectors, pagination, all namespaces) and custom resources served from CRDs."""

from __future__ import annotations

import json

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from preview.sandbox.runner import Sandbox
from tests.conftest import raw_request

pytestmark = pytest.mark.sandbox


def test_label_selectors(core: client.CoreV1Api, namespace: str) -> None:
    # Secrets, not ConfigMaps: every namespace holds the kube-root-ca.crt ConfigMap.
    for name, labels in [("a", {"app": "web", "tier": "front"}), ("b", {"app": "web"}),
                         ("c", {"app": "db"}), ("d", {})]:
        core.create_namespaced_secret(namespace, {"metadata": {"name": name,
                                                               "labels": labels}})

    def names(selector: str) -> list[str]:
        return [i.metadata.name for i in core.list_namespaced_secret(
            namespace, label_selector=selector).items]

    assert names("app=web") == ["a", "b"]
    assert names("app!=web") == ["c", "d"]
    assert names("app in (web,db),tier") == ["a"]
    assert names("app notin (web)") == ["c", "d"]
    assert names("!app") == ["d"]


def test_field_selectors(core: client.CoreV1Api, namespace: str) -> None:
    core.create_namespaced_secret(namespace, {"metadata": {"name": "tls"},
                                              "type": "kubernetes.io/tls",
                                              "data": {"tls.crt": "", "tls.key": ""}})
    core.create_namespaced_secret(namespace, {"metadata": {"name": "plain"}})
    tls = core.list_namespaced_secret(namespace, field_selector="type=kubernetes.io/tls")
    assert [s.metadata.name for s in tls.items] == ["tls"]
    one = core.list_secret_for_all_namespaces(
        field_selector=f"metadata.namespace={namespace},metadata.name=plain")
    assert [s.metadata.name for s in one.items] == ["plain"]


def test_limit_and_continue_page_through_everything(core: client.CoreV1Api,
                                                    namespace: str) -> None:
    for i in range(25):
        core.create_namespaced_secret(namespace, {"metadata": {"name": f"cm-{i:02d}"}})
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        page = core.list_namespaced_secret(namespace, limit=10, _continue=token)
        seen += [i.metadata.name for i in page.items]
        pages += 1
        token = page.metadata._continue
        if not token:
            break
        assert page.metadata.remaining_item_count == 25 - len(seen)
    assert pages == 3 and seen == [f"cm-{i:02d}" for i in range(25)]


def test_custom_resources_are_served_once_a_crd_exists(api_client: client.ApiClient,
                                                       namespace: str) -> None:
    ext = client.ApiextensionsV1Api(api_client)
    ext.create_custom_resource_definition({
        "metadata": {"name": "widgets.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced",
                 "names": {"plural": "widgets", "singular": "widget", "kind": "Widget",
                           "shortNames": ["wd"]},
                 "versions": [{"name": "v1", "served": True, "storage": True,
                               "subresources": {"status": {}},
                               "schema": {"openAPIV3Schema": {
                                   "type": "object", "x-kubernetes-preserve-unknown-fields": True}}}]}})
    crd = ext.read_custom_resource_definition("widgets.example.com")
    assert {c.type: c.status for c in crd.status.conditions}["Established"] == "True"
    custom = client.CustomObjectsApi(api_client)
    made = custom.create_namespaced_custom_object("example.com", "v1", namespace, "widgets", {
        "apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w1"},
        "spec": {"size": 3}})
    assert made["metadata"]["generation"] == 1
    custom.patch_namespaced_custom_object("example.com", "v1", namespace, "widgets", "w1",
                                          {"spec": {"size": 4}})
    got = custom.get_namespaced_custom_object("example.com", "v1", namespace, "widgets", "w1")
    assert got["spec"]["size"] == 4 and got["metadata"]["generation"] == 2
    ext.delete_custom_resource_definition("widgets.example.com")
    with pytest.raises(ApiException) as e:
        custom.list_namespaced_custom_object("example.com", "v1", namespace, "widgets")
    assert e.value.status == 404


def test_events_are_one_storage_in_two_groups(api_client: client.ApiClient,
                                              namespace: str) -> None:
    core = client.CoreV1Api(api_client)
    core.create_namespaced_event(namespace, {
        "metadata": {"name": "e1"}, "involvedObject": {"kind": "Pod", "name": "p",
                                                       "namespace": namespace},
        "reason": "Started", "message": "started the thing", "type": "Normal",
        "eventTime": "2026-01-02T03:04:05.000000Z"})
    events = client.EventsV1Api(api_client).read_namespaced_event("e1", namespace)
    assert events.note == "started the thing" and events.regarding.name == "p"


def test_discovery_documents(sandbox: Sandbox, api_client: client.ApiClient) -> None:
    groups = client.ApisApi(api_client).get_api_versions()
    names = {g.name for g in groups.groups}
    assert {"apps", "batch", "networking.k8s.io", "rbac.authorization.k8s.io",
            "apiextensions.k8s.io", "coordination.k8s.io", "storage.k8s.io",
            "events.k8s.io"} <= names
    version = client.VersionApi(api_client).get_code()
    assert version.major == "1" and version.git_version.startswith("v1.")
    status, resp = raw_request(sandbox, "GET", "/api/v1")
    assert status == 200
    pods = next(r for r in resp["resources"] if r["name"] == "pods")
    assert pods["namespaced"] and "watch" in pods["verbs"] and pods["kind"] == "Pod"
    assert any(r["name"] == "pods/status" for r in resp["resources"])
    assert json.dumps(resp)  # plain JSON, serialisable
