"""charts/preview-platform rendered by the real helm: lint, Kubernetes schemas, values schema,
restricted Pod Security, RBAC and the policy that `preview serve` reads.

No cluster: `helm lint` and `helm template` only. The sandbox enforces no Pod Security
Admission (docs/sandbox.md), so the restricted level is checked on the rendered pods, control
by control, as the Pod Security Standards define it.
"""

from __future__ import annotations

import json
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from preview import policy
from preview.kube.resources import VCLUSTER_KINDS
from preview.syncer.permissions import HOST_RULES
from tests.charts import k8s_schema
from tests.charts.test_vcluster_chart import K8S_VERSIONS, helm, one

pytestmark = pytest.mark.tools

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "preview-platform"
VCLUSTER = ROOT / "charts" / "vcluster"
ALL_OPTIONS = Path(__file__).with_name("platform-all-options.yaml")
RELEASE, NAMESPACE = "platform", "preview-system"
NAME = "platform-preview-platform"
CHART_META = yaml.safe_load((CHART / "Chart.yaml").read_text())
Docs = tuple[dict[str, Any], ...]


@cache
def render(*args: str) -> Docs:
    """`helm template RELEASE charts/preview-platform -n NAMESPACE ARGS…` as objects."""
    result = helm("template", RELEASE, str(CHART), "--namespace", NAMESPACE, *args)
    assert result.returncode == 0, result.stderr
    return tuple(doc for doc in yaml.safe_load_all(result.stdout) if doc)


def default() -> Docs:
    return render()


def all_options() -> Docs:
    return render("-f", str(ALL_OPTIONS))


RENDERS = {"default": default, "all-options": all_options}


def pod_spec(docs: Docs, kind: str, name: str | None = None) -> dict[str, Any]:
    """The pod template of the one `kind` (of that name: there are two CronJobs)."""
    obj = one(docs, kind, name)
    if kind == "CronJob":
        return dict(obj["spec"]["jobTemplate"]["spec"]["template"]["spec"])
    return dict(obj["spec"]["template"]["spec"])


# -- helm lint, Kubernetes schemas -------------------------------------------------------------

@pytest.mark.parametrize("strict", [False, True], ids=["lint", "lint-strict"])
@pytest.mark.parametrize("values", [None, ALL_OPTIONS], ids=["default", "all-options"])
def test_helm_lint_is_clean(strict: bool, values: Path | None) -> None:
    args = ["lint", str(CHART), "--namespace", NAMESPACE]
    args += ["--strict"] if strict else []
    args += ["-f", str(values)] if values else []
    result = helm(*args)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "[WARNING]" not in result.stdout and "[ERROR]" not in result.stdout, result.stdout


@pytest.mark.parametrize("version", K8S_VERSIONS)
@pytest.mark.parametrize("which", sorted(RENDERS))
def test_rendered_objects_validate_against_kubernetes_schemas(which: str, version: str) -> None:
    for doc in RENDERS[which]():
        assert kubernetes_validate.validate(doc, version, strict=True) == version, doc["kind"]


def test_what_each_render_holds() -> None:
    kinds = sorted(d["kind"] for d in default())
    assert kinds == sorted(["ServiceAccount", "ClusterRole", "ClusterRoleBinding",
                            "NetworkPolicy"] * 3 + ["CronJob"] * 2 + [
                            "ConfigMap", "Deployment", "Service", "PodDisruptionBudget"])
    assert "Ingress" in {d["kind"] for d in all_options()}
    bare = render("--set", "gc.enabled=false", "--set", "sleep.enabled=false",
                  "--set", "networkPolicy.enabled=false",
                  "--set", "api.podDisruptionBudget.enabled=false")
    assert sorted(d["kind"] for d in bare) == sorted([
        "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "ConfigMap", "Deployment",
        "Service"])


# -- values schema -------------------------------------------------------------------------------

def _schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads((CHART / "values.schema.json").read_text())
    return schema


def test_schema_is_valid_and_accepts_both_values_files() -> None:
    schema = _schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    for path in (CHART / "values.yaml", ALL_OPTIONS):
        errors = [e.message for e in validator.iter_errors(yaml.safe_load(path.read_text()))]
        assert errors == [], path.name


