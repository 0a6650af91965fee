"""The scheduling decision (filters, scores, the FitError message), without a server."""

from __future__ import annotations

from typing import Any

from preview.sandbox.kubelet.nodes import node_object
from preview.sandbox.scheduler.scheduling import (
    DEFAULT_MEMORY,
    NO_NODES,
    NodeInfo,
    fit_error,
    pod_requests,
    schedule,
    usage_of,
)


def pod(name: str = "p", **spec: Any) -> dict[str, Any]:
    containers = spec.pop("containers", [{"name": "c", "image": "nginx"}])
    return {"metadata": {"name": name, "namespace": "ns", "uid": f"uid-{name}"},
            "spec": {"containers": containers, **spec}}


def container(requests: dict[str, str] | None = None, limits: dict[str, str] | None = None,
              **extra: Any) -> dict[str, Any]:
    resources: dict[str, Any] = {}
    if requests:
        resources["requests"] = requests
    if limits:
        resources["limits"] = limits
    return {"name": "c", "image": "nginx", "resources": resources, **extra}


def nodes(n: int = 3) -> list[NodeInfo]:
    return [NodeInfo(node_object(i)) for i in range(1, n + 1)]


def test_requests_sum_containers_take_the_largest_init_container_and_add_overhead() -> None:
    p = pod(containers=[container({"cpu": "250m", "memory": "64Mi"}),
                        container({"cpu": "0.25"})],
            initContainers=[container({"cpu": "2"}), container({"memory": "1Gi"})],
            overhead={"cpu": "10m"})
    r = pod_requests(p)
    assert r.milli_cpu == 2000 + 10
    assert r.memory == 1024 ** 3


def test_sidecars_add_to_the_containers_and_to_later_init_containers() -> None:
    p = pod(containers=[container({"cpu": "500m"})],
            initContainers=[container({"cpu": "100m"}, restartPolicy="Always"),
                            container({"cpu": "1"})])
    assert pod_requests(p).milli_cpu == 1100  # max(500+100, 100+1000)


def test_limits_stand_in_for_missing_requests_and_scoring_counts_defaults() -> None:
    p = pod(containers=[container(limits={"cpu": "1", "memory": "1Gi"}), container()])
    assert pod_requests(p).milli_cpu == 1000
    nonzero = pod_requests(p, nonzero=True)
    assert nonzero.milli_cpu == 1100 and nonzero.memory == 1024 ** 3 + DEFAULT_MEMORY


def test_pods_spread_over_equal_nodes() -> None:
    infos = nodes()
    placed: dict[str, int] = {}
    for i in range(30):
        p = pod(f"p{i}")
        decision = schedule(p, infos)
        assert decision.node is not None
        placed[decision.node] = placed.get(decision.node, 0) + 1
        next(n for n in infos if n.name == decision.node).add(usage_of(p))
    assert placed == {"sandbox-worker-1": 10, "sandbox-worker-2": 10, "sandbox-worker-3": 10}


def test_least_allocated_prefers_the_emptier_node() -> None:
    infos = nodes(2)
    infos[0].add(usage_of(pod("big", containers=[container({"cpu": "3", "memory": "8Gi"})])))
    assert schedule(pod(), infos).node == "sandbox-worker-2"


def test_node_selector_and_required_affinity_filter() -> None:
    infos = nodes()
    p = pod(nodeSelector={"topology.kubernetes.io/zone": "sandbox-b"})
    assert schedule(p, infos).node == "sandbox-worker-2"
    p = pod(affinity={"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [
            {"matchExpressions": [{"key": "topology.kubernetes.io/zone", "operator": "NotIn",
                                   "values": ["sandbox-a", "sandbox-b"]}]},
        ]}}})
    assert schedule(p, infos).node == "sandbox-worker-3"
    p = pod(affinity={"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In",
                                                "values": ["sandbox-worker-1"]}]}]}}})
    assert schedule(p, infos).node == "sandbox-worker-1"
    p = pod(nodeSelector={"disk": "ssd"})
    assert schedule(p, infos).message.startswith(
        "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector. ")


