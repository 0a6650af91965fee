"""The patch of a host copy: managed keys, host-added keys, removed fields (pure)."""

from __future__ import annotations

from typing import Any

from preview.syncer.engine import fields
from preview.syncer.engine.references import References

PATHS = (("spec",),)


def copy(labels: dict[str, str], notes: dict[str, str], spec: dict[str, Any]) -> dict[str, Any]:
    return fields.with_bookkeeping({"metadata": {"name": "x", "labels": dict(labels),
                                                 "annotations": dict(notes)},
                                    "spec": spec}, PATHS)


def test_in_sync_copy_needs_no_patch_even_with_host_defaults() -> None:
    host = copy({"a": "1"}, {"n": "1"}, {"rules": [{"host": "h"}]})
    host["spec"]["ingressClassName"] = "nginx"  # defaulted by the host
    host["metadata"]["annotations"]["cloud/lb"] = "x"
    assert fields.copy_patch(host, copy({"a": "1"}, {"n": "1"}, {"rules": [{"host": "h"}]}),
                             PATHS) is None


def test_patch_sets_ours_removes_our_old_keys_and_keeps_the_hosts() -> None:
    host = copy({"a": "1", "old": "x"}, {"n": "1"}, {"rules": [{"host": "h"}], "tls": [{}]})
    host["metadata"]["annotations"]["cloud/lb"] = "x"
    host["metadata"]["labels"]["host-label"] = "y"
    wanted = copy({"a": "2"}, {"n": "1", "m": "2"}, {"rules": [{"host": "h"}]})
    patch = fields.copy_patch(host, wanted, PATHS)
    assert patch is not None
    assert patch["metadata"]["labels"] == {"a": "2", "old": None}
    notes = patch["metadata"]["annotations"]
    assert notes["m"] == "2" and "cloud/lb" not in notes
    assert patch["spec"] == {"tls": None}


def test_legacy_copy_without_bookkeeping_is_merged_not_replaced() -> None:
    host = {"metadata": {"labels": {"a": "1"}, "annotations": {}}, "spec": {"x": 1}}
    wanted = copy({"a": "1"}, {}, {"y": 2})
    patch = fields.copy_patch(host, wanted, PATHS)
    assert patch is not None and patch["spec"] == {"y": 2}


def test_references_report_changed_targets() -> None:
    refs = References()
    pod = ("pods", "ns", "p")
    assert refs.update(pod, {("secrets", "ns", "a"), ("secrets", "ns", "b")}) == {
        ("secrets", "ns", "a"), ("secrets", "ns", "b")}
    assert refs.update(pod, {("secrets", "ns", "b")}) == {("secrets", "ns", "a")}
    assert refs.referenced(("secrets", "ns", "b"))
    assert not refs.referenced(("secrets", "ns", "a"))
    assert refs.remove(pod) == {("secrets", "ns", "b")}
    assert not refs.referenced(("secrets", "ns", "b"))
