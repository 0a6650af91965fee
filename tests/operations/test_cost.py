"""`preview cost` on a host sandbox: the sums by team are the pods' requests x their lifetime.

Two environments of one team and one of another, each a namespace with the label contract
and pods of known requests; the kubelet starts them (their `startTime` is the sandbox's), and
`--at` fixes the end of the count, so the expected figures are computed from what the API
says and nothing depends on when the test runs.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from kubernetes import client

from preview import naming
from preview.sandbox.runner import Sandbox
from tests.conftest import wait_for
from tests.operations.test_environments import preview

pytestmark = [pytest.mark.sandbox]
GIB = 2**30
PODS = {1: [("web", "500m", "256Mi")], 2: [("web", "250m", "1Gi"), ("db", "1", "512Mi")],
        3: [("api", "2", "2Gi")]}
TEAMS = {1: "payments", 2: "payments", 3: "search"}


def make_environment(core: client.CoreV1Api, pr: int) -> str:
    env = naming.environment_for("example", "costly", pr)
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(
        name=env.namespace, labels=naming.namespace_labels(env, {"team": TEAMS[pr]}),
        annotations=naming.namespace_annotations(
            env, created_at="2026-12-01T00:00:00Z", expires_at="", head_sha="", url=""))))
    for name, cpu, memory in PODS[pr]:
        core.create_namespaced_pod(env.namespace, client.V1Pod(
            metadata=client.V1ObjectMeta(name=name),
            spec=client.V1PodSpec(containers=[client.V1Container(
                name="c", image="busybox", resources=client.V1ResourceRequirements(
                    requests={"cpu": cpu, "memory": memory}))])))
    return env.namespace


def test_cost_by_team_sums_requests_times_lifetime(sandbox: Sandbox,
                                                   api_client: client.ApiClient,
                                                   tmp_path: Path) -> None:
    core = client.CoreV1Api(api_client)
    namespaces = {pr: make_environment(core, pr) for pr in PODS}
    try:
        def started() -> dict[str, dt.datetime] | None:
            stamps = {}
            for ns in namespaces.values():
                for pod in core.list_namespaced_pod(ns).items:
                    if pod.status.start_time is None:
                        return None
                    stamps[f"{ns}/{pod.metadata.name}"] = pod.status.start_time
            return stamps
        starts = wait_for(started, timeout=30, what="the pods to start")
        until = max(starts.values()) + dt.timedelta(hours=3)
        policy = tmp_path / "policy.yaml"
        policy.write_text("cost: {currency: EUR, cpuHour: 0.04, memoryGiBHour: 0.005}\n")
        out = json.loads(preview(
            sandbox, "cost", "-l", f"{naming.REPO}=example.costly", "--by", "team",
            "--at", until.isoformat(), "--policy", str(policy),
            "-o", "json").stdout)

        expected: dict[str, list[float]] = {}
        for pr, pods in PODS.items():
            for name, cpu, memory in pods:
                hours = (until - starts[f"{namespaces[pr]}/{name}"]).total_seconds() / 3600
                cores = float(cpu[:-1]) / 1000 if cpu.endswith("m") else float(cpu)
                gib = {"256Mi": 0.25, "512Mi": 0.5, "1Gi": 1.0, "2Gi": 2.0}[memory]
                acc = expected.setdefault(TEAMS[pr], [0.0, 0.0])
                acc[0] += cores * hours
                acc[1] += gib * hours
        groups = {g["value"]: g for g in out["groups"]}
        assert set(groups) == {"payments", "search"} and out["by"] == "team"
        for team, (cpu_hours, gib_hours) in expected.items():
            assert groups[team]["cpu_hours"] == pytest.approx(cpu_hours, abs=1e-5)
            assert groups[team]["memory_gib_hours"] == pytest.approx(gib_hours, abs=1e-5)
            assert groups[team]["cost"] == pytest.approx(
                0.04 * cpu_hours + 0.005 * gib_hours, abs=1e-5)
            assert groups[team]["currency"] == "EUR"
        assert groups["payments"]["environments"] == 2
        assert sorted(r["pr"] for r in out["environments"]) == [1, 2, 3]
    finally:
        for ns in namespaces.values():
            core.delete_namespace(ns)
