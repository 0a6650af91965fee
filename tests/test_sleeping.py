"""What sleep and wake do to each kind of workload: patches, as tables (pure)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from preview import naming, sleeping


def obj(spec: dict[str, Any], notes: dict[str, str] | None = None,
        owners: list[dict[str, Any]] | None = None, status: dict[str, Any] | None = None
        ) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": "w", "namespace": "default"}
    if notes:
        meta["annotations"] = notes
    if owners:
        meta["ownerReferences"] = owners
    return {"metadata": meta, "spec": spec, "status": status or {}}


def merge(target: Any, patch: Any) -> Any:
    """RFC 7386 merge patch."""
    if not isinstance(patch, dict):
        return patch
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge(out.get(key), value)
    return out


@pytest.mark.parametrize("kind,spec", [
    ("Deployment", {"replicas": 3}),
    ("StatefulSet", {"replicas": 2}),
    ("StatefulSet", {}),  # the API's default, 1
    ("ReplicaSet", {"replicas": 1}),
    ("Deployment", {"replicas": 0}),
    ("CronJob", {"schedule": "* * * * *"}),
    ("CronJob", {"schedule": "* * * * *", "suspend": True}),
    ("Job", {"parallelism": 2}),
    ("DaemonSet", {"template": {"spec": {"nodeSelector": {"disk": "ssd", "zone": "a"}}}}),
    ("DaemonSet", {"template": {"spec": {}}}),
])
def test_sleep_then_wake_restores_the_workload_exactly(kind: str, spec: dict[str, Any]) -> None:
    before = obj(spec)
    patch = sleeping.sleep_patch(kind, before)
    assert patch is not None
    asleep = merge(before, patch)
    assert sleeping.is_asleep(asleep)
    if kind in sleeping.SCALED:
        assert asleep["spec"]["replicas"] == 0
    elif kind in sleeping.SUSPENDED:
        assert asleep["spec"]["suspend"] is True
    else:
        assert asleep["spec"]["template"]["spec"]["nodeSelector"] == \
            {naming.ASLEEP_NODE_LABEL: "true"}
    assert sleeping.sleep_patch(kind, asleep) is None  # twice: the record is kept
    woken = merge(asleep, sleeping.wake_patch(kind, asleep))
    assert woken["metadata"].pop("annotations") == {}  # the record removed
    expected = json.loads(json.dumps(before))
    if kind in sleeping.SCALED:
        expected["spec"]["replicas"] = spec.get("replicas", 1)
    if kind in sleeping.SUSPENDED:
        expected["spec"]["suspend"] = bool(spec.get("suspend"))
    if kind == "DaemonSet":
        expected["spec"]["template"]["spec"].setdefault("nodeSelector", {})
    assert woken == expected
    assert sleeping.wake_patch(kind, woken) is None


def test_what_sleep_leaves_alone() -> None:
    controlled = [{"kind": "Deployment", "name": "app", "controller": True}]
    assert sleeping.sleep_patch("ReplicaSet", obj({"replicas": 2}, owners=controlled)) is None
    assert sleeping.sleep_patch("Job", obj({}, owners=[{"kind": "CronJob",
                                                          "controller": True}])) is None
    done = {"conditions": [{"type": "Complete", "status": "True"}]}
    assert sleeping.sleep_patch("Job", obj({}, status=done)) is None
    with pytest.raises(ValueError, match="Pod"):
        sleeping.sleep_patch("Pod", obj({}))


def test_a_record_that_cannot_be_read_names_the_annotation_and_the_fix() -> None:
    with pytest.raises(ValueError, match=f"{naming.SLEEP_REPLICAS}='many'.*spec.replicas"):
        sleeping.wake_patch("Deployment", obj({"replicas": 0},
                                              {naming.SLEEP_REPLICAS: "many"}))
    with pytest.raises(ValueError, match=f"{naming.SLEEP_NODE_SELECTOR}.*nodeSelector"):
        sleeping.wake_patch("DaemonSet", obj({}, {naming.SLEEP_NODE_SELECTOR: "[1]"}))


def test_the_daemonset_record_is_its_selector_as_json() -> None:
    patch = sleeping.sleep_patch("DaemonSet", obj(
        {"template": {"spec": {"nodeSelector": {"zone": "a"}}}}))
    assert patch is not None
    assert json.loads(patch["metadata"]["annotations"][naming.SLEEP_NODE_SELECTOR]) == \
        {"zone": "a"}
    assert patch["spec"]["template"]["spec"]["nodeSelector"] == \
        {"zone": None, naming.ASLEEP_NODE_LABEL: "true"}


NOW = dt.datetime(2026, 12, 6, 12, 0, tzinfo=dt.UTC)


def record(labels: dict[str, str] | None = None, created: str = "2026-12-06T08:00:00Z",
           activity: str = "", asleep: str = "", terminating: bool = False
           ) -> naming.EnvironmentRecord:
    return naming.EnvironmentRecord(
        namespace="ns", repo="o/r", pr=1, environment="pr-1", vcluster="pr-1", head_sha="",
        url="", run_url="", created_at=created, expires_at="", terminating=terminating,
        labels=labels or {}, asleep_since=asleep, last_activity=activity)


@pytest.mark.parametrize("env,after,sleeps,reason", [
    (record(), 7200, True, "no activity for 14400s (sleepAfter 7200s)"),
    (record(activity="2026-12-06T11:00:00Z"), 7200, False, "active 3600s ago (sleepAfter 7200s)"),
    (record(activity="2026-12-06T10:00:00Z"), 7200, True, "no activity for 7200s (sleepAfter 7200s)"),
    (record(labels={"keep-awake": "true"}), 7200, False, "labelled keep-awake=true"),
    (record(labels={"keep-awake": "yes"}), 1, False, "labelled keep-awake=yes"),
    (record(labels={"keep-awake": "false"}), 7200, True, "no activity for 14400s (sleepAfter 7200s)"),
    (record(asleep="2026-12-06T09:00:00Z"), 7200, False, "asleep since 2026-12-06T09:00:00Z"),
    (record(terminating=True), 7200, False, "being deleted"),
    (record(), None, False, "the policy's sleepAfter is off"),
    (record(created="", activity=""), 7200, False, "no readable time of last activity ('')"),
])
def test_the_idle_pass_decides_from_last_activity_the_keep_label_and_the_state(
        env: naming.EnvironmentRecord, after: int | None, sleeps: bool, reason: str) -> None:
    decision = sleeping.idle(env, NOW, after, "keep-awake")
    assert (decision.sleep, decision.reason) == (sleeps, reason)


# -- the wake page's Ingresses -------------------------------------------------------------------
def host_ingress() -> dict[str, Any]:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": "app-x-default-x-vcluster", "namespace": "ns",
                         "resourceVersion": "7", "labels": {"a": "b"},
                         "annotations": {"nginx.ingress.kubernetes.io/ssl-redirect": "false"}},
            "spec": {"ingressClassName": "nginx",
                     "tls": [{"hosts": ["app.example"], "secretName": "t"}],
                     "defaultBackend": {"service": {"name": "web", "port": {"name": "http"}}},
                     "rules": [{"host": "App.example", "http": {"paths": [
                         {"path": "/api", "pathType": "Exact", "backend": {
                             "service": {"name": "api", "port": {"number": 8080}}}},
                         {"path": "/", "pathType": "Prefix", "backend": {
                             "service": {"name": "web", "port": {"name": "http"}}}}]}},
                               {"host": "other.example"}]}}


def test_sleep_points_every_host_and_default_at_the_wake_service_and_wake_restores_exactly(
        ) -> None:
    original = host_ingress()
    asleep = sleeping.asleep_ingress(original, 8081)
    assert asleep is not None
    wake = {"service": {"name": naming.WAKE_SERVICE, "port": {"number": 8081}}}
    assert asleep["spec"] == {
        "ingressClassName": "nginx", "tls": original["spec"]["tls"], "defaultBackend": wake,
        "rules": [{"host": host, "http": {"paths": [
            {"path": "/", "pathType": "Prefix", "backend": wake}]}}
                  for host in ("App.example", "other.example")]}
    assert asleep["metadata"]["labels"] == {"a": "b", naming.WAKE_PAGE: "true"}
    assert asleep["metadata"]["resourceVersion"] == "7"  # a replace fails on a newer one
    assert sleeping.ingress_hosts(asleep) == ("app.example", "other.example")
    assert sleeping.asleep_ingress(asleep, 9999) is None  # twice: the first record stays
    assert sleeping.awake_ingress(asleep) == original
    assert sleeping.awake_ingress(original) is None
    assert sleeping.backend_services(original["spec"]) == ("api", "web")
    assert original == host_ingress()  # nothing changed in place


def test_an_ingress_without_rules_keeps_only_its_default_backend() -> None:
    spec = {"defaultBackend": {"service": {"name": "web", "port": {"number": 80}}}}
    assert sleeping.wake_page_spec(spec, 8081) == {"defaultBackend": {"service": {
        "name": naming.WAKE_SERVICE, "port": {"number": 8081}}}}


@pytest.mark.parametrize("record", ["{", "[1]"])
def test_an_unreadable_ingress_record_is_named_with_its_fix(record: str) -> None:
    ingress = host_ingress()
    ingress["metadata"]["annotations"][naming.SLEEP_INGRESS] = record
    with pytest.raises(ValueError, match=r"Ingress app-x-default-x-vcluster: annotation "
                       r"preview-vcluster.io/sleep-ingress is not a JSON object .*remove it"):
        sleeping.awake_ingress(ingress)


def test_the_wake_service_is_an_external_name_of_ours() -> None:
    service = sleeping.wake_service("ns", "api.platform.svc.cluster.local", 8081,
                                    {naming.MANAGED_BY: naming.MANAGED_BY_VALUE})
    assert service["metadata"]["name"] == naming.WAKE_SERVICE
    assert service["metadata"]["labels"][naming.MANAGED_BY] == naming.MANAGED_BY_VALUE
    assert service["spec"] == {"type": "ExternalName",
                               "externalName": "api.platform.svc.cluster.local",
                               "ports": [{"name": "http", "port": 8081, "targetPort": 8081,
                                          "protocol": "TCP"}]}


def test_bare_pods_are_the_running_ones_no_controller_owns() -> None:
    def pod(name: str, phase: str = "Running", owner: dict[str, Any] | None = None
            ) -> dict[str, Any]:
        return {"metadata": {"name": name, "namespace": "default",
                             "ownerReferences": [owner] if owner else []},
                "status": {"phase": phase}}
    controller = {"kind": "ReplicaSet", "name": "app-1", "controller": True}
    pods = [pod("app-1-x", owner=controller), pod("shell"), pod("pending", "Pending"),
            pod("done", "Succeeded"), pod("crashed", "Failed"),
            pod("owned-not-controlled", owner={"kind": "ConfigMap", "name": "c"})]
    assert sleeping.bare_pods(pods) == ["default/owned-not-controlled", "default/pending",
                                        "default/shell"]
    assert sleeping.bare_pods([]) == []