def test_every_object_in_the_schema_is_closed_but_the_policy() -> None:
    """The policy is `preview serve`'s to validate (every key, at start); everything else is
    closed. `if`/`then`/`not` only add conditions to an object that is closed already."""
    open_objects: list[str] = []

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            if "properties" in node and node.get("additionalProperties") is not False:
                open_objects.append(where)
            for key, value in node.items():
                if key not in ("if", "then", "not"):
                    walk(value, f"{where}/{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{where}/{i}")

    walk(_schema(), "")
    assert [w for w in open_objects if not w.startswith("/properties/policy")] == []


def test_embedded_kubernetes_schemas_are_current() -> None:
    """Regenerate with `python -m tests.charts.k8s_schema` when this fails."""
    expected = k8s_schema.closure(k8s_schema.upstream_definitions())
    assert k8s_schema.embedded(_schema()) == expected


@pytest.mark.parametrize(("args", "message"), [
    (["--set", "colour=blue"], "additional properties 'colour' not allowed"),
    (["--set", "api.replicas=two"], "at '/api/replicas'"),
    (["--set", "api.resources.requests.cpu=lots"], "'lots' does not match pattern"),
    (["--set", "ingress.enabled=true"], "at '/ingress/host'"),
    (["--set", "ingress.tls.secretName=Not_A_Name"], "at '/ingress/tls/secretName'"),
    (["--set", "issuerCA.configMap=ca", "--set", "issuerCA.secret=ca"], "at '/issuerCA'"),
    (["--set", "gc.schedule=nightly"], "at '/gc/schedule'"),
    (["--set", "gc.extraArgs={max-deletions=5}"], "at '/gc/extraArgs/0'"),
    (["--set", "networkPolicy.httpsCIDRs={10.0.0.0}"], "at '/networkPolicy/httpsCIDRs/0'"),
    (["--set", "policy.api.issuer=http://token.example.com"], "at '/policy/api/issuer'"),
    (["--set", "policy.repositories=octo-org/*"], "at '/policy/repositories'"),
    (["--set", "image.repository=Registry/Syncer"], "at '/image/repository'"),
    (["--set", "api.securityContext.privilegd=true"], "additional properties 'privilegd'"),
])
def test_bad_values_fail_with_the_schema_message(args: list[str], message: str) -> None:
    result = helm("template", RELEASE, str(CHART), "--namespace", NAMESPACE, *args)
    assert result.returncode != 0
    assert "values don't meet the specifications of the schema" in result.stderr
    assert message in result.stderr, result.stderr


# -- versions and the image ----------------------------------------------------------------------

