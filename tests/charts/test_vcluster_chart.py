"""charts/vcluster rendered by the real helm: lint, Kubernetes schemas, values schema, contract.

No cluster: `helm lint` and `helm template` only. What the contract between the chart, the
sandbox runtime and `preview vcluster` fixes (names, labels, k3s and syncer flags, RBAC) is
checked on the rendered objects.
"""

from __future__ import annotations

import json
import subprocess
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from preview.kube.resources import SYNCED_KINDS
from preview.sandbox.vcluster import plan as vcluster_plan
from preview.syncer import podsecurity
from preview.syncer.context import RESERVED_PREFIX_RULE, RULES
from preview.syncer.permissions import HOST_RULES, REAL_NODE_RULES
from preview.tools import find_tool
from tests.charts import k8s_schema

pytestmark = pytest.mark.tools

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "vcluster"
ALL_OPTIONS = Path(__file__).with_name("vcluster-all-options.yaml")
NAME, NAMESPACE = "team-a", "tenants"
K8S_VERSIONS = ("1.30", "1.31", "1.32", "1.33", "1.34")
CHART_LABELS = {"app.kubernetes.io/name": "vcluster", "app.kubernetes.io/instance": NAME,
                "app.kubernetes.io/managed-by": "Helm",
                "app.kubernetes.io/part-of": "preview-vcluster"}
CHART_META = yaml.safe_load((CHART / "Chart.yaml").read_text())
POD_LABELS = {"app.kubernetes.io/name": "vcluster", "app.kubernetes.io/instance": NAME,
              "app.kubernetes.io/component": "control-plane"}


def helm(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(find_tool("helm")), *args], capture_output=True, text=True,
                          timeout=60)


@cache
def render(*args: str) -> tuple[dict[str, Any], ...]:
    """`helm template NAME charts/vcluster -n NAMESPACE ARGS…` as objects (cached per args)."""
    result = helm("template", NAME, str(CHART), "--namespace", NAMESPACE, *args)
    assert result.returncode == 0, result.stderr
    return tuple(doc for doc in yaml.safe_load_all(result.stdout) if doc)


def default() -> tuple[dict[str, Any], ...]:
    return render()


def all_options() -> tuple[dict[str, Any], ...]:
    return render("-f", str(ALL_OPTIONS))


RENDERS = {"default": default, "all-options": all_options}


def one(docs: tuple[dict[str, Any], ...], kind: str, name: str | None = None) -> dict[str, Any]:
    found = [d for d in docs if d["kind"] == kind and name in (None, d["metadata"]["name"])]
    assert len(found) == 1, f"expected one {kind} {name or ''}, got {len(found)}"
    return found[0]


def container(docs: tuple[dict[str, Any], ...], name: str) -> dict[str, Any]:
    pod = one(docs, "StatefulSet")["spec"]["template"]["spec"]
    return next(c for c in pod["containers"] if c["name"] == name)


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
    docs = RENDERS[which]()
    for doc in docs:
        # strict: unknown fields are errors too. The answer names the schema version used,
        # so a package without this version's schemas cannot pass silently.
        assert kubernetes_validate.validate(doc, version, strict=True) == version, doc["kind"]