def test_gt_lt_and_existence_operators() -> None:
    infos = nodes(2)
    infos[0].node["metadata"]["labels"]["gpus"] = "4"
    infos[0].set_node(infos[0].node)

    def term(*exprs: dict[str, Any]) -> dict[str, Any]:
        return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [{"matchExpressions": list(exprs)}]}}}

    assert schedule(pod(affinity=term({"key": "gpus", "operator": "Gt", "values": ["2"]})),
                    infos).node == "sandbox-worker-1"
    assert schedule(pod(affinity=term({"key": "gpus", "operator": "Lt", "values": ["2"]})),
                    infos).node is None
    assert schedule(pod(affinity=term({"key": "gpus", "operator": "DoesNotExist"})),
                    infos).node == "sandbox-worker-2"
    assert schedule(pod(affinity=term({"key": "gpus", "operator": "Exists"})),
                    infos).node == "sandbox-worker-1"


def test_taints_need_tolerations() -> None:
    infos = nodes(2)
    for info in infos:
        info.node["spec"]["taints"] = [{"key": "dedicated", "value": "gpu",
                                        "effect": "NoSchedule"}]
        info.set_node(info.node)
    infos[1].node["spec"]["taints"][0]["effect"] = "NoExecute"
    infos[1].set_node(infos[1].node)
    assert schedule(pod(), infos).node is None
    equal = {"key": "dedicated", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"}
    assert schedule(pod(tolerations=[equal]), infos).node == "sandbox-worker-1"
    wrong_value = {**equal, "value": "cpu", "effect": ""}
    assert schedule(pod(tolerations=[wrong_value]), infos).node is None
    assert schedule(pod(tolerations=[{"key": "dedicated", "operator": "Exists"}]),
                    infos).node is not None
    assert schedule(pod(tolerations=[{"operator": "Exists"}]), infos).node is not None


def test_prefer_no_schedule_only_steers() -> None:
    infos = nodes(2)
    infos[0].node["spec"]["taints"] = [{"key": "spot", "effect": "PreferNoSchedule"}]
    infos[0].set_node(infos[0].node)
    assert schedule(pod(), infos).node == "sandbox-worker-2"
    infos[1].node["spec"]["unschedulable"] = True
    infos[1].set_node(infos[1].node)
    assert schedule(pod(), infos).node == "sandbox-worker-1"


def test_cordoned_and_not_ready_nodes_are_skipped() -> None:
    infos = nodes(3)
    infos[0].node["spec"]["unschedulable"] = True
    infos[1].node["status"]["conditions"][-1]["status"] = "False"
    infos[2].node["status"]["conditions"] = []
    for info in infos:
        info.set_node(info.node)
    decision = schedule(pod(), infos)
    assert decision.node is None
    assert decision.message == (
        "0/3 nodes are available: 1 node(s) were unschedulable, "
        "2 node(s) had untolerated taint(s). no new claims to deallocate, preemption: "
        "0/3 nodes are available: 3 Preemption is not helpful for scheduling.")
    not_ready = {"key": "node.kubernetes.io/not-ready", "operator": "Exists"}
    assert schedule(pod(tolerations=[not_ready]), infos).node == "sandbox-worker-2"


def test_fit_error_is_a_sorted_histogram_with_preemption_verdicts() -> None:
    infos = nodes(3)
    infos[0].node["spec"]["taints"] = [{"key": "k", "value": "v", "effect": "NoSchedule"}]
    infos[0].set_node(infos[0].node)
    decision = schedule(pod(containers=[container({"cpu": "5", "memory": "1Gi"})]), infos)
    assert decision.message == (
        "0/3 nodes are available: 1 node(s) had untolerated taint(s), 2 Insufficient cpu. "
        "no new claims to deallocate, preemption: 0/3 nodes are available: "
        "1 Preemption is not helpful for scheduling, "
        "2 No preemption victims found for incoming pod.")
    assert fit_error({"a": ["Insufficient cpu", "Insufficient memory"]}).startswith(
        "0/1 nodes are available: 1 Insufficient cpu, 1 Insufficient memory. ")


def test_allocatable_minus_bound_requests_and_pod_count() -> None:
    infos = nodes(1)
    infos[0].add(usage_of(pod("a", containers=[container({"cpu": "3"})])))
    assert schedule(pod(containers=[container({"cpu": "1"})]), infos).node == "sandbox-worker-1"
    assert schedule(pod(containers=[container({"cpu": "1001m"})]), infos).node is None
    infos[0].add(usage_of(pod("a", containers=[container({"cpu": "3"})])), sign=-1)
    assert schedule(pod(containers=[container({"cpu": "4"})]), infos).node == "sandbox-worker-1"
    for i in range(110):
        infos[0].add(usage_of(pod(f"x{i}")))
    assert "1 Too many pods" in schedule(pod(), infos).message


def test_host_ports_conflict_per_ip_and_protocol() -> None:
    infos = nodes(1)
    web = container(ports=[{"containerPort": 80, "hostPort": 8080}])
    infos[0].add(usage_of(pod("a", containers=[web])))
    assert "didn't have free ports" in schedule(pod(containers=[web]), infos).message
    udp = container(ports=[{"containerPort": 80, "hostPort": 8080, "protocol": "UDP"}])
    assert schedule(pod(containers=[udp]), infos).node == "sandbox-worker-1"
    other = container(ports=[{"containerPort": 80, "hostPort": 8081}])
    assert schedule(pod(containers=[other]), infos).node == "sandbox-worker-1"


def test_pods_of_one_controller_spread_even_when_a_node_is_emptier() -> None:
    infos = nodes(2)
    owner = [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": "rs-1",
              "controller": True}]
    mine = pod("m1")
    mine["metadata"]["ownerReferences"] = owner
    infos[0].add(usage_of(mine))
    # Another pod with big requests makes worker-2 fuller; spreading still wins.
    infos[1].add(usage_of(pod("other", containers=[container({"cpu": "1"})])))
    second = pod("m2")
    second["metadata"]["ownerReferences"] = owner
    assert schedule(second, infos).node == "sandbox-worker-2"