def test_versions_and_the_image_are_the_vcluster_charts() -> None:
    """One image for the syncer, the API and the GC: the vcluster chart's default, at the
    package's version (tests/test_release.py checks the versions of every chart)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert CHART_META["apiVersion"] == "v2"
    assert CHART_META["version"] == CHART_META["appVersion"] == project["version"]
    vcluster = yaml.safe_load(helm("template", "x", str(VCLUSTER), "--namespace", "ns",
                                   "--show-only", "templates/statefulset.yaml").stdout)
    [syncer] = [c for c in vcluster["spec"]["template"]["spec"]["containers"]
                if c["name"] == "syncer"]
    docs = default()
    for kind, name in (("Deployment", None), ("CronJob", f"{NAME}-gc"),
                       ("CronJob", f"{NAME}-sleep")):
        [container] = pod_spec(docs, kind, name)["containers"]
        assert container["image"] == syncer["image"]
        assert container["command"] == ["preview"]  # the image's entrypoint is `preview syncer`


# -- Pod Security: restricted --------------------------------------------------------------------

RESTRICTED_VOLUMES = {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral",
                      "persistentVolumeClaim", "projected", "secret"}


def restricted_violations(pod: dict[str, Any]) -> list[str]:
    """What the `restricted` Pod Security Standard (its baseline controls included) refuses in
    `pod`: https://kubernetes.io/docs/concepts/security/pod-security-standards/ (pure)."""
    found: list[str] = []
    pod_sc = pod.get("securityContext") or {}
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        if pod.get(key):
            found.append(f"pod {key}")
    for volume in pod.get("volumes") or []:
        source = next(k for k in volume if k != "name")
        if source not in RESTRICTED_VOLUMES:
            found.append(f"volume {volume['name']}: {source}")
    if pod_sc.get("runAsUser") == 0:
        found.append("pod runAsUser 0")
    if pod_sc.get("sysctls"):
        found.append("pod sysctls")
    containers = [*(pod.get("initContainers") or []), *pod["containers"]]
    for c in containers:
        sc = c.get("securityContext") or {}
        where = f"container {c['name']}"
        if sc.get("privileged"):
            found.append(f"{where}: privileged")
        if sc.get("allowPrivilegeEscalation") is not False:
            found.append(f"{where}: allowPrivilegeEscalation must be false")
        if (sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot"))) is not True:
            found.append(f"{where}: runAsNonRoot must be true")
        if sc.get("runAsUser", pod_sc.get("runAsUser")) == 0:
            found.append(f"{where}: runAsUser 0")
        profile = (sc.get("seccompProfile") or pod_sc.get("seccompProfile") or {}).get("type")
        if profile not in ("RuntimeDefault", "Localhost"):
            found.append(f"{where}: seccompProfile must be RuntimeDefault or Localhost")
        caps = sc.get("capabilities") or {}
        if "ALL" not in (caps.get("drop") or []):
            found.append(f"{where}: capabilities must drop ALL")
        if set(caps.get("add") or []) - {"NET_BIND_SERVICE"}:
            found.append(f"{where}: capabilities add {caps['add']}")
        if c.get("ports") and any(p.get("hostPort") for p in c["ports"]):
            found.append(f"{where}: hostPort")
        if sc.get("procMount", "Default") != "Default":
            found.append(f"{where}: procMount")
    return found


@pytest.mark.parametrize("kind", ["Deployment", "CronJob gc", "CronJob sleep"])
@pytest.mark.parametrize("which", sorted(RENDERS))
def test_pods_pass_restricted_pod_security(which: str, kind: str) -> None:
    docs = RENDERS[which]()
    what, _, job = kind.partition(" ")
    pod = pod_spec(docs, what, next(d["metadata"]["name"] for d in docs if d["kind"] == what
                                    and d["metadata"]["name"].endswith(job)))
    assert restricted_violations(pod) == []
    [container] = pod["containers"]
    # Beyond the standard: nothing writes to the image, only to its emptyDirs.
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    writable = {m["mountPath"] for m in container["volumeMounts"] if not m.get("readOnly")}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert all("emptyDir" in volumes[m["name"]] for m in container["volumeMounts"]
               if m["mountPath"] in writable)
    assert "/tmp" in writable
    assert {"requests", "limits"} <= container["resources"].keys()


def test_the_restricted_check_finds_what_the_standard_refuses() -> None:
    pod = pod_spec(default(), "Deployment")
    bad = json.loads(json.dumps(pod))
    sc = bad["containers"][0]["securityContext"]
    sc.update(allowPrivilegeEscalation=True, capabilities={"add": ["NET_ADMIN"]})
    bad["securityContext"].pop("seccompProfile")
    bad["securityContext"]["runAsNonRoot"] = False
    bad["volumes"].append({"name": "host", "hostPath": {"path": "/"}})
    assert len(restricted_violations(bad)) == 6


# -- the API's pod -------------------------------------------------------------------------------

def test_the_api_serves_the_mounted_policy_with_its_probes() -> None:
    docs = default()
    deployment = one(docs, "Deployment", NAME)
    assert deployment["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": 1, "maxUnavailable": 0}
    pod = pod_spec(docs, "Deployment")
    assert pod["serviceAccountName"] == NAME and pod["automountServiceAccountToken"] is True
    assert pod["terminationGracePeriodSeconds"] == 1800
    [serve] = pod["containers"]
    assert serve["args"] == ["serve", "--policy=/etc/preview/policy.yaml",
                             "--listen=0.0.0.0:8080", "--workdir=/work/bundles",
                             "--shutdown-grace=1790", "--max-concurrent-creates=4"]
    assert serve["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
    assert serve["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert serve["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    env = {e["name"]: e.get("value") for e in serve["env"]}
    # No KUBECONFIG: the pod's own ServiceAccount, found in-cluster (preview/kube/host.py).
    assert "KUBECONFIG" not in env and env["HOME"] == "/tmp"
    assert {"name": "config", "mountPath": "/etc/preview", "readOnly": True} \
        in serve["volumeMounts"]
    config = one(docs, "Deployment")["spec"]["template"]["metadata"]["annotations"]
    assert config["checksum/config"]  # a new policy rolls the pods
    service = one(docs, "Service", NAME)["spec"]
    assert service["ports"] == [{"name": "http", "port": 80, "targetPort": "http",
                                 "protocol": "TCP"}]
    assert service["selector"] == deployment["spec"]["selector"]["matchLabels"]
    assert one(docs, "PodDisruptionBudget")["spec"]["maxUnavailable"] == 1


def test_the_config_map_holds_the_policy_and_no_credential() -> None:
    """The pods reach the host as their ServiceAccount, found in-cluster; nothing in the
    ConfigMap names a credential (tests/kube/test_in_cluster.py tests the detection)."""
    data = one(default(), "ConfigMap")["data"]
    assert set(data) == {"policy.yaml"}


def test_the_chart_args_are_the_commands_own(tmp_path: Path) -> None:
    """`preview serve`, `preview gc` and `preview sleep` parse what the chart passes them
    (click)."""
    from preview.cli.gc import gc_command
    from preview.cli.serve import serve_command
    from preview.cli.sleep import sleep_command

    docs = all_options()
    [serve] = pod_spec(docs, "Deployment")["containers"]
    assert serve["args"][0] == "serve"
    assert "--issuer-ca=/etc/preview-issuer-ca/ca.pem" in serve["args"]
    assert serve["args"][-1] == "--lease-duration=60"
    ca = tmp_path / "ca.pem"
    ca.write_text("")
    args = [a.replace("/etc/preview-issuer-ca/ca.pem", str(ca)) for a in serve["args"][1:]]
    params = serve_command.make_context("serve", args).params
    assert params["policy_path"] == Path("/etc/preview/policy.yaml")
    assert params["workdir"] == Path("/work/bundles") and params["lease_duration"] == 60
    assert params["max_concurrent_creates"] == 2
    [gc] = pod_spec(docs, "CronJob", "preview-api-gc")["containers"]
    gc_params = gc_command.make_context("gc", list(gc["args"][1:])).params
    assert gc_params["max_deletions"] == 50
    [sleep] = pod_spec(docs, "CronJob", "preview-api-sleep")["containers"]
    sleep_params = sleep_command.make_context("sleep", list(sleep["args"][1:])).params
    assert sleep_params["idle"] is True and sleep_params["selector"] == "team=payments"
    assert sleep_params["policy_path"] == Path("/etc/preview/policy.yaml")


def test_issuer_ca_from_a_config_map_or_a_secret() -> None:
    pod = pod_spec(all_options(), "Deployment")
    volume = next(v for v in pod["volumes"] if v["name"] == "issuer-ca")
    assert volume["secret"] == {"secretName": "ghes-ca",
                                "items": [{"key": "ca.pem", "path": "ca.pem"}]}
    mount = next(m for m in pod["containers"][0]["volumeMounts"] if m["name"] == "issuer-ca")
    assert mount == {"name": "issuer-ca", "mountPath": "/etc/preview-issuer-ca", "readOnly": True}
    from_map = pod_spec(render("--set", "issuerCA.configMap=ghes-ca"), "Deployment")
    volume = next(v for v in from_map["volumes"] if v["name"] == "issuer-ca")
    assert volume["configMap"]["name"] == "ghes-ca"
    assert "--issuer-ca=/etc/preview-issuer-ca/ca.crt" in from_map["containers"][0]["args"]
    assert not [a for a in pod_spec(default(), "Deployment")["containers"][0]["args"]
                if a.startswith("--issuer-ca")]


def test_ingress_with_tls_and_streaming() -> None:
    docs = all_options()
    ingress = one(docs, "Ingress", "preview-api")
    spec = ingress["spec"]
    assert spec["ingressClassName"] == "nginx"
    assert spec["tls"] == [{"hosts": ["preview-api.example.com"],
                            "secretName": "preview-api-tls"}]
    assert spec["rules"][0]["host"] == "preview-api.example.com"
    backend = spec["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": "preview-api", "port": {"name": "http"}}
    assert ingress["metadata"]["annotations"][
        "nginx.ingress.kubernetes.io/proxy-buffering"] == "off"
    assert "tls" not in one(render("--set", "ingress.enabled=true", "--set",
                                   "ingress.host=api.example.com"), "Ingress")["spec"]


# -- the policy ----------------------------------------------------------------------------------

@pytest.mark.parametrize("which", sorted(RENDERS))
def test_the_policy_values_round_trip_and_serve_accepts_them(which: str, tmp_path: Path
                                                              ) -> None:
    values = yaml.safe_load((ALL_OPTIONS if which == "all-options" else
                             CHART / "values.yaml").read_text())
    text = one(RENDERS[which](), "ConfigMap")["data"]["policy.yaml"]
    written = yaml.safe_load(text)
    # with wakePage.enabled (all-options), the policy's wakePage is filled in
    filled = written.pop("wakePage", None) if "wakePage" not in values["policy"] else None
    assert written == values["policy"]
    wake = values.get("wakePage") or {}
    assert (filled or {}).get("port") == (wake.get("port") if wake.get("enabled") else None)
    path = tmp_path / "policy.yaml"
    path.write_text(text)
    rules = policy.load(path)  # what `preview serve --policy` and `preview gc --policy` do
    assert rules.api.issuer == values["policy"]["api"]["issuer"]
    assert rules.api.audience == values["policy"]["api"]["audience"]


def test_a_policy_serve_would_refuse_renders_but_fails_to_load(tmp_path: Path) -> None:
    """The chart checks the policy loosely; the file's own rules are `preview serve`'s."""
    text = one(render("--set", "policy.podSecuirty.minimum=restricted"),
               "ConfigMap")["data"]["policy.yaml"]
    path = tmp_path / "policy.yaml"
    path.write_text(text)
    with pytest.raises(policy.PolicyError, match="podSecurity"):
        policy.load(path)


# -- RBAC ----------------------------------------------------------------------------------------

# What charts/vcluster makes, by kind: the API creates them with helm, the GC deletes them.
RESOURCE_OF = {
    "StatefulSet": ("apps", "statefulsets"), "Service": ("", "services"),
    "ServiceAccount": ("", "serviceaccounts"), "Role": ("rbac.authorization.k8s.io", "roles"),
    "RoleBinding": ("rbac.authorization.k8s.io", "rolebindings"),
    "ClusterRole": ("rbac.authorization.k8s.io", "clusterroles"),
    "ClusterRoleBinding": ("rbac.authorization.k8s.io", "clusterrolebindings"),
    "ResourceQuota": ("", "resourcequotas"), "LimitRange": ("", "limitranges"),
    "NetworkPolicy": ("networking.k8s.io", "networkpolicies"),
    "Ingress": ("networking.k8s.io", "ingresses"),
}
MANAGE = ("get", "list", "watch", "create", "update", "patch", "delete")


def allows(rules: list[dict[str, Any]], group: str, resource: str, verb: str) -> bool:
    return any(group in r["apiGroups"] and resource in r["resources"] and verb in r["verbs"]
               for r in rules)


def vcluster_kinds() -> set[str]:
    """Every kind charts/vcluster renders, with every option that adds one."""
    result = helm("template", "x", str(VCLUSTER), "--namespace", "ns", "-f",
                  str(Path(__file__).with_name("vcluster-all-options.yaml")))
    assert result.returncode == 0, result.stderr
    return {d["kind"] for d in yaml.safe_load_all(result.stdout) if d}


def api_rules(docs: Docs) -> list[dict[str, Any]]:
    return list(one(docs, "ClusterRole", NAME)["rules"])


def gc_rules(docs: Docs) -> list[dict[str, Any]]:
    return list(one(docs, "ClusterRole", f"{NAME}-gc")["rules"])


def test_the_api_holds_everything_the_syncers_role_grants() -> None:
    """RBAC's escalation check: helm, as the API, may create Role vc-NAME only so."""
    rules = api_rules(default())
    missing = [(group, resource, verb) for rule in HOST_RULES for group in rule["apiGroups"]
               for resource in rule["resources"] for verb in rule["verbs"]
               if not allows(rules, group, resource, verb)]
    assert missing == []


def test_the_api_manages_every_kind_of_the_vcluster_chart() -> None:
    kinds = vcluster_kinds()
    assert kinds <= RESOURCE_OF.keys(), f"add {kinds - RESOURCE_OF.keys()} to RESOURCE_OF"
    with_nodes = api_rules(render("--set", "rbac.realNodeSync=true"))
    for kind in kinds:
        group, resource = RESOURCE_OF[kind]
        assert all(allows(with_nodes, group, resource, v) for v in MANAGE), kind
    # nodes: charts/vcluster's ClusterRole reads them, so the API must too.
    assert all(allows(with_nodes, "", "nodes", v) for v in ("get", "list", "watch"))
    rules = api_rules(default())
    assert not allows(rules, "rbac.authorization.k8s.io", "clusterroles", "create")
    assert not allows(rules, "", "nodes", "get")


def test_the_api_has_what_up_down_and_serve_do_beyond_the_chart() -> None:
    rules = api_rules(default())
    for group, resource, verbs in [
            ("", "namespaces", ("get", "list", "create", "patch", "delete")),
            ("", "pods/portforward", ("create",)), ("", "events", ("create", "list")),
            ("", "secrets", ("get", "create", "update", "delete")),
            ("coordination.k8s.io", "leases", ("get", "create", "patch", "delete"))]:
        assert all(allows(rules, group, resource, v) for v in verbs), resource
    for res in VCLUSTER_KINDS:  # down removes the syncer's copies and checks for leftovers
        assert allows(rules, res.group, res.plural, "list"), res.plural
        assert allows(rules, res.group, res.plural, "delete"), res.plural


def test_the_gc_deletes_environments_and_creates_nothing_but_its_lease() -> None:
    docs = render("--set", "rbac.realNodeSync=true")
    rules = gc_rules(docs)
    assert [r["resources"] for r in rules if "create" in r["verbs"]] == [
        ["pods/portforward"], ["leases"]]
    assert all(allows(rules, "", "namespaces", v) for v in ("get", "list", "delete"))
    for kind in vcluster_kinds():
        group, resource = RESOURCE_OF[kind]
        assert all(allows(rules, group, resource, v) for v in ("get", "list", "delete")), kind
    for res in VCLUSTER_KINDS:  # the finalizers of a namespace stuck Terminating
        assert allows(rules, res.group, res.plural, "patch"), res.plural
    assert allows(rules, "", "secrets", "update")  # helm marks the release uninstalling
    assert not any(set(r["resources"]) & {"pods/exec", "pods/attach", "nodes"} for r in rules)
    binding = one(docs, "ClusterRoleBinding", f"{NAME}-gc")
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": f"{NAME}-gc",
                                    "namespace": NAMESPACE}]
    assert pod_spec(docs, "CronJob", f"{NAME}-gc")["serviceAccountName"] == f"{NAME}-gc"


def test_the_sleep_pass_scales_and_annotates_and_creates_nothing_but_its_lease() -> None:
    """Least privilege for `preview sleep --idle` (preview/operations/sleep.py): what it
    reads, the two things it changes on the host, and nothing it does not do."""
    docs = render("--set", "rbac.realNodeSync=true")
    rules = list(one(docs, "ClusterRole", f"{NAME}-sleep")["rules"])
    assert [r["resources"] for r in rules if "create" in r["verbs"]] == [
        ["pods/portforward"], ["leases"]]
    assert [r["resources"] for r in rules if "delete" in r["verbs"]] == [["leases"]]
    assert [r["resources"] for r in rules if "patch" in r["verbs"]] == [
        ["namespaces"], ["statefulsets"], ["leases"]]
    assert not any({"update", "watch", "deletecollection"} & set(r["verbs"]) for r in rules)
    for group, resource, verbs in [
            ("", "namespaces", ("get", "list", "patch")), ("apps", "statefulsets", ("get",)),
            ("", "pods", ("get", "list")), ("", "persistentvolumeclaims", ("list",)),
            ("", "secrets", ("get",)), ("", "pods/portforward", ("create",))]:
        assert all(allows(rules, group, resource, v) for v in verbs), resource
    assert not allows(rules, "", "secrets", "list")  # one Secret by name, never all of them
    assert not any(set(r["resources"]) & {"pods/exec", "pods/attach", "nodes", "deployments",
                                          "clusterroles", "roles"} for r in rules)
    binding = one(docs, "ClusterRoleBinding", f"{NAME}-sleep")
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": f"{NAME}-sleep",
                                    "namespace": NAMESPACE}]
    assert pod_spec(docs, "CronJob", f"{NAME}-sleep")["serviceAccountName"] == \
        f"{NAME}-sleep"