def test_kubernetes_schema_validation_rejects_a_broken_object() -> None:
    broken = json.loads(json.dumps(one(default(), "StatefulSet")))
    broken["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] = {"not": "a string"}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, "1.34", strict=True)


# -- values schema -------------------------------------------------------------------------------

@pytest.mark.parametrize(("args", "message"), [
    (["--set", "isolation.quota.pods=abc"], "at '/isolation/quota/pods': got string, want integer"),
    (["--set", "colour=blue"], "additional properties 'colour' not allowed"),
    (["--set", "sync.kinds.deployments=true"], "additional properties 'deployments' not allowed"),
    (["--set", "isolation.quota.requests.memory=lots"], "'lots' does not match pattern"),
    (["--set", "sync.nodes=some"], "at '/sync/nodes'"),
    (["--set", "sync.allow={hostPath}"], "at '/sync/allow/0'"),
    (["--set", "isolation.ingress.allowedHost={a.example.com}"],
     "additional properties 'allowedHost' not allowed"),
    (["--set", "isolation.ingress.allowedHosts={a.*.example.com}"],
     "at '/isolation/ingress/allowedHosts/0'"),
    (["--set", "isolation.podSecurity=strict"], "at '/isolation/podSecurity'"),
    (["--set", "k3s.image=rancher/k3s"], "at '/k3s/image'"),
    (["--set", "oidc.enabled=true"], "at '/oidc/issuerURL'"),
    (["--set", "ingress.enabled=true"], "at '/ingress/host'"),
    (["--set", "controlPlane.affinity.nodeAffinty.x=1"], "additional properties 'nodeAffinty'"),
    (["--set", "serviceCIDR=10.96.0.0"], "at '/serviceCIDR'"),
])
def test_bad_values_fail_with_the_schema_message(args: list[str], message: str) -> None:
    result = helm("template", NAME, str(CHART), "--namespace", NAMESPACE, *args)
    assert result.returncode != 0
    assert "values don't meet the specifications of the schema" in result.stderr
    assert message in result.stderr, result.stderr


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


def test_every_object_in_the_schema_is_closed() -> None:
    """additionalProperties false wherever properties are listed: no key goes unchecked.

    `if`/`then` only add conditions to an object that is closed already.
    """
    open_objects: list[str] = []

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            if "properties" in node and node.get("additionalProperties") is not False:
                open_objects.append(where)
            for key, value in node.items():
                if key not in ("if", "then"):
                    walk(value, f"{where}/{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{where}/{i}")

    walk(_schema(), "")
    assert open_objects == []


def test_embedded_kubernetes_schemas_are_current() -> None:
    """Regenerate with `python -m tests.charts.k8s_schema` when this fails."""
    expected = k8s_schema.closure(k8s_schema.upstream_definitions())
    assert k8s_schema.embedded(_schema()) == expected


def test_app_version_is_the_package_version() -> None:
    chart = CHART_META
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert chart["apiVersion"] == "v2"
    assert chart["appVersion"] == project["version"]
    syncer = container(default(), "syncer")
    assert syncer["image"].endswith(f":{project['version']}")


# -- the contract ----------------------------------------------------------------------------

@pytest.mark.parametrize("which", sorted(RENDERS))
def test_every_object_carries_the_chart_labels(which: str) -> None:
    for doc in RENDERS[which]():
        labels = doc["metadata"]["labels"]
        assert CHART_LABELS.items() <= labels.items(), doc["kind"]
        assert labels["helm.sh/chart"] == f"vcluster-{CHART_META['version']}"
        assert "preview-vcluster.io/managed-by" not in labels  # the syncer's copies only


def test_names_and_the_control_plane_pod() -> None:
    docs = default()
    sts = one(docs, "StatefulSet", NAME)
    assert sts["spec"]["replicas"] == 1
    assert sts["spec"]["serviceName"] == f"{NAME}-headless"
    template = sts["spec"]["template"]
    assert template["metadata"]["labels"] == POD_LABELS
    assert sts["spec"]["selector"]["matchLabels"] == POD_LABELS
    assert template["spec"]["serviceAccountName"] == f"vc-{NAME}"
    assert [c["name"] for c in template["spec"]["containers"]] == ["k3s", "syncer"]
    assert vcluster_plan.is_control_plane(template)

    service = one(docs, "Service", NAME)
    assert service["spec"]["ports"] == [{"name": "https", "port": 443, "targetPort": "https",
                                         "protocol": "TCP"}]
    assert service["spec"]["selector"] == POD_LABELS
    assert one(docs, "Service", f"{NAME}-headless")["spec"]["clusterIP"] == "None"
    workload = one(docs, "ServiceAccount", f"vc-workload-{NAME}")
    assert workload["automountServiceAccountToken"] is False
    bindings = [d for d in docs if d["kind"] in ("RoleBinding", "ClusterRoleBinding")]
    assert all(s["name"] != f"vc-workload-{NAME}" for b in bindings for s in b["subjects"])
    assert not [d for d in docs if d["kind"] == "Secret"]  # vc-NAME is the syncer's


def permissions(rules: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
    """A Role's rules as (apiGroup, resource, verb): what they allow, however grouped."""
    return {(group, resource, verb) for rule in rules for group in rule["apiGroups"]
            for resource in rule["resources"] for verb in rule["verbs"]}


def test_role_rules_are_exactly_the_syncers_host_rules() -> None:
    """The Role allows what the synced kinds, the Events reader and the syncer declare
    (preview.syncer.permissions), no less and no more."""
    docs = default()
    role = one(docs, "Role", f"vc-{NAME}")
    allowed, needed = permissions(role["rules"]), permissions(HOST_RULES)
    assert sorted(needed - allowed) == [], \
        "charts/vcluster/templates/rbac.yaml lacks these (group, resource, verb) the syncer " \
        "declares (preview/syncer/permissions.py): add them to the Role"
    assert sorted(allowed - needed) == [], \
        "charts/vcluster/templates/rbac.yaml allows what no part of the syncer declares: " \
        "remove it, or declare it where the syncer uses it"
    binding = one(docs, "RoleBinding", f"vc-{NAME}")
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                  "name": f"vc-{NAME}"}
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": f"vc-{NAME}",
                                    "namespace": NAMESPACE}]


