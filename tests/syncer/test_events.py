"""Host Events retold about the virtual object (pure)."""

from __future__ import annotations

from preview.syncer.kinds import events

HOST_EVENT = {
    "metadata": {"name": "web-x-shop-x-pr-7.187a1b2c3d4e5f60", "namespace": "preview-pr-7"},
    "involvedObject": {"apiVersion": "v1", "kind": "Pod", "name": "web-x-shop-x-pr-7",
                       "namespace": "preview-pr-7", "uid": "host-uid",
                       "fieldPath": "spec.containers{web}"},
    "reason": "Scheduled", "type": "Normal", "count": 1,
    "message": "Successfully assigned preview-pr-7/web-x-shop-x-pr-7 to node-2",
    "source": {"component": "default-scheduler"},
    "firstTimestamp": "2026-01-01T00:00:00Z", "lastTimestamp": "2026-01-01T00:00:00Z",
}
VIRTUAL_POD = {"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": "web", "namespace": "shop", "uid": "virtual-uid"}}


def test_event_is_about_the_virtual_object() -> None:
    out = events.translate(HOST_EVENT, VIRTUAL_POD, "preview-pr-7")
    assert out["metadata"]["namespace"] == "shop"
    assert out["metadata"]["name"].startswith("web.")
    assert out["involvedObject"] == {"apiVersion": "v1", "kind": "Pod", "name": "web",
                                     "namespace": "shop", "uid": "virtual-uid",
                                     "fieldPath": "spec.containers{web}"}
    assert out["message"] == "Successfully assigned shop/web to node-2"
    assert (out["reason"], out["type"], out["count"]) == ("Scheduled", "Normal", 1)
    assert out["source"] == {"component": "default-scheduler"}


def test_names_are_stable_and_distinct() -> None:
    a = events.virtual_name("host-a.1", "web")
    assert a == events.virtual_name("host-a.1", "web")
    assert a != events.virtual_name("host-a.2", "web")