@pytest.mark.parametrize("which", sorted(RENDERS))
def test_no_wildcards_or_escalation_verbs(which: str) -> None:
    for role in (d for d in RENDERS[which]() if d["kind"] == "ClusterRole"):
        for rule in role["rules"]:
            assert "*" not in rule["apiGroups"] + rule["resources"] + rule["verbs"]
            assert not {"escalate", "bind", "impersonate", "deletecollection"} & set(
                rule["verbs"]), rule


def test_every_rule_says_why() -> None:
    """A comment above each rule of the ClusterRoles (the ones alike share it)."""
    for template in ("rbac.yaml", "gc-rbac.yaml", "sleep-rbac.yaml"):
        lines = (CHART / "templates" / template).read_text().splitlines()
        for i, line in enumerate(lines):
            if line.strip().startswith("- apiGroups:"):
                before = lines[i - 1].strip()
                assert before.startswith(("#", "verbs:", "{{-")), f"{template}:{i + 1}"


# -- the GC --------------------------------------------------------------------------------------

def test_the_gc_runs_nightly_with_the_token_and_the_policy() -> None:
    docs = default()
    cron = one(docs, "CronJob", f"{NAME}-gc")["spec"]
    assert cron["schedule"] == "0 3 * * *" and cron["timeZone"] == "Etc/UTC"
    assert cron["concurrencyPolicy"] == "Forbid"
    [gc] = pod_spec(docs, "CronJob", f"{NAME}-gc")["containers"]
    assert gc["args"] == ["gc", "--policy=/etc/preview/policy.yaml"]
    assert "GITHUB_TOKEN" not in {e["name"] for e in gc["env"]}
    docs = all_options()
    [gc] = pod_spec(docs, "CronJob", "preview-api-gc")["containers"]
    assert gc["args"][2:] == ["--max-deletions=50", "--older-than=2h"]
    token = next(e for e in gc["env"] if e["name"] == "GITHUB_TOKEN")
    assert token["valueFrom"] == {"secretKeyRef": {"name": "preview-gc-github",
                                                   "key": "github-token"}}
    assert one(docs, "CronJob", "preview-api-gc")["spec"]["schedule"] == "30 2 * * 1-5"