# -- the synced kinds: preview.kube.resources.SYNCED_KINDS, declared in preview/syncer/kinds ----
def test_values_and_schema_name_every_synced_kind() -> None:
    """A kind added to the syncer and forgotten in the chart (or the other way) fails here."""
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert values["sync"]["kinds"] == dict.fromkeys(SYNCED_KINDS, True), \
        "charts/vcluster/values.yaml: sync.kinds must switch on each of " \
        f"preview.kube.resources.SYNCED_KINDS ({', '.join(SYNCED_KINDS)}), and only those"
    schema = json.loads((CHART / "values.schema.json").read_text())
    kinds = schema["properties"]["sync"]["properties"]["kinds"]
    assert kinds["properties"] == {k: {"type": "boolean"} for k in SYNCED_KINDS}, \
        "charts/vcluster/values.schema.json: sync.kinds must list each of " \
        f"preview.kube.resources.SYNCED_KINDS ({', '.join(SYNCED_KINDS)}) as a boolean"
    assert kinds["additionalProperties"] is False


@pytest.mark.parametrize("kind", SYNCED_KINDS)
def test_a_kind_switched_off_is_not_synced(kind: str) -> None:
    args = container(render("--set", f"sync.kinds.{kind}=false"), "syncer")["args"]
    others = sorted(k for k in SYNCED_KINDS if k != kind)
    assert f"--sync={','.join(others)}" in args


def test_nothing_cluster_wide_unless_real_node_sync() -> None:
    assert not [d for d in default() if d["kind"].startswith("Cluster")]
    docs = render("--set", "sync.nodes=real")
    name = f"vc-{NAME}-{NAMESPACE}-nodes"
    role = one(docs, "ClusterRole", name)
    assert role["rules"] == REAL_NODE_RULES == [
        {"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "list", "watch"]}]
    binding = one(docs, "ClusterRoleBinding", name)
    assert binding["roleRef"]["name"] == name
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": f"vc-{NAME}",
                                    "namespace": NAMESPACE}]
    assert "--node-sync=real" in container(docs, "syncer")["args"]


K3S_FLAGS = [
    "--data-dir=/data/k3s", "--write-kubeconfig=/data/k3s-config/kube-config.yaml",
    "--write-kubeconfig-mode=0600", "--service-cidr=10.96.0.0/12",
    *(f"--tls-san={san}" for san in (NAME, f"{NAME}.{NAMESPACE}", f"{NAME}.{NAMESPACE}.svc",
                                     f"{NAME}.{NAMESPACE}.svc.cluster.local", "127.0.0.1",
                                     "localhost")),
    "--disable-agent", "--disable-scheduler", "--disable-cloud-controller",
    "--disable-network-policy", "--disable-helm-controller", "--disable-kube-proxy",
    "--disable=traefik,servicelb,metrics-server,local-storage", "--flannel-backend=none",
    "--egress-selector-mode=disabled",
]


def test_k3s_runs_a_control_plane_only() -> None:
    k3s = container(default(), "k3s")
    assert k3s["image"].startswith("rancher/k3s:v1.34.") and k3s["image"].endswith("-k3s1")
    assert k3s["command"] == ["/bin/k3s"]
    assert k3s["args"][0] == "server"
    missing = [flag for flag in K3S_FLAGS if flag not in k3s["args"]]
    assert missing == []
    controllers = next(a for a in k3s["args"]
                       if a.startswith("--kube-controller-manager-arg=controllers="))
    assert controllers.partition("controllers=")[2].split(",")[0] == "*"
    assert {"-node-lifecycle-controller", "-node-ipam-controller",
            "-persistentvolume-binder-controller"} <= set(controllers.split(","))
    assert not [a for a in k3s["args"] if "oidc" in a]
    assert k3s["ports"] == [{"name": "https", "containerPort": 6443, "protocol": "TCP"}]
    assert {"name": "data", "mountPath": "/data"} in k3s["volumeMounts"]
    # The sandbox runtime reads the same command line.
    parsed = vcluster_plan.parse_k3s([*k3s["command"], *k3s["args"]])
    assert parsed.write_kubeconfig == "/data/k3s-config/kube-config.yaml"
    assert parsed.service_cidr == "10.96.0.0/12"
    assert parsed.tls_sans[:2] == (NAME, f"{NAME}.{NAMESPACE}")


