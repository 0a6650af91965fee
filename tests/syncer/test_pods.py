"""Pod translation over a real-looking admitted pod (pure: no server)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from preview import naming
from preview.syncer.context import Isolation, SyncContext
from preview.syncer.kinds import pods
from preview.syncer.objects import Refused

FIXTURES = Path(__file__).parent / "fixtures"
CTX = SyncContext(vcluster="pr-7", host_namespace="preview-pr-7",
                  host_service_account="vc-workload-pr-7", api_host="10.96.0.20",
                  api_port=443, dns_ip="10.96.0.30")


def load(name: str) -> dict[str, Any]:
    return yaml.safe_load((FIXTURES / name).read_text())


def host(name: str) -> str:
    return naming.host_name(name, "shop", "pr-7")


@pytest.fixture
def translated() -> dict[str, Any]:
    return pods.translate(load("pod-web.yaml"), CTX).obj


def container(pod: dict[str, Any], name: str) -> dict[str, Any]:
    spec = pod["spec"]
    return next(c for c in spec.get("initContainers", []) + spec["containers"]
                if c["name"] == name)


def test_identity_and_ownership(translated: dict[str, Any]) -> None:
    meta = translated["metadata"]
    assert meta["name"] == naming.host_name("web-7d4b9c8f6d-x2x9q", "shop", "pr-7", 63)
    assert meta["namespace"] == "preview-pr-7"
    assert naming.is_owned(translated, "pr-7")
    assert meta["labels"]["app"] == "web"  # kept: host Services select on them
    assert meta["annotations"][naming.VIRTUAL_NAME_ANNOTATION] == "web-7d4b9c8f6d-x2x9q"
    assert meta["annotations"][naming.VIRTUAL_NAMESPACE_ANNOTATION] == "shop"
    assert meta["annotations"]["prometheus.io/scrape"] == "true"
    for server_field in ("uid", "resourceVersion", "ownerReferences", "creationTimestamp",
                         "generateName"):
        assert server_field not in meta
    assert "status" not in translated


def test_references_point_at_host_copies(translated: dict[str, Any]) -> None:
    volumes = {v["name"]: v for v in translated["spec"]["volumes"]}
    assert volumes["config"]["configMap"]["name"] == host("settings")
    assert volumes["data"]["persistentVolumeClaim"]["claimName"] == host("web-data")
    sources = volumes["bundle"]["projected"]["sources"]
    assert sources[0]["configMap"]["name"] == host("settings")
    assert sources[1]["secret"]["name"] == host("tls")
    assert translated["spec"]["imagePullSecrets"] == [{"name": host("registry")}]
    env = {e["name"]: e for e in container(translated, "web")["env"]}
    assert env["GREETING"]["valueFrom"]["configMapKeyRef"]["name"] == host("settings")
    assert env["DB_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == host("db-credentials")
    assert container(translated, "web")["envFrom"] == [{"configMapRef": {"name":
                                                                         host("settings")}}]
    assert container(translated, "migrate")["envFrom"] == [
        {"secretRef": {"name": host("db-credentials")}}]


def test_downward_api_yields_virtual_identity(translated: dict[str, Any]) -> None:
    env = {e["name"]: e for e in container(translated, "web")["env"]}
    name_path = env["POD_NAME"]["valueFrom"]["fieldRef"]["fieldPath"]
    ns_path = env["POD_NAMESPACE"]["valueFrom"]["fieldRef"]["fieldPath"]
    annotations = translated["metadata"]["annotations"]
    assert annotations[name_path.split("'")[1]] == "web-7d4b9c8f6d-x2x9q"
    assert annotations[ns_path.split("'")[1]] == "shop"
    assert env["POD_IP"]["valueFrom"]["fieldRef"]["fieldPath"] == "status.podIP"
    volumes = {v["name"]: v for v in translated["spec"]["volumes"]}
    items = volumes["podinfo"]["downwardAPI"]["items"]
    assert items[0]["fieldRef"]["fieldPath"] == name_path
    assert items[1]["fieldRef"]["fieldPath"] == "metadata.labels"


def test_runs_with_the_virtual_service_account_token(translated: dict[str, Any]) -> None:
    spec = translated["spec"]
    assert spec["serviceAccountName"] == "vc-workload-pr-7"
    assert spec["automountServiceAccountToken"] is False
    assert "serviceAccount" not in spec
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert not any(n.startswith("kube-api-access-") for n in volumes)
    token = volumes[pods.TOKEN_VOLUME]["secret"]["secretName"]
    assert token == pods.token_secret_name(load("pod-web.yaml"), CTX)
    for name in ("web", "migrate"):
        c = container(translated, name)
        mounts = [m for m in c["volumeMounts"] if m["mountPath"] == pods.SERVICE_ACCOUNT_MOUNT]
        assert mounts == [{"name": pods.TOKEN_VOLUME, "mountPath": pods.SERVICE_ACCOUNT_MOUNT,
                           "readOnly": True}]
        env = {e["name"]: e.get("value") for e in c["env"] if "value" in e}
        assert env["KUBERNETES_SERVICE_HOST"] == "10.96.0.20"
        assert env["KUBERNETES_SERVICE_PORT"] == "443"
    assert translated["metadata"]["annotations"][f"{naming.PREFIX}service-account"] == "web"


def test_dns_points_at_the_virtual_cluster(translated: dict[str, Any]) -> None:
    spec = translated["spec"]
    assert spec["dnsPolicy"] == "None"
    assert spec["dnsConfig"]["nameservers"] == ["10.96.0.30"]
    assert spec["dnsConfig"]["searches"][:3] == ["shop.svc.cluster.local", "svc.cluster.local",
                                                  "cluster.local"]
    assert spec["hostname"] == "web-7d4b9c8f6d-x2x9q"


def test_no_token_when_automount_is_off() -> None:
    pod = load("pod-web.yaml")
    pod["spec"]["automountServiceAccountToken"] = False
    out = pods.translate(pod, CTX).obj
    assert pods.TOKEN_VOLUME not in {v["name"] for v in out["spec"]["volumes"]}


def test_virtual_pod_is_not_modified() -> None:
    pod = load("pod-web.yaml")
    pods.translate(pod, CTX)
    assert pod == load("pod-web.yaml")


def _c(**security: Any) -> dict[str, Any]:
    return {"containers": [{"name": "c", "image": "x", "securityContext": security}]}


@pytest.mark.parametrize(("patch", "rule"), [
    ({"hostNetwork": True}, "host-namespaces"),
    ({"hostPID": True}, "host-namespaces"),
    ({"hostIPC": True}, "host-namespaces"),
    ({"volumes": [{"name": "h", "hostPath": {"path": "/"}}]}, "host-path"),
    ({"nodeName": "node-1"}, "node-pinning"),
    (_c(privileged=True), "privileged"),
    (_c(capabilities={"add": ["SYS_ADMIN"]}), "capabilities"),
    (_c(capabilities={"add": ["NET_ADMIN"]}), "capabilities"),
    (_c(procMount="Unmasked"), "proc-mount"),
    (_c(seccompProfile={"type": "Unconfined"}), "unconfined-profiles"),
    (_c(appArmorProfile={"type": "Unconfined"}), "unconfined-profiles"),
    ({"securityContext": {"seccompProfile": {"type": "Unconfined"}}}, "unconfined-profiles"),
    ({"securityContext": {"sysctls": [{"name": "kernel.msgmax", "value": "1"}]}}, "sysctls"),
    ({"containers": [{"name": "c", "image": "x", "ports": [{"containerPort": 80,
                                                            "hostPort": 80}]}]},
     "host-ports"),
    ({"volumes": [{"name": "r", "rbd": {"monitors": ["m"], "image": "i",
                                        "secretRef": {"name": "vc-pr-7"}}}]}, "volume-types"),
    ({"volumes": [{"name": "c", "csi": {"driver": "d", "nodePublishSecretRef":
                                        {"name": "vc-pr-7"}}}]}, "volume-types"),
])
def test_isolation_refuses_host_access(patch: dict[str, Any], rule: str) -> None:
    pod = load("pod-web.yaml")
    pod["spec"].update(patch)
    with pytest.raises(Refused) as e:
        pods.translate(pod, CTX)
    assert e.value.rule == rule
    assert e.value.reason == "SyncRefused"
    assert "spec." in e.value.message and rule in e.value.message
    relaxed = SyncContext(vcluster="pr-7", host_namespace="preview-pr-7",
                          isolation=Isolation(relaxed=frozenset({rule})))
    pods.translate(pod, relaxed)  # switched off: synced


def test_baseline_capabilities_and_safe_sysctls_pass() -> None:
    pod = load("pod-web.yaml")
    pod["spec"].update(_c(capabilities={"add": ["NET_BIND_SERVICE", "CHOWN"]}))
    pod["spec"]["securityContext"] = {"sysctls": [{"name": "net.ipv4.tcp_syncookies",
                                                   "value": "1"}]}
    out = pods.translate(pod, CTX).obj  # not refused
    assert out["spec"]["containers"][0]["securityContext"]["capabilities"]["add"] == \
        ["NET_BIND_SERVICE", "CHOWN"]


def test_apparmor_unconfined_annotation_is_refused() -> None:
    pod = load("pod-web.yaml")
    pod["metadata"].setdefault("annotations", {})[
        "container.apparmor.security.beta.kubernetes.io/web"] = "unconfined"
    with pytest.raises(Refused) as e:
        pods.translate(pod, CTX)
    assert e.value.rule == "unconfined-profiles"


def test_node_constraints_and_priority_are_stripped_with_the_rule_named() -> None:
    pod = load("pod-web.yaml")
    pod["spec"].update({"nodeSelector": {"disk": "ssd"}, "tolerations": [{"key": "k",
                                                                          "operator": "Exists"}],
                        "affinity": {"nodeAffinity": {}}, "priorityClassName": "system-critical"})
    out = pods.translate(pod, CTX)
    for key in ("nodeSelector", "tolerations", "affinity", "priorityClassName", "priority"):
        assert key not in out.obj["spec"]
    rules = {v.rule for v in out.stripped}
    assert {"node-pinning", "priority-class"} <= rules
    allowed = SyncContext(vcluster="pr-7", host_namespace="preview-pr-7", isolation=Isolation(
        allowed_priority_classes=("system-critical",)))
    assert pods.translate(pod, allowed).obj["spec"]["priorityClassName"] == "system-critical"


def test_the_tolerations_admission_adds_to_every_pod_are_stripped_without_a_warning() -> None:
    pod = load("pod-web.yaml")
    defaults = [{"key": f"node.kubernetes.io/{key}", "operator": "Exists", "effect": "NoExecute",
                 "tolerationSeconds": 300} for key in ("not-ready", "unreachable")]
    pod["spec"]["tolerations"] = defaults
    pod["spec"].pop("priorityClassName", None)  # the fixture's, stripped by another rule
    out = pods.translate(pod, CTX)
    assert "tolerations" not in out.obj["spec"] and out.stripped == ()
    # One of the tenant's own beside them (or the same key tolerating scheduling) is named.
    for extra in ({"key": "k", "operator": "Exists"},
                  {"key": "node.kubernetes.io/not-ready", "operator": "Exists",
                   "effect": "NoSchedule"}):
        pod["spec"]["tolerations"] = [*defaults, extra]
        out = pods.translate(pod, CTX)
        assert "tolerations" not in out.obj["spec"]
        assert [(v.rule, v.message) for v in out.stripped] == [("node-pinning",
                                                                "spec.tolerations")]


def test_reserved_prefix_never_reaches_the_host_and_extra_labels_do() -> None:
    pod = load("pod-web.yaml")
    pod["metadata"]["labels"][naming.MANAGED_BY] = "preview-vcluster"
    pod["metadata"]["labels"][f"{naming.PREFIX}owner"] = "someone"
    pod["metadata"].setdefault("annotations", {})[naming.VIRTUAL_UID_ANNOTATION] = "forged"
    pod["metadata"]["annotations"][f"{naming.PREFIX}bound"] = "node-1"  # the syncer's own
    ctx = SyncContext(vcluster="pr-7", host_namespace="preview-pr-7",
                      extra_labels=(("team", "shop"), (naming.VCLUSTER, "forged")))
    out = pods.translate(pod, ctx)
    labels, notes = out.obj["metadata"]["labels"], out.obj["metadata"]["annotations"]
    assert f"{naming.PREFIX}owner" not in labels
    assert labels[naming.MANAGED_BY] == "syncer" and labels[naming.VCLUSTER] == "pr-7"
    assert notes[naming.VIRTUAL_UID_ANNOTATION] == pod["metadata"].get("uid", "")
    assert f"{naming.PREFIX}bound" not in notes
    assert labels["team"] == "shop"
    reserved = {v.message for v in out.stripped if v.rule == "reserved-prefix"}
    assert len(reserved) == 3  # the forged ones, not the syncer's own `bound`


def test_isolation_can_be_relaxed() -> None:
    pod = load("pod-web.yaml")
    pod["spec"].update({"hostNetwork": True, "nodeName": "node-1",
                        "nodeSelector": {"disk": "ssd"}})
    relaxed = SyncContext(vcluster="pr-7", host_namespace="preview-pr-7", isolation=Isolation(
        relaxed=frozenset({"host-namespaces", "node-pinning"})))
    out = pods.translate(pod, relaxed).obj
    assert out["spec"]["hostNetwork"] is True
    assert out["spec"]["nodeSelector"] == {"disk": "ssd"}
    assert out["spec"]["nodeName"] == "node-1"


def test_node_pool_is_added() -> None:
    pool = SyncContext(vcluster="pr-7", host_namespace="preview-pr-7",
                       node_selector=(("pool", "previews"),),
                       tolerations=((("effect", "NoSchedule"), ("key", "previews"),
                                     ("operator", "Exists")),))
    out = pods.translate(load("pod-web.yaml"), pool).obj
    assert out["spec"]["nodeSelector"] == {"pool": "previews"}
    assert out["spec"]["tolerations"] == [{"effect": "NoSchedule", "key": "previews",
                                           "operator": "Exists"}]


# -- ephemeral containers (kubectl debug): added to the running host pod --------------------------
def _running(virtual_ephemeral: list[dict[str, Any]],
             host_ephemeral: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """A virtual pod with these ephemeral containers, and its host pod with those."""
    virtual = load("pod-web.yaml")
    virtual["spec"]["ephemeralContainers"] = virtual_ephemeral
    host_pod = pods.translate(load("pod-web.yaml"), CTX).obj
    if host_ephemeral:
        host_pod["spec"]["ephemeralContainers"] = host_ephemeral
    return virtual, host_pod


DEBUGGER = {"name": "debugger", "image": "busybox", "stdin": True, "tty": True,
            "targetContainerName": "web",
            "env": [{"name": "CONF", "valueFrom": {"configMapKeyRef": {"name": "web-config",
                                                                       "key": "k"}}}]}


def test_a_pod_is_created_without_ephemeral_containers() -> None:
    pod = load("pod-web.yaml")
    pod["spec"]["ephemeralContainers"] = [DEBUGGER]  # the API server refuses them on create
    assert "ephemeralContainers" not in pods.translate(pod, CTX).obj["spec"]


@pytest.mark.parametrize(("virtual_ephemeral", "host_ephemeral", "added"), [
    ([], [], None),
    ([DEBUGGER], [], ["debugger"]),
    ([DEBUGGER], [{"name": "debugger", "image": "busybox"}], None),  # already there
    ([DEBUGGER, {**DEBUGGER, "name": "second"}], [{"name": "debugger", "image": "busybox"}],
     ["debugger", "second"]),
])
def test_new_ephemeral_containers_are_added(virtual_ephemeral: list[dict[str, Any]],
                                            host_ephemeral: list[dict[str, Any]],
                                            added: list[str] | None) -> None:
    virtual, host_pod = _running(virtual_ephemeral, host_ephemeral)
    wanted = pods.ephemeral_containers(virtual, host_pod, CTX)
    if added is None:
        assert wanted is None
        return
    assert wanted is not None and [c["name"] for c in wanted] == added
    assert wanted[:len(host_ephemeral)] == host_ephemeral  # existing ones untouched
    new = wanted[-1]
    # translated like any container: references, the virtual API, the token mount
    assert new["env"][0]["valueFrom"]["configMapKeyRef"]["name"] == host("web-config")
    assert {"name": "KUBERNETES_SERVICE_HOST", "value": "10.96.0.20"} in new["env"]
    assert {m["mountPath"] for m in new["volumeMounts"]} == {pods.SERVICE_ACCOUNT_MOUNT}
    assert virtual["spec"]["ephemeralContainers"][-1] == \
        {**DEBUGGER, "name": added[-1]}  # the virtual pod is not modified


@pytest.mark.parametrize(("asks", "rule"), [
    ({"securityContext": {"privileged": True}}, "privileged"),  # kubectl debug --profile=sysadmin
    ({"securityContext": {"capabilities": {"add": ["SYS_PTRACE", "SYS_ADMIN"]}}}, "capabilities"),
    ({"securityContext": {"procMount": "Unmasked"}}, "proc-mount"),
    ({"securityContext": {"seccompProfile": {"type": "Unconfined"}}}, "unconfined-profiles"),
    ({"securityContext": {"windowsOptions": {"hostProcess": True}}}, "host-namespaces"),
])
def test_ephemeral_containers_are_judged_by_the_policy(asks: dict[str, Any], rule: str) -> None:
    virtual, host_pod = _running([DEBUGGER, {**DEBUGGER, "name": "root", **asks}], [DEBUGGER])
    with pytest.raises(Refused) as e:
        pods.ephemeral_containers(virtual, host_pod, CTX)
    assert e.value.rule == rule
    assert e.value.violation.message.startswith("spec.ephemeralContainers[1].")  # the tenant's
    relaxed = SyncContext(vcluster="pr-7", host_namespace="preview-pr-7",
                          isolation=Isolation(relaxed=frozenset({rule})))
    wanted = pods.ephemeral_containers(virtual, host_pod, relaxed)
    assert wanted is not None and [c["name"] for c in wanted] == ["debugger", "root"]
