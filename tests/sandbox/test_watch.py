"""Watch: every change after a resourceVersion, in order; 410 past the history; bookmarks."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator

import pytest
from kubernetes import client, watch

from preview.sandbox.runner import Sandbox, ServerConfig

pytestmark = pytest.mark.sandbox


def raw_watch(sb: Sandbox, path: str) -> Iterator[dict]:
    """Stream watch events with plain urllib: what is on the wire, nothing interpreted."""
    req = urllib.request.Request(sb.url + path,
                                 headers={"Authorization": f"Bearer {sb.admin_token}"})
    with urllib.request.urlopen(req, timeout=30, context=sb.ssl_context()) as resp:
        for line in resp:
            if line.strip():
                yield json.loads(line)


def test_watch_from_version_sees_every_change_in_order(core: client.CoreV1Api,
                                                       namespace: str) -> None:
    # Secrets, not ConfigMaps: kube-root-ca.crt lands in a new namespace at any moment.
    start = core.list_namespaced_secret(namespace).metadata.resource_version
    for i in range(20):
        core.create_namespaced_secret(namespace, {"metadata": {"name": f"cm-{i}"}})
    core.patch_namespaced_secret("cm-3", namespace, {"data": {"a": "b"}})
    core.delete_namespaced_secret("cm-4", namespace)
    seen = []
    w = watch.Watch()
    for event in w.stream(core.list_namespaced_secret, namespace, resource_version=start,
                          timeout_seconds=5):
        seen.append((event["type"], event["object"].metadata.name,
                     int(event["object"].metadata.resource_version)))
        if len(seen) == 22:
            w.stop()
    assert [s[:2] for s in seen] == [("ADDED", f"cm-{i}") for i in range(20)] + [
        ("MODIFIED", "cm-3"), ("DELETED", "cm-4")]
    versions = [s[2] for s in seen]
    assert versions == sorted(versions) and len(set(versions)) == len(versions)


def test_watch_with_label_selector_turns_relabel_into_delete(core: client.CoreV1Api,
                                                             namespace: str) -> None:
    start = core.list_namespaced_config_map(namespace).metadata.resource_version
    core.create_namespaced_config_map(namespace, {"metadata": {"name": "x",
                                                               "labels": {"app": "a"}}})
    core.patch_namespaced_config_map("x", namespace, {"metadata": {"labels": {"app": "b"}}})
    core.create_namespaced_config_map(namespace, {"metadata": {"name": "y",
                                                               "labels": {"app": "b"}}})
    w = watch.Watch()
    seen = []
    for event in w.stream(core.list_namespaced_config_map, namespace, resource_version=start,
                          label_selector="app=a", timeout_seconds=2):
        seen.append((event["type"], event["object"].metadata.name))
    assert seen == [("ADDED", "x"), ("DELETED", "x")]


def test_watch_older_than_history_gets_410() -> None:
    with Sandbox(ServerConfig(history=50)) as sb:
        api = client.CoreV1Api(_client(sb))
        api.create_namespace({"metadata": {"name": "w"}})
        old = api.list_namespaced_config_map("w").metadata.resource_version
        for i in range(60):
            api.create_namespaced_config_map("w", {"metadata": {"name": f"c{i}"}})
        events = list(raw_watch(sb, f"/api/v1/namespaces/w/configmaps?watch=1"
                                    f"&resourceVersion={old}&timeoutSeconds=5"))
        assert len(events) == 1 and events[0]["type"] == "ERROR"
        status = events[0]["object"]
        assert (status["code"], status["reason"]) == (410, "Expired")
        assert status["message"].startswith(f"too old resource version: {old} (")


def test_bookmarks_arrive_when_asked_for() -> None:
    # Secrets, not ConfigMaps: the kube-root-ca.crt ConfigMap appears in a new cluster.
    with Sandbox(ServerConfig(bookmark_interval=0.2)) as sb:
        api = client.CoreV1Api(_client(sb))
        rv = api.list_namespaced_secret("default").metadata.resource_version
        # Read until the first bookmark (every 0.2 s here): the watch's timeout only bounds a
        # sandbox that never sends one, and leaves room for a busy machine.
        events = []
        for event in raw_watch(sb, f"/api/v1/namespaces/default/secrets?watch=1"
                                   f"&resourceVersion={rv}&allowWatchBookmarks=true"
                                   f"&timeoutSeconds=10"):
            events.append(event)
            if event["type"] == "BOOKMARK":
                break
        bookmarks = [e for e in events if e["type"] == "BOOKMARK"]
        assert bookmarks, events
        assert bookmarks[0]["object"]["kind"] == "Secret"
        assert int(bookmarks[0]["object"]["metadata"]["resourceVersion"]) >= int(rv)
        silent = list(raw_watch(sb, f"/api/v1/namespaces/default/secrets?watch=1"
                                    f"&resourceVersion={rv}&timeoutSeconds=1"))
        assert silent == []


def test_send_initial_events_ends_with_marked_bookmark(sandbox: Sandbox, core: client.CoreV1Api,
                                                       namespace: str) -> None:
    core.create_namespaced_secret(namespace, {"metadata": {"name": "one"}})
    events = list(raw_watch(sandbox, f"/api/v1/namespaces/{namespace}/secrets?watch=1"
                                     "&sendInitialEvents=true&resourceVersionMatch=NotOlderThan"
                                     "&allowWatchBookmarks=true&timeoutSeconds=1"))
    assert events[0]["type"] == "ADDED" and events[0]["object"]["metadata"]["name"] == "one"
    assert events[1]["type"] == "BOOKMARK"
    assert events[1]["object"]["metadata"]["annotations"] == {
        "k8s.io/initial-events-end": "true"}


def _client(sb: Sandbox) -> client.ApiClient:
    from kubernetes import config
    return config.new_client_from_config(sb.kubeconfig)
