"""The cells of `kubectl get` tables, computed as upstream's printers compute them (pure)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from preview.sandbox.apiserver.endpoints.printers import custom
from preview.sandbox.apiserver.endpoints.printers.formats import human_duration
from preview.sandbox.apiserver.endpoints.printers.table import columns_of, table
from preview.sandbox.machinery.resources import BUILTIN, PrinterColumn, ResourceType


def ago(seconds: float) -> str:
    return (dt.datetime.now(dt.UTC) - dt.timedelta(seconds=seconds)).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


def kind(group: str, name: str) -> ResourceType:
    return next(t for t in BUILTIN if t.group == group and t.kind == name)


def cells(group: str, name: str, obj: dict[str, Any]) -> dict[str, Any]:
    obj.setdefault("metadata", {}).setdefault("name", "x")
    obj["metadata"].setdefault("creationTimestamp", ago(3600))
    rt = kind(group, name)
    row = table(rt, [obj], {}, "None")["rows"][0]["cells"]
    return {c.name: v for c, v in zip(columns_of(rt), row, strict=True)}


@pytest.mark.parametrize(("seconds", "text"), [
    (-5, "<invalid>"), (-1, "0s"), (0, "0s"), (119, "119s"), (120, "2m"), (200, "3m20s"),
    (600, "10m"), (179 * 60, "179m"), (3 * 3600, "3h"), (7 * 3600 + 60, "7h1m"),
    (47 * 3600, "47h"), (50 * 3600, "2d2h"), (8 * 86400, "8d"), (800 * 86400, "2y70d"),
    (9 * 365 * 86400, "9y")])
def test_human_duration(seconds: float, text: str) -> None:
    assert human_duration(seconds) == text


def _container(name: str, **state: Any) -> dict[str, Any]:
    return {"name": name, "ready": state.pop("ready", False),
            "restartCount": state.pop("restarts", 0), **state}


def test_pod_ready_status_restarts_and_wide_columns() -> None:
    pod = {"spec": {"containers": [{"name": "a"}, {"name": "b"}], "nodeName": "n1"},
           "status": {"phase": "Running", "podIPs": [{"ip": "10.0.0.5"}],
                      "containerStatuses": [
                          _container("a", ready=True, state={"running": {}}),
                          _container("b", restarts=3, state={"running": {}}, lastState={
                              "terminated": {"exitCode": 1, "finishedAt": ago(125)}})]}}
    got = cells("", "Pod", pod)
    assert (got["Ready"], got["Status"], got["Restarts"]) == ("1/2", "Running", "3 (2m5s ago)")
    assert (got["IP"], got["Node"], got["Nominated Node"], got["Readiness Gates"]) == (
        "10.0.0.5", "n1", "<none>", "<none>")


@pytest.mark.parametrize(("status", "expected"), [
    ({"containerStatuses": [_container("a", state={"waiting": {"reason": "CrashLoopBackOff"}})]},
     "CrashLoopBackOff"),
    ({"containerStatuses": [_container("a", state={"terminated": {"exitCode": 0,
                                                                   "reason": "Completed"}})],
      "phase": "Succeeded"}, "Completed"),
    ({"containerStatuses": [_container("a", state={"terminated": {"exitCode": 2}})]},
     "ExitCode:2"),
    ({"initContainerStatuses": [_container("init", state={"running": {}})],
      "phase": "Pending"}, "Init:0/1"),
    ({"initContainerStatuses": [_container("init", state={"waiting": {
        "reason": "ImagePullBackOff"}})], "phase": "Pending"}, "Init:ImagePullBackOff"),
    ({"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False",
                                          "reason": "SchedulingGated"}]}, "SchedulingGated"),
])
def test_pod_status(status: dict[str, Any], expected: str) -> None:
    init = [{"name": "init"}] if "initContainerStatuses" in status else []
    status.setdefault("phase", "Running")
    pod = {"spec": {"containers": [{"name": "a"}], "initContainers": init}, "status": status}
    assert cells("", "Pod", pod)["Status"] == expected


def test_pod_terminating_and_sidecars() -> None:
    pod = {"metadata": {"deletionTimestamp": ago(1)},
           "spec": {"containers": [{"name": "a"}],
                    "initContainers": [{"name": "proxy", "restartPolicy": "Always"}]},
           "status": {"phase": "Running",
                      "conditions": [{"type": "Initialized", "status": "True"}],
                      "initContainerStatuses": [_container("proxy", ready=True, started=True,
                                                           state={"running": {}})],
                      "containerStatuses": [_container("a", ready=True,
                                                       state={"running": {}})]}}
    got = cells("", "Pod", pod)
    assert (got["Ready"], got["Status"], got["Restarts"]) == ("2/2", "Terminating", "0")


def test_node_status_roles_and_wide_columns() -> None:
    node = {"metadata": {"labels": {"node-role.kubernetes.io/control-plane": "",
                                    "node-role.kubernetes.io/worker": "",
                                    "kubernetes.io/role": "edge"}},
            "spec": {"unschedulable": True},
            "status": {"conditions": [{"type": "Ready", "status": "True"}],
                       "addresses": [{"type": "InternalIP", "address": "172.18.0.2"},
                                     {"type": "Hostname", "address": "n1"}],
                       "nodeInfo": {"kubeletVersion": "v1.34.2", "osImage": "Debian",
                                    "kernelVersion": "6.8", "containerRuntimeVersion": ""}}}
    got = cells("", "Node", node)
    assert got["Status"] == "Ready,SchedulingDisabled"
    assert got["Roles"] == "control-plane,edge,worker"
    assert (got["Version"], got["Internal-IP"], got["External-IP"], got["OS-Image"],
            got["Kernel-Version"], got["Container-Runtime"]) == (
        "v1.34.2", "172.18.0.2", "<none>", "Debian", "6.8", "<unknown>")
    assert cells("", "Node", {"status": {}})["Status"] == "Unknown"
    assert cells("", "Node", {"status": {}})["Roles"] == "<none>"


@pytest.mark.parametrize(("spec", "status", "expected"), [
    ({"type": "ClusterIP"}, {}, "<none>"),
    ({"type": "ClusterIP", "externalIPs": ["1.2.3.4"]}, {}, "1.2.3.4"),
    ({"type": "LoadBalancer"}, {}, "<pending>"),
    ({"type": "LoadBalancer"}, {"loadBalancer": {"ingress": [
        {"ip": "172.18.255.202"}, {"hostname": "lb.example.com"}, {"ip": "172.18.255.201"}]}},
     "172.18.255.201,172.18.255.202,lb.example.com"),
    ({"type": "LoadBalancer", "externalIPs": ["9.9.9.9"]},
     {"loadBalancer": {"ingress": [{"ip": "1.1.1.1"}]}}, "1.1.1.1,9.9.9.9"),
    ({"type": "ExternalName", "externalName": "db.example.com"}, {}, "db.example.com"),
])
def test_service_external_ip(spec: dict[str, Any], status: dict[str, Any], expected: str) -> None:
    assert cells("", "Service", {"spec": spec, "status": status})["External-IP"] == expected


def test_service_columns() -> None:
    svc = {"spec": {"type": "NodePort", "clusterIPs": ["10.96.0.12"], "selector": {"b": "2",
                                                                                 "a": "1"},
                    "ports": [{"port": 80, "nodePort": 30080, "protocol": "TCP"},
                              {"port": 53, "protocol": "UDP"}]}}
    got = cells("", "Service", svc)
    assert (got["Type"], got["Cluster-IP"], got["Port(s)"], got["Selector"]) == (
        "NodePort", "10.96.0.12", "80:30080/TCP,53/UDP", "a=1,b=2")
    headless = cells("", "Service", {"spec": {"type": "ClusterIP", "clusterIPs": ["None"]}})
    assert (headless["Cluster-IP"], headless["Port(s)"], headless["Selector"]) == (
        "None", "<none>", "<none>")


def test_ingress_columns() -> None:
    ing = {"spec": {"ingressClassName": "nginx", "tls": [{"hosts": ["a.example.com"]}],
                    "rules": [{"host": "a.example.com"}, {}, {"host": "b.example.com"},
                              {"host": "c.example.com"}, {"host": "d.example.com"}]},
           "status": {"loadBalancer": {"ingress": [{"ip": "127.0.0.1"}]}}}
    got = cells("networking.k8s.io", "Ingress", ing)
    assert (got["Class"], got["Hosts"], got["Address"], got["Ports"]) == (
        "nginx", "a.example.com,b.example.com,c.example.com + 2 more...", "127.0.0.1", "80, 443")
    bare = cells("networking.k8s.io", "Ingress", {"spec": {"rules": [{}]}})
    assert (bare["Class"], bare["Hosts"], bare["Address"], bare["Ports"]) == (
        "<none>", "*", "", "80")


def test_deployment_columns() -> None:
    deploy = {"spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"},
                                                   "matchExpressions": [
                                                       {"key": "tier", "operator": "In",
                                                        "values": ["fe", "be"]}]},
                       "template": {"spec": {"containers": [{"name": "web", "image": "nginx"},
                                                            {"name": "log", "image": "busybox"}]}}},
              "status": {"readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2}}
    got = cells("apps", "Deployment", deploy)
    assert (got["Ready"], got["Up-to-date"], got["Available"], got["Age"]) == ("2/3", 3, 2, "60m")
    assert (got["Containers"], got["Images"], got["Selector"]) == (
        "web,log", "nginx,busybox", "app=web,tier in (be,fe)")


def test_job_and_cronjob_columns() -> None:
    job = {"spec": {"completions": 3, "selector": {"matchLabels": {"job": "x"}},
                    "template": {"spec": {"containers": [{"name": "c", "image": "i"}]}}},
           "status": {"succeeded": 3, "startTime": ago(300), "completionTime": ago(200),
                      "conditions": [{"type": "Complete", "status": "True"}]}}
    got = cells("batch", "Job", job)
    assert (got["Status"], got["Completions"], got["Duration"], got["Selector"]) == (
        "Complete", "3/3", "100s", "job=x")
    running = cells("batch", "Job", {"spec": {"parallelism": 4}, "status": {}})
    assert (running["Status"], running["Completions"], running["Duration"]) == (
        "Running", "0/1 of 4", "")
    cron = {"spec": {"schedule": "*/5 * * * *", "suspend": False},
            "status": {"active": [{"name": "a"}], "lastScheduleTime": ago(90)}}
    got = cells("batch", "CronJob", cron)
    assert (got["Schedule"], got["Timezone"], got["Suspend"], got["Active"],
            got["Last Schedule"]) == ("*/5 * * * *", "<none>", "False", 1, "90s")
    assert cells("batch", "CronJob", {"spec": {}})["Last Schedule"] == "<none>"


def test_pvc_and_pv_columns() -> None:
    pending = cells("", "PersistentVolumeClaim", {
        "spec": {"storageClassName": "standard", "accessModes": ["ReadWriteOnce"],
                 "resources": {"requests": {"storage": "1Gi"}}}, "status": {"phase": "Pending"}})
    assert (pending["Status"], pending["Volume"], pending["Capacity"], pending["Access Modes"],
            pending["StorageClass"], pending["VolumeAttributesClass"], pending["VolumeMode"]) == (
        "Pending", "", "", "", "standard", "<unset>", "<unset>")
    bound = cells("", "PersistentVolumeClaim", {
        "spec": {"storageClassName": "standard", "volumeName": "pvc-1", "volumeMode": "Filesystem"},
        "status": {"phase": "Bound", "capacity": {"storage": "1Gi"},
                   "accessModes": ["ReadWriteMany", "ReadWriteOnce"]}})
    assert (bound["Capacity"], bound["Access Modes"], bound["VolumeMode"]) == (
        "1Gi", "RWO,RWX", "Filesystem")
    pv = cells("", "PersistentVolume", {
        "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
                 "persistentVolumeReclaimPolicy": "Delete", "storageClassName": "standard",
                 "claimRef": {"namespace": "ns", "name": "data"}},
        "status": {"phase": "Bound"}})
    assert (pv["Capacity"], pv["Access Modes"], pv["Reclaim Policy"], pv["Status"],
            pv["Claim"], pv["StorageClass"], pv["Reason"]) == (
        "1Gi", "RWO", "Delete", "Bound", "ns/data", "standard", "")


def test_default_table_prints_the_creation_time() -> None:
    got = cells("rbac.authorization.k8s.io", "ClusterRole",
                {"metadata": {"creationTimestamp": "2026-01-02T03:04:05Z"}})
    assert got == {"Name": "x", "Created At": "2026-01-02T03:04:05Z"}


def test_events_k8s_io_events_print_as_core_events() -> None:
    event = {"metadata": {"name": "e"}, "regarding": {"kind": "Pod", "name": "web"},
             "note": " Started ", "reason": "Started", "type": "Normal",
             "deprecatedCount": 2, "deprecatedLastTimestamp": ago(30),
             "deprecatedFirstTimestamp": ago(60), "reportingController": "kubelet",
             "reportingInstance": "n1"}
    got = cells("events.k8s.io", "Event", event)
    assert (got["Last Seen"], got["Object"], got["Message"], got["Source"], got["Count"],
            got["First Seen"]) == ("30s", "pod/web", "Started", "kubelet, n1", 2, "60s")


def test_custom_resource_columns() -> None:
    printers = (PrinterColumn("Ready", "string", "", 0,
                              '.status.conditions[?(@.type=="Ready")].status'),
                PrinterColumn("Replicas", "integer", "", 0, ".spec.replicas"),
                PrinterColumn("Since", "date", "", 1, ".status.since"),
                PrinterColumn("Tags", "string", "", 1, ".spec.tags"),
                PrinterColumn("Missing", "string", "", 1, ".spec.nothing"))
    obj = {"metadata": {"name": "a"}, "spec": {"replicas": 2.0, "tags": ["x", "y"]},
           "status": {"since": ago(65), "conditions": [{"type": "Synced", "status": "False"},
                                                       {"type": "Ready", "status": "True"}]}}
    cols = custom.columns(printers)
    assert [c.name for c in cols] == ["Name", "Ready", "Replicas", "Since", "Tags", "Missing"]
    assert [c.cell(obj) for c in cols] == ["a", "True", 2, "65s", "[x y]", None]
    assert [(c.name, c.type) for c in custom.columns(())] == [("Name", "string"), ("Age", "date")]