def test_the_sleep_pass_runs_every_ten_minutes_with_the_policy_and_its_token() -> None:
    docs = default()
    cron = one(docs, "CronJob", f"{NAME}-sleep")["spec"]
    assert cron["schedule"] == "*/10 * * * *" and cron["concurrencyPolicy"] == "Forbid"
    job = cron["jobTemplate"]["spec"]
    assert job["backoffLimit"] == 0
    assert job["template"]["metadata"]["labels"]["app.kubernetes.io/component"] == "sleep"
    [sleep] = pod_spec(docs, "CronJob", f"{NAME}-sleep")["containers"]
    assert sleep["args"] == ["sleep", "--idle", "--policy=/etc/preview/policy.yaml"]
    assert "GITHUB_TOKEN" not in {e["name"] for e in sleep["env"]}
    docs = all_options()
    cron = one(docs, "CronJob", "preview-api-sleep")["spec"]
    assert cron["schedule"] == "*/5 * * * *"
    [sleep] = pod_spec(docs, "CronJob", "preview-api-sleep")["containers"]
    assert sleep["args"][3:] == ["--selector=team=payments", "--timeout=10m"]
    token = next(e for e in sleep["env"] if e["name"] == "GITHUB_TOKEN")
    assert token["valueFrom"] == {"secretKeyRef": {"name": "preview-sleep-github",
                                                   "key": "token"}}
    assert [d["kind"] for d in render("--set", "sleep.enabled=false")
            if d["metadata"]["name"].endswith("-sleep")] == []


