"""managedFields of Update operations (`record_update`), pure: what a write by a manager
records, whether the two versions are copies or share the parts a status write keeps."""

from __future__ import annotations

import copy
from typing import Any

from preview.sandbox.apiserver.apply import fieldpaths
from preview.sandbox.apiserver.apply.apply import record_update

T0, T1 = "2026-12-06T09:00:00Z", "2026-12-06T09:01:00Z"


def _pod() -> dict[str, Any]:
    pod: dict[str, Any] = {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "p", "namespace": "a", "labels": {"app": "web"}},
        "spec": {"containers": [{"name": "c", "image": "nginx", "ports": [
            {"containerPort": 80, "protocol": "TCP"}]}], "nodeName": "n1"},
        "status": {"phase": "Pending"},
    }
    pod["metadata"]["managedFields"] = record_update(None, pod, "creator", T0)
    return pod


def _status_write(old: dict[str, Any], status: dict[str, Any], share: bool) -> dict[str, Any]:
    new = {k: v if share and k == "spec" else copy.deepcopy(v)
           for k, v in old.items() if k != "status"}
    new["status"] = status
    return new


def test_a_status_write_sharing_the_spec_records_what_a_copy_records() -> None:
    old = _pod()
    status = {"phase": "Running", "podIP": "10.0.0.5",
              "conditions": [{"type": "Ready", "status": "True"}]}
    shared = record_update(old, _status_write(old, status, share=True), "kubelet", T1,
                           subresource="status")
    copied = record_update(old, _status_write(old, status, share=False), "kubelet", T1,
                           subresource="status")
    assert shared == copied
    assert [e["manager"] for e in shared] == ["creator", "kubelet"]
    assert shared[1]["subresource"] == "status"
    assert shared[1]["fieldsV1"] == {"f:status": {
        "f:conditions": {'k:{"type":"Ready"}': {".": {}, "f:status": {}, "f:type": {}}},
        "f:phase": {}, "f:podIP": {}}}
    # The creator no longer owns the phase the kubelet changed; its spec fields stay.
    assert "f:status" not in shared[0]["fieldsV1"]
    assert shared[0]["fieldsV1"]["f:spec"]["f:nodeName"] == {}


def test_a_field_the_new_version_adds_is_recorded_even_when_its_value_is_null() -> None:
    # Only a field both versions hold, as the same object, is left unwalked: one the new
    # version adds (here `null`, which is also what a missing key reads as) is a change.
    old = _pod()
    new = copy.deepcopy(old)
    new["extra"] = None
    entries = record_update(old, new, "editor", T1)
    assert entries[-1]["manager"] == "editor"
    assert entries[-1]["fieldsV1"] == {"f:extra": {}}


def test_a_field_the_new_version_drops_leaves_its_owner() -> None:
    old = _pod()
    old["metadata"]["managedFields"] = record_update(None, old, "creator", T0)
    new = {k: v for k, v in old.items() if k != "spec"}
    new["metadata"] = dict(old["metadata"])
    entries = record_update(old, new, "editor", T1)
    assert all("f:spec" not in e["fieldsV1"] for e in entries)


def test_an_entry_the_write_leaves_alone_is_kept_as_it_was() -> None:
    old = _pod()
    new = _status_write(old, {"phase": "Pending", "podIP": "10.0.0.5"}, share=True)
    entries = record_update(old, new, "kubelet", T1, subresource="status")
    assert entries[0] == old["metadata"]["managedFields"][0]
    assert entries[1]["fieldsV1"] == {"f:status": {"f:podIP": {}}}


def test_owns_any_is_an_intersection_with_the_field_set() -> None:
    fields = {"f:metadata": {"f:labels": {".": {}, "f:app": {}}},
              "f:spec": {"f:containers": {'k:{"name":"c"}': {".": {}, "f:image": {}}}}}
    owned = fieldpaths.from_fields_v1(fields)
    probes: list[fieldpaths.Path] = [
        ("f:metadata",), ("f:metadata", "f:labels"), ("f:metadata", "f:labels", "f:app"),
        ("f:metadata", "f:labels", "."), ("f:metadata", "f:labels", "f:app", "f:x"),
        ("f:spec", "f:containers", 'k:{"name":"c"}', "f:image"),
        ("f:spec", "f:containers", 'k:{"name":"d"}', "f:image"), ("f:status",), ()]
    for probe in probes:
        assert fieldpaths.owns_any(fields, [probe]) == (probe in owned), probe
    assert not fieldpaths.owns_any({}, [("f:a",)])
    assert not fieldpaths.owns_any(fields, [])