def test_no_nodes() -> None:
    assert schedule(pod(), []).message == NO_NODES


def test_claims_gate_scheduling_until_bound_unless_the_class_waits_for_a_consumer() -> None:
    from preview.sandbox.scheduler.volumebinding import UNBOUND_IMMEDIATE, volume_prefilter

    claims = {"bound": {"metadata": {"name": "bound"}, "spec": {"volumeName": "pv-1"}},
              "pending": {"metadata": {"name": "pending"}, "spec": {"storageClassName": "std"}},
              "late": {"metadata": {"name": "late"}, "spec": {"storageClassName": "wffc"}}}
    classes = {"std": {"volumeBindingMode": "Immediate"},
               "wffc": {"volumeBindingMode": "WaitForFirstConsumer"}}

    def check(*names: str, ephemeral: bool = False) -> str | None:
        volumes: list[dict[str, Any]] = [
            {"name": f"v{i}", "persistentVolumeClaim": {"claimName": n}}
            for i, n in enumerate(names)]
        if ephemeral:
            volumes.append({"name": "scratch", "ephemeral": {"volumeClaimTemplate": {}}})
        return volume_prefilter(pod(volumes=volumes), claims.get, classes.get)

    assert check("bound", "late") is None
    assert check("bound", "pending") == UNBOUND_IMMEDIATE
    assert check("nope") == 'persistentvolumeclaim "nope" not found'
    assert check(ephemeral=True) == ('waiting for ephemeral volume controller to create the '
                                     'persistentvolumeclaim "p-scratch"')
