"""Pure rollout arithmetic and status of the Deployment controller, without a server."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from preview.sandbox.controllers import deployment_status as ds
from preview.sandbox.controllers import rollout
from preview.sandbox.controllers.workload import compute_hash, deletion_rank, go_round

AT = dt.datetime(2025, 1, 1, 12, 0, 0, tzinfo=dt.UTC)


def dep(replicas: int = 4, surge: Any = "25%", unavailable: Any = "25%", **spec: Any
        ) -> dict[str, Any]:
    return {"metadata": {"name": "web", "generation": 2, "annotations": {}},
            "spec": {"replicas": replicas, "strategy": {"type": "RollingUpdate", "rollingUpdate": {
                "maxSurge": surge, "maxUnavailable": unavailable}},
                "progressDeadlineSeconds": 600, "template": {"metadata": {"labels": {"a": "b"}}},
                **spec},
            "status": {}}


def rs(name: str, replicas: int, available: int = 0, created: str = "2025-01-01T00:00:00Z",
       **annotations: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "creationTimestamp": created, "annotations": annotations,
                         "generation": 1},
            "spec": {"replicas": replicas},
            "status": {"replicas": replicas, "availableReplicas": available,
                       "readyReplicas": available, "observedGeneration": 1}}


@pytest.mark.parametrize(("value", "total", "up", "expected"), [
    ("25%", 10, True, 3), ("25%", 10, False, 2), (2, 10, True, 2), ("0%", 3, True, 0),
    ("100%", 3, False, 3), (None, 3, True, 0)])
def test_scaled_value_rounds_like_intstr(value: Any, total: int, up: bool, expected: int) -> None:
    assert rollout.scaled_value(value, total, up) == expected


def test_fenceposts_never_both_zero_and_unavailable_capped() -> None:
    assert rollout.resolve_fenceposts(0, 0, 3) == (0, 1)
    assert rollout.resolve_fenceposts("25%", "25%", 1) == (1, 0)
    assert rollout.max_unavailable(dep(replicas=2, unavailable=5)) == 2
    assert rollout.max_unavailable(dep(replicas=0)) == 0
    assert rollout.max_surge({"spec": {"replicas": 3, "strategy": {"type": "Recreate"}}}) == 0


def test_new_replica_set_grows_within_surge() -> None:
    d = dep(replicas=4)
    old = rs("old", 4, 4)
    assert rollout.new_rs_replicas(d, [old], None) == 1  # 4 + surge 1
    new = rs("new", 1)
    assert rollout.reconcile_new(d, [old, new], new) is None  # at 5 pods: no room
    old_smaller = rs("old", 3, 3)
    assert rollout.reconcile_new(d, [old_smaller, new], new) == 2
    assert rollout.reconcile_new(d, [rs("new", 6)], rs("new", 6)) == 4  # too big: shrink


def test_old_scale_down_keeps_min_available_and_takes_unhealthy_first() -> None:
    d = dep(replicas=4)
    assert rollout.scale_down_old(d, [rs("old", 4, 4)], rs("new", 1, 0)) == {"old": 3}
    # Unavailable old replicas go first, within the budget: 5 pods - 3 minimum available.
    assert rollout.scale_down_old(d, [rs("old", 4, 0)], rs("new", 1, 1)) == {"old": 2}
    # Two old sets: the oldest goes first.
    older = rs("a", 2, 2, created="2025-01-01T00:00:00Z")
    newer = rs("b", 2, 2, created="2025-01-02T00:00:00Z")
    assert rollout.scale_down_old(d, [older, newer], rs("new", 1, 1)) == {"a": 0}
    assert rollout.scale_down_old(d, [], rs("new", 4, 4)) == {}


def test_proportional_scaling_mid_rollout() -> None:
    d = dep(replicas=20, surge=3, unavailable=2)
    notes = {rollout.DESIRED_REPLICAS: "10", rollout.MAX_REPLICAS: "13"}
    new = rs("new", 5, created="2025-01-02T00:00:00Z", **notes)
    old = rs("old", 8, created="2025-01-01T00:00:00Z", **notes)
    sizes = rollout.proportional_sizes(d, new, [old])
    assert sum(sizes.values()) == 23  # 20 + maxSurge 3
    # Each keeps its share of 23 (was 13): 8 -> round(14.15), 5 -> round(8.85).
    assert sizes == {"old": 14, "new": 9}
    assert rollout.is_scaling_event(d, [new, old])
    # Only one active set: it simply takes the new size.
    assert rollout.proportional_sizes(d, rs("new", 10, **notes), [rs("old", 0)]) == {"new": 20}


def test_new_replica_set_is_found_ignoring_the_hash_label() -> None:
    d = dep()
    match = rs("web-abc", 1)
    match["spec"]["template"] = {"metadata": {"labels": {"a": "b", "pod-template-hash": "abc"}}}
    other = rs("web-def", 1, created="2024-01-01T00:00:00Z")
    other["spec"]["template"] = {"metadata": {"labels": {"a": "c", "pod-template-hash": "def"}}}
    new, old = rollout.split_new_old(d, [match, other])
    assert new is match and old == [other]


def test_revision_bump_records_history_and_copies_annotations() -> None:
    d = dep()
    d["metadata"]["annotations"] = {"kubernetes.io/change-cause": "x",
                                    "kubectl.kubernetes.io/last-applied-configuration": "{}"}
    revived = rs("web-abc", 0, **{rollout.REVISION: "1"})
    changes = rollout.rs_annotation_changes(d, revived, 3)
    assert changes == {"kubernetes.io/change-cause": "x", rollout.REVISION: "3",
                       rollout.REVISION_HISTORY: "1"}


def test_history_cleanup_keeps_the_limit_and_live_sets() -> None:
    d = dep(revisionHistoryLimit=1)
    old = [rs("a", 0, **{rollout.REVISION: "1"}), rs("b", 0, **{rollout.REVISION: "2"}),
           rs("c", 1, **{rollout.REVISION: "3"})]
    assert [r["metadata"]["name"] for r in rollout.to_clean_up(d, old)] == ["a", "b"]
    old[1]["status"]["replicas"] = 1  # pods still terminating: keep it for now
    assert [r["metadata"]["name"] for r in rollout.to_clean_up(d, old)] == ["a"]


def test_status_complete_progressing_and_timed_out() -> None:
    d = dep(replicas=2)
    new = rs("web-new", 2, 2)
    status = ds.rollout_status(d, [new], new, AT)
    cond = {c["type"]: c for c in status["conditions"]}
    assert cond["Available"]["reason"] == "MinimumReplicasAvailable"
    assert cond["Progressing"]["reason"] == "NewReplicaSetAvailable"
    assert cond["Progressing"]["message"] == 'ReplicaSet "web-new" has successfully progressed.'
    assert status["observedGeneration"] == 2 and "unavailableReplicas" not in status

    stuck = dep(replicas=2, progressDeadlineSeconds=60)
    stuck["status"] = {"conditions": [ds.new_condition(
        "Progressing", "True", "ReplicaSetUpdated", "x", AT - dt.timedelta(seconds=61))]}
    waiting = rs("web-new", 2, 0)
    waiting["status"]["replicas"] = 2
    stuck["status"].update({"replicas": 2, "updatedReplicas": 2})
    out = ds.rollout_status(stuck, [waiting], waiting, AT)
    cond = {c["type"]: c for c in out["conditions"]}
    assert (cond["Progressing"]["status"], cond["Progressing"]["reason"]) == \
        ("False", "ProgressDeadlineExceeded")
    assert cond["Available"]["status"] == "False"
    assert ds.requeue_after(stuck, stuck["status"], AT) == 1.0  # already past: look now


def test_progress_renews_last_update_time_but_not_transition() -> None:
    d = dep(replicas=2)
    before = AT - dt.timedelta(seconds=30)
    d["status"] = {"updatedReplicas": 1, "replicas": 2, "conditions": [
        ds.new_condition("Progressing", "True", "ReplicaSetUpdated", "x", before)]}
    new = rs("web-new", 2, 0)
    out = ds.rollout_status(d, [new], new, AT)
    cond = {c["type"]: c for c in out["conditions"]}["Progressing"]
    assert cond["lastUpdateTime"] == ds.stamp(AT)
    assert cond["lastTransitionTime"] == ds.stamp(before)


def test_template_hash_is_stable_and_safe() -> None:
    template = {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": []}}
    h = compute_hash(template)
    assert h == compute_hash({"spec": {"containers": []}, "metadata": {"labels": {"app": "web"}}})
    assert h != compute_hash(template, 1)
    assert set(h) <= set("bcdfghjklmnpqrstvwxz2456789")


def test_deletion_rank_prefers_unscheduled_pending_not_ready_newest() -> None:
    def pod(name: str, node: str = "", phase: str = "Pending", ready: bool = False,
            created: str = "2025-01-01T00:00:00Z") -> dict[str, Any]:
        conds = [{"type": "Ready", "status": "True", "lastTransitionTime": created}] if ready else []
        return {"metadata": {"name": name, "creationTimestamp": created},
                "spec": {"nodeName": node}, "status": {"phase": phase, "conditions": conds}}
    pods = [pod("ready", "n1", "Running", True), pod("unscheduled"),
            pod("running", "n1", "Running"), pod("newer-ready", "n1", "Running", True,
                                                 "2025-01-02T00:00:00Z")]
    order = [p["metadata"]["name"] for p in sorted(pods, key=deletion_rank)]
    assert order == ["unscheduled", "running", "newer-ready", "ready"]


def test_go_round_halves_away_from_zero() -> None:
    assert (go_round(2.5), go_round(3.5), go_round(-2.5)) == (3, 4, -3)