def test_syncer_runs_with_the_contract_flags_and_the_host_token_alone() -> None:
    docs = default()
    syncer = container(docs, "syncer")
    assert "command" not in syncer  # the image's entrypoint is `preview syncer`
    assert syncer["args"][:8] == [
        f"--name={NAME}", "--virtual-kubeconfig=/data/k3s-config/kube-config.yaml",
        f"--kubeconfig-secret=vc-{NAME}", f"--kubeconfig-server=https://{NAME}.{NAMESPACE}.svc:443",
        f"--api-service={NAME}", f"--workload-service-account=vc-workload-{NAME}",
        "--advertise-address=127.0.0.1", "--port=8443"]
    assert f"--sync={','.join(sorted(SYNCED_KINDS))}" in syncer["args"]
    assert "--pod-security=baseline" in syncer["args"]  # isolation.podSecurity, for the syncer
    assert syncer["ports"] == [{"name": "syncer", "containerPort": 8443, "protocol": "TCP"},
                               {"name": "kubelet", "containerPort": 10250, "protocol": "TCP"},
                               {"name": "dns-udp", "containerPort": 1053, "protocol": "UDP"},
                               {"name": "dns-tcp", "containerPort": 1053, "protocol": "TCP"}]
    assert {f"--dns-service={NAME}-dns", "--dns-port=1053", "--cluster-domain=cluster.local",
            "--kubelet-port=10250", "--kubelet-ca-dir=/data/k3s/server/tls"} <= set(syncer["args"])
    dns_service = one(docs, "Service", f"{NAME}-dns")["spec"]
    assert [(p["port"], p["protocol"], p["targetPort"]) for p in dns_service["ports"]] == [
        (53, "UDP", "dns-udp"), (53, "TCP", "dns-tcp")]
    assert syncer["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "syncer"}
    assert syncer["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "syncer"}
    assert {"name": "data", "mountPath": "/data", "readOnly": True} in syncer["volumeMounts"]
    pod = one(docs, "StatefulSet")["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    sa_mount = "/var/run/secrets/kubernetes.io/serviceaccount"
    assert [m["name"] for m in syncer["volumeMounts"] if m["mountPath"] == sa_mount] == ["host-api"]
    assert all(m["mountPath"] != sa_mount for m in container(docs, "k3s")["volumeMounts"])
    sources = next(v for v in pod["volumes"] if v["name"] == "host-api")["projected"]["sources"]
    assert [next(iter(s)) for s in sources] == ["serviceAccountToken", "configMap", "downwardAPI"]


def test_sync_and_oidc_options_become_flags() -> None:
    docs = all_options()
    args = container(docs, "syncer")["args"]
    for flag in ["--sync=configmaps,pods,secrets,services", "--configs=all", "--node-sync=real",
                 "--allow=privileged", "--allow=node-pinning", "--allow=load-balancer",
                 "--allowed-host=*.team-a.preview.example.com",
                 "--allowed-host=team-a.preview.example.com",
                 "--denied-annotation=example.com/inject-*",
                 "--allowed-priority-class=preview-high",
                 "--extra-label=team=shop", "--extra-label=cost-center=4711",
                 "--node-selector=node-pool.example.com/name=tenants",
                 "--toleration=dedicated=tenants:NoSchedule", "--toleration=spot",
                 "--storage-class=standard=fast-ssd", "--storage-class==standard",
                 "--workers=16", "--log-format=json", "--dns-ip=10.43.0.10",
                 "--pod-security=restricted"]:
        assert flag in args
    k3s = container(docs, "k3s")["args"]
    for flag in ["oidc-issuer-url=https://sso.example.com/realms/platform",
                 "oidc-client-id=preview-vclusters", "oidc-username-claim=email",
                 "oidc-username-prefix=oidc:", "oidc-groups-claim=groups",
                 "oidc-groups-prefix=oidc:"]:
        assert f"--kube-apiserver-arg={flag}" in k3s
    assert "--tls-san=team-a.vc.example.com" in k3s  # the ingress host
    assert "--disable=coredns" not in k3s and "--kube-apiserver-arg=audit-log-maxage=7" in k3s


def test_the_syncer_accepts_the_flags_the_chart_gives_it() -> None:
    """The chart's syncer args parse (click) and assemble (settings) into one config."""
    from preview.cli.syncer import syncer_command
    from preview.syncer import settings

    args = container(all_options(), "syncer")["args"]
    flags = syncer_command.make_context("syncer", list(args)).params
    flags.pop("log_format")
    flags["host_namespace"] = flags["host_namespace"] or NAMESPACE
    config = settings.syncer_config(**flags)
    assert config.context.tolerations[1] == (("key", "spot"), ("operator", "Exists"))
    assert ("", "standard") in config.context.storage_classes
    assert "privileged" in config.context.isolation.relaxed


def test_isolation_defaults_become_flags() -> None:
    args = container(default(), "syncer")["args"]
    assert not [a for a in args if a.startswith(("--allow=", "--allowed-host="))]
    assert "--denied-annotation=nginx.ingress.kubernetes.io/*-snippet" in args
    emptied = container(render("--set", "isolation.ingress.deniedAnnotations=null"),
                        "syncer")["args"]
    assert "--allow=ingress-annotations" in emptied  # an empty deny list denies nothing
    assert not [a for a in emptied if a.startswith("--denied-annotation=")]


def test_extra_labels_cannot_forge_ownership() -> None:
    result = helm("template", NAME, str(CHART), "--namespace", NAMESPACE, "--set-string",
                  "sync.extraLabels.preview-vcluster\\.io/vcluster=other")
    assert result.returncode != 0
    assert "sync.extraLabels" in result.stderr and "preview-vcluster.io/" in result.stderr


def test_pod_placement_and_persistence_options() -> None:
    sts = one(all_options(), "StatefulSet")
    pod = sts["spec"]["template"]["spec"]
    assert pod["priorityClassName"] == "preview-control-planes"
    assert pod["nodeSelector"] == {"node-pool.example.com/name": "control-planes"}
    assert pod["tolerations"][0]["key"] == "dedicated"
    assert "podAntiAffinity" in pod["affinity"]
    assert pod["imagePullSecrets"] == [{"name": "registry-credentials"}]
    assert "data" not in [v["name"] for v in pod["volumes"]]
    claim = sts["spec"]["volumeClaimTemplates"][0]
    assert claim["metadata"]["name"] == "data"
    assert claim["spec"] == {"accessModes": ["ReadWriteOncePod"], "storageClassName": "fast-ssd",
                             "resources": {"requests": {"storage": "10Gi"}}}
    assert sts["spec"]["persistentVolumeClaimRetentionPolicy"]["whenDeleted"] == "Retain"
    assert "volumeClaimTemplates" not in one(default(), "StatefulSet")["spec"]


def test_control_plane_pod_passes_restricted_pod_security() -> None:
    """The namespace may enforce `restricted` (isolation.podSecurity): the chart's own pod too."""
    pod = one(default(), "StatefulSet")["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    for c in pod["containers"]:
        assert c["securityContext"]["allowPrivilegeEscalation"] is False
        assert c["securityContext"]["capabilities"] == {"drop": ["ALL"]}
        assert "resources" in c and {"requests", "limits"} <= c["resources"].keys()
    assert {next(k for k in v if k != "name") for v in pod["volumes"]} <= {
        "emptyDir", "projected", "persistentVolumeClaim"}
    assert podsecurity.check(pod, {}, "restricted") == []  # as the syncer would judge it


def test_every_list_of_isolation_rules_agrees() -> None:
    """The rules are spelled in the syncer (RULES), the chart's schema (`sync.allow`, which
    the platform policy reads too), values.yaml's comment and docs/syncer.md's tables."""
    schema = json.loads((CHART / "values.schema.json").read_text())
    assert schema["properties"]["sync"]["properties"]["allow"]["items"]["enum"] == sorted(RULES)
    comment = (CHART / "values.yaml").read_text().split("allow: []")[0].rsplit("# -- ", 1)[1]
    words = {w.strip(" #.,:\n") for w in comment.split()}
    assert sorted(set(RULES) - words) == []
    section = (ROOT / "docs" / "syncer.md").read_text().split("\n## Isolation")[1]
    documented = set()
    for line in section.split("\n## ")[0].splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| ") and len(cells) > 1:  # a rule in the first or second column
            documented |= {c.strip("`") for c in cells[:2] if c[:1] == c[-1:] == "`"}
    assert set(RULES) | {RESERVED_PREFIX_RULE} == documented


def test_isolation_objects() -> None:
    docs = default()
    quota = one(docs, "ResourceQuota", f"vc-{NAME}")["spec"]["hard"]
    # The tenant's counts, plus the chart's own pod, three Services (and claim when persistent).
    assert quota == {"pods": "51", "services": "23", "persistentvolumeclaims": "10",
                     "services.loadbalancers": "2", "services.nodeports": "4",
                     "requests.cpu": "10", "requests.memory": "20Gi", "requests.storage": "50Gi",
                     "limits.cpu": "40", "limits.memory": "40Gi"}
    limits = one(docs, "LimitRange", f"vc-{NAME}")["spec"]["limits"]
    assert limits == [{"type": "Container", "default": {"cpu": "500m", "memory": "512Mi"},
                       "defaultRequest": {"cpu": "100m", "memory": "128Mi"},
                       "max": {"cpu": "4", "memory": "8Gi"}}]
    policy = one(docs, "NetworkPolicy", f"vc-{NAME}")["spec"]
    assert policy["podSelector"] == {} and policy["policyTypes"] == ["Ingress", "Egress"]
    assert policy["ingress"] == [{"from": [
        {"podSelector": {}},
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}]}]
    dns = policy["egress"][1]
    assert dns["to"] == [{"namespaceSelector": {"matchLabels": {
        "kubernetes.io/metadata.name": "kube-system"}}}]
    assert {(p["protocol"], p["port"]) for p in dns["ports"]} == {("UDP", 53), ("TCP", 53)}
    internet = policy["egress"][2]["to"][0]["ipBlock"]
    assert internet["cidr"] == "0.0.0.0/0" and "10.0.0.0/8" in internet["except"]
    control = one(docs, "NetworkPolicy", f"vc-{NAME}-control-plane")["spec"]
    assert control["podSelector"] == {"matchLabels": POD_LABELS}
    assert control["policyTypes"] == ["Egress"]
    assert {p["port"] for p in control["egress"][0]["ports"]} == {443, 6443}


def test_isolation_can_be_switched_off_and_narrowed() -> None:
    off = render("--set", "isolation.quota.enabled=false", "--set",
                 "isolation.limitRange.enabled=false", "--set",
                 "isolation.networkPolicy.enabled=false")
    assert not {"ResourceQuota", "LimitRange", "NetworkPolicy"} & {d["kind"] for d in off}
    unlimited = render("--set", "isolation.quota.nodePorts=null")
    assert "services.nodeports" not in one(unlimited, "ResourceQuota")["spec"]["hard"]
    docs = all_options()
    policy = one(docs, "NetworkPolicy", f"vc-{NAME}")["spec"]
    namespaces = [p["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
                  for p in policy["ingress"][0]["from"] if "namespaceSelector" in p]
    assert namespaces == ["traefik", "monitoring", "logging"]
    assert len(policy["egress"]) == 2  # no internet
    control = one(docs, "NetworkPolicy", f"vc-{NAME}-control-plane")["spec"]
    assert control["policyTypes"] == ["Ingress", "Egress"]  # a LoadBalancer reaches k3s
    assert one(docs, "ResourceQuota")["spec"]["hard"]["pods"] == "52"


def test_exposure_options() -> None:
    docs = all_options()
    service = one(docs, "Service", NAME)
    assert service["spec"]["type"] == "LoadBalancer"
    assert service["spec"]["loadBalancerSourceRanges"] == ["198.51.100.0/24"]
    ingress = one(docs, "Ingress", NAME)["spec"]
    assert ingress["ingressClassName"] == "nginx"
    assert ingress["rules"][0]["host"] == "team-a.vc.example.com"
    backend = ingress["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": NAME, "port": {"name": "https"}}
    assert "tls" not in ingress  # TLS passthrough to k3s


def test_release_name_must_fit_the_pod_name() -> None:
    result = helm("template", "a" * 53, str(CHART), "--namespace", NAMESPACE)
    assert result.returncode != 0
    assert "at most 52 characters" in result.stderr
