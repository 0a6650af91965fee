"""Pure pieces of `preview vcluster`: names, CIDR messages, kubeconfigs, list rows, diagnostics."""

from __future__ import annotations

import datetime as dt

import pytest

from preview.errors import PreviewError
from preview.vcluster import cidr, diagnose, listing
from preview.vcluster.connect import elsewhere, kubeconfig_for
from preview.vcluster.lifecycle import pod_security_labels
from preview.vcluster.model import check_name


@pytest.mark.parametrize("name", ["team-a", "a", "x" * 52])
def test_good_names(name: str) -> None:
    assert check_name(name) == name


@pytest.mark.parametrize("name", ["", "Team", "-a", "a-", "a_b", "x" * 53, "1abc", "0"])
def test_bad_names_say_how_to_fix(name: str) -> None:
    with pytest.raises(PreviewError) as e:
        check_name(name)
    assert e.value.hint and "52" in e.value.hint


def test_the_real_servers_out_of_range_message() -> None:
    message = ('Service "x" is invalid: spec.clusterIPs: Invalid value: []string{"1.1.1.1"}: '
               "failed to allocate IP 1.1.1.1: the provided IP (1.1.1.1) is not in the valid "
               "range. The range of valid IPs is 10.43.0.0/16")
    assert cidr.parse_range(message) == "10.43.0.0/16"
    assert cidr.parse_range("something else") is None


def test_pod_security_levels() -> None:
    assert pod_security_labels("restricted") == {
        "pod-security.kubernetes.io/enforce": "restricted",
        "pod-security.kubernetes.io/audit": "restricted",
        "pod-security.kubernetes.io/warn": "restricted"}
    with pytest.raises(PreviewError):
        pod_security_labels("strict")


PUBLISHED = {"apiVersion": "v1", "kind": "Config", "current-context": "default",
             "clusters": [{"name": "default", "cluster": {
                 "server": "https://team-a.team-a.svc:443", "certificate-authority-data": "Q0E=",
                 "tls-server-name": "team-a"}}],
             "users": [{"name": "default", "user": {"token": "t"}}],
             "contexts": [{"name": "default", "context": {"cluster": "default",
                                                          "user": "default"}}]}


def test_kubeconfig_points_at_the_tunnel_and_is_named_after_the_cluster() -> None:
    out = kubeconfig_for(PUBLISHED, "https://127.0.0.1:4321", "team-a")
    assert out["current-context"] == "vcluster-team-a"
    cluster = out["clusters"][0]["cluster"]
    assert cluster["server"] == "https://127.0.0.1:4321"
    assert cluster["certificate-authority-data"] == "Q0E=" and "tls-server-name" not in cluster
    assert out["users"] == [{"name": "vcluster-team-a", "user": {"token": "t"}}]
    assert PUBLISHED["clusters"][0]["cluster"]["server"] == "https://team-a.team-a.svc:443"


def test_a_kubeconfig_for_another_address_verifies_the_service_name() -> None:
    cluster = elsewhere(PUBLISHED, "https://team-a.example.com", "team-a")["clusters"][0][
        "cluster"]
    assert cluster["server"] == "https://team-a.example.com"
    assert cluster["tls-server-name"] == "team-a.team-a.svc"  # what the certificate names
    same = elsewhere(PUBLISHED, "https://team-a.team-a.svc:443", "team-a")["clusters"][0]
    assert same["cluster"]["tls-server-name"] == "team-a"  # the published one, untouched


def test_list_row() -> None:
    now = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)
    sts = {"metadata": {"name": "team-a", "namespace": "team-a",
                        "labels": {"app.kubernetes.io/instance": "team-a"},
                        "creationTimestamp": "2026-01-01T11:00:00Z"},
           "spec": {"replicas": 1}, "status": {"readyReplicas": 1, "replicas": 1}}
    row = listing.summarize(sts, {"preview-vcluster.io/pr": "12", "other": "x"}, now)
    assert (row.name, row.status, row.ready, row.age_seconds) == ("team-a", "Running", True,
                                                                   3600)
    assert row.labels == {"preview-vcluster.io/pr": "12"}
    sts["status"] = {"replicas": 1}
    assert listing.summarize(sts, {}, now).status == "Starting"


def test_diagnostics_name_the_failing_container() -> None:
    pod = {"metadata": {"name": "team-a-0"}, "status": {
        "phase": "Running",
        "conditions": [{"type": "Ready", "status": "False", "reason": "ContainersNotReady",
                        "message": "containers with unready status: [syncer]"}],
        "containerStatuses": [
            {"name": "k3s", "ready": True, "state": {"running": {}}},
            {"name": "syncer", "ready": False, "restartCount": 3,
             "state": {"waiting": {"reason": "CrashLoopBackOff",
                                   "message": "back-off 40s restarting failed container"}}}]}}
    events = [{"type": "Warning", "reason": "BackOff", "message": "Back-off restarting",
               "lastTimestamp": "2026-01-01T00:00:00Z"}]
    text = diagnose.describe_pod(pod, events)
    assert "container syncer: CrashLoopBackOff back-off 40s" in text
    assert "(restarts: 3)" in text and "k3s" not in text
    assert "event Warning BackOff" in text
    assert "does not exist" in diagnose.describe_pod(None, [])


NOW = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)


def test_a_failed_release_makes_a_failed_row() -> None:
    sts = {"metadata": {"name": "a", "namespace": "a", "creationTimestamp": "2026-01-01T11:00:00Z"},
           "spec": {"replicas": 1}, "status": {"replicas": 1}}
    row = listing.summarize(sts, {}, NOW)
    failed = listing.with_release(row, {"status": "failed", "revision": "2",
                                        "chart": "vcluster-0.1.0"})
    assert (failed.status, failed.release, failed.revision, failed.chart) == (
        "Failed", "failed", 2, "vcluster-0.1.0")
    assert listing.with_release(row, {"status": "deployed"}).status == "Starting"
    assert listing.with_release(row, None) == row


@pytest.mark.parametrize(("status", "shown"), [("failed", "Failed"), ("deployed", "Failed"),
                                                ("pending-install", "Starting")])
def test_a_release_without_statefulset(status: str, shown: str) -> None:
    row = listing.release_only({"name": "b", "namespace": "ns", "status": status,
                                "revision": "1", "chart": "vcluster-0.1.0",
                                "updated": "2026-01-01 11:59:00.1234 +0000 UTC"},
                               {"preview-vcluster.io/pr": "3"}, NOW)
    assert (row.name, row.namespace, row.status, row.release, row.age_seconds) == (
        "b", "ns", shown, status, 60)
    assert row.labels == {"preview-vcluster.io/pr": "3"} and not row.ready