# -- NetworkPolicy -------------------------------------------------------------------------------

def test_network_policies() -> None:
    docs = default()
    api = one(docs, "NetworkPolicy", NAME)["spec"]
    assert api["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "api"
    assert api["policyTypes"] == ["Ingress", "Egress"]
    assert api["ingress"] == [{"from": [{"namespaceSelector": {"matchLabels": {
        "kubernetes.io/metadata.name": "ingress-nginx"}}}],
        "ports": [{"protocol": "TCP", "port": 8080}]}]
    apiserver, dns, https = api["egress"]
    assert {p["port"] for p in apiserver["ports"]} == {443, 6443}
    assert dns["to"][0]["namespaceSelector"]["matchLabels"] == {
        "kubernetes.io/metadata.name": "kube-system"}
    assert https == {"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}],
                     "ports": [{"protocol": "TCP", "port": 443}]}
    gc = one(docs, "NetworkPolicy", f"{NAME}-gc")["spec"]
    assert gc["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "gc"
    assert gc["ingress"] == [] and gc["egress"] == api["egress"]
    sleep = one(docs, "NetworkPolicy", f"{NAME}-sleep")["spec"]
    assert sleep["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "sleep"
    assert sleep["ingress"] == [] and sleep["egress"] == api["egress"]
    narrowed = one(all_options(), "NetworkPolicy", "preview-api")["spec"]
    assert [p["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
            for p in narrowed["ingress"][0]["from"]] == ["traefik", "monitoring"]
    assert [t["ipBlock"]["cidr"] for t in narrowed["egress"][2]["to"]] == [
        "140.82.112.0/20", "192.0.2.0/24"]


@pytest.mark.parametrize("which", sorted(RENDERS))
def test_every_object_carries_the_chart_labels(which: str) -> None:
    for doc in RENDERS[which]():
        labels = doc["metadata"]["labels"]
        assert labels["app.kubernetes.io/name"] == "preview-platform", doc["kind"]
        assert labels["app.kubernetes.io/part-of"] == "preview-vcluster"
        assert labels["helm.sh/chart"] == f"preview-platform-{CHART_META['version']}"


def test_the_wake_page_is_served_reachable_and_named_in_the_policy() -> None:
    """wakePage.enabled: serve's wake listener, a Service port and the NetworkPolicy for the
    ingress controller, the policy's wakePage pointing at them, and the sleep pass allowed
    to point Ingresses at it (docs/sleep.md); off by default."""
    docs = render("--set", "wakePage.enabled=true")
    serve = pod_spec(docs, "Deployment", NAME)["containers"][0]
    assert "--wake-listen=0.0.0.0:8081" in serve["args"]
    assert {"name": "wake", "containerPort": 8081, "protocol": "TCP"} in serve["ports"]
    assert {"name": "wake", "port": 8081, "targetPort": "wake", "protocol": "TCP"} in \
        one(docs, "Service", NAME)["spec"]["ports"]
    assert one(docs, "NetworkPolicy", NAME)["spec"]["ingress"][0]["ports"] == [
        {"protocol": "TCP", "port": 8080}, {"protocol": "TCP", "port": 8081}]
    written = yaml.safe_load(one(docs, "ConfigMap", NAME)["data"]["policy.yaml"])
    assert written["wakePage"] == {"service": f"{NAME}.{NAMESPACE}.svc.cluster.local",
                                   "port": 8081}
    assert policy.parse(written, "the chart's policy").wake_page is not None
    # Without a token Secret the API tells no pull request; with one, it reads it from there.
    assert "GITHUB_TOKEN" not in {e["name"] for e in serve["env"]}
    told = render("--set", "wakePage.enabled=true",
                  "--set", "wakePage.githubToken.existingSecret=preview-github")
    env = pod_spec(told, "Deployment", NAME)["containers"][0]["env"]
    assert next(e for e in env if e["name"] == "GITHUB_TOKEN")["valueFrom"] == {
        "secretKeyRef": {"name": "preview-github", "key": "token"}}
    unused = render("--set", "wakePage.githubToken.existingSecret=preview-github")
    assert "GITHUB_TOKEN" not in {e["name"] for e in
                                  pod_spec(unused, "Deployment", NAME)["containers"][0]["env"]}
    rules = list(one(docs, "ClusterRole", f"{NAME}-sleep")["rules"])
    assert allows(rules, "networking.k8s.io", "ingresses", "update")
    assert allows(rules, "", "services", "create")
    assert not allows(rules, "", "services", "delete")  # wake deletes it: the API's role
    own = render("--set", "wakePage.enabled=true", "--set", "policy.wakePage.service=w.example")
    assert yaml.safe_load(one(own, "ConfigMap", NAME)["data"]["policy.yaml"])["wakePage"] == \
        {"service": "w.example"}  # the policy's own wins
    off = default()
    assert "--wake-listen" not in " ".join(pod_spec(off, "Deployment", NAME)["containers"][0]
                                           ["args"])
    assert "wakePage" not in yaml.safe_load(one(off, "ConfigMap", NAME)["data"]["policy.yaml"])
    assert not allows(list(one(off, "ClusterRole", f"{NAME}-sleep")["rules"]),
                      "networking.k8s.io", "ingresses", "update")
