"""vCluster's own values, both forms, in charts/vcluster's (preview/vcluster/vclusterconfig.py
and the key table vclusterkeys.py; pure)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from preview import policy
from preview.kube.resources import SYNCED_KINDS
from preview.policy.model import chart_value_paths
from preview.vcluster import vclusterconfig
from preview.vcluster.values import given
from preview.vcluster.vclusterconfig import OURS, OURS_SHARED, OURS_TOP, Untranslatable, translate
from preview.vcluster.vclusterkeys import (
    CURRENT,
    CURRENT_KINDS,
    LEGACY,
    NO_EQUIVALENT,
    RULES,
    Refused,
    toleration,
)

ROOT = Path(__file__).resolve().parents[2]
ALL_OPTIONS = ROOT / "tests" / "charts" / "vcluster-all-options.yaml"

# The vCluster article's "minimal hardened configuration" (vCluster ≤0.19 values).
ARTICLE = """\
sync:
  pods: {enabled: true}
  services: {enabled: true}
  persistentvolumeclaims: {enabled: true}
isolation:
  enabled: true
  resourceQuota:
    enabled: true
    quota: {requests.cpu: "10", requests.memory: "20Gi", pods: "50"}
"""
# vCluster's isolation defaults in our keys, as `isolation.enabled: true` brings them.
VCLUSTER_QUOTA = {"requests": {"cpu": "10", "memory": "20Gi", "storage": "100Gi"},
                  "limits": {"cpu": "20", "memory": "40Gi"}, "nodePorts": 0,
                  "loadBalancers": 1, "pods": 19, "services": 20, "persistentVolumeClaims": 20}
VCLUSTER_LIMIT_RANGE = {"default": {"cpu": "1", "memory": "512Mi"},
                        "defaultRequest": {"cpu": "100m", "memory": "128Mi"}}


def load(text: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(textwrap.dedent(text))
    return loaded


def test_the_articles_file() -> None:
    t = translate(load(ARTICLE))
    assert t.form == LEGACY
    assert t.values == {
        "sync": {"kinds": {"pods": True, "services": True, "persistentvolumeclaims": True}},
        "isolation": {"quota": {"enabled": True, "requests": {"cpu": "10", "memory": "20Gi"},
                                "pods": 49}}}
    quota = {**VCLUSTER_QUOTA, "requests": {"storage": "100Gi"}}
    del quota["pods"]
    assert t.defaults == {"isolation": {"quota": quota, "limitRange": VCLUSTER_LIMIT_RANGE,
                                        "networkPolicy": {"enabled": True},
                                        "podSecurity": "baseline"}}
    assert t.merged["isolation"]["quota"]["pods"] == 49
    assert "isolation.resourceQuota.quota.pods → isolation.quota.pods" in t.lines
    assert "sync.persistentvolumeclaims.enabled → sync.kinds.persistentvolumeclaims" in t.lines
    assert "isolation.enabled: true → isolation.quota.limits.cpu: 20 (vCluster's default)" \
        in t.lines


CURRENT_FILE = """\
sync:
  toHost:
    ingresses: {enabled: true}
    pods: {enforceTolerations: ["pool=previews:NoSchedule", "spot:NoExecute"]}
    configMaps: {all: true}
    secrets: {all: true}
  fromHost:
    nodes: {enabled: true, selector: {labels: {pool: previews}}}
policies:
  podSecurityStandard: restricted
  resourceQuota:
    quota: {count/pods: 30, services.nodeports: 0, limits.cpu: 8}
  limitRange:
    enabled: true
    default: {cpu: 2}
    max: {memory: 4Gi}
  networkPolicy:
    enabled: true
    workload:
      publicEgress: {enabled: false}
controlPlane:
  statefulSet:
    persistence:
      volumeClaim: {enabled: true, size: 10Gi, storageClass: fast, retentionPolicy: Retain}
    scheduling:
      nodeSelector: {kubernetes.io/os: linux}
"""


def test_a_vcluster_yaml() -> None:
    t = translate(load(CURRENT_FILE))
    assert t.form == CURRENT
    assert t.merged == {
        "sync": {"kinds": {"ingresses": True}, "configs": "all", "nodes": "real",
                 "nodeSelector": {"pool": "previews"},
                 "tolerations": [{"key": "pool", "value": "previews", "effect": "NoSchedule"},
                                 {"key": "spot", "effect": "NoExecute"}]},
        "isolation": {
            "podSecurity": "restricted",
            "quota": {"pods": 29, "nodePorts": 0, "limits": {"cpu": "8"}},
            "limitRange": {"enabled": True, "default": {"cpu": "2", "memory": "512Mi"},
                           "defaultRequest": {"cpu": "100m", "memory": "128Mi"},
                           "max": {"memory": "4Gi"}},
            "networkPolicy": {"enabled": True, "allowInternet": False}},
        "persistence": {"enabled": True, "size": "10Gi", "storageClassName": "fast",
                        "whenDeleted": "Retain"},
        "controlPlane": {"nodeSelector": {"kubernetes.io/os": "linux"}},
    }
    assert "policies.resourceQuota.quota.count/pods → isolation.quota.pods" in t.lines
    assert ("sync.toHost.configMaps.all, sync.toHost.secrets.all → sync.configs: all"
            in t.lines)
    assert dict(t.sources)["isolation.podSecurity"] == "policies.podSecurityStandard"


def test_our_own_values_pass_unchanged() -> None:
    ours = yaml.safe_load(ALL_OPTIONS.read_text())
    t = translate(ours)
    assert (t.form, t.values, t.defaults, t.lines) == (OURS, ours, {}, ())


# Keys both spell: which form each is read in.
@pytest.mark.parametrize(("text", "form", "values"), [
    ("sync: {nodes: real}", OURS, {"sync": {"nodes": "real"}}),
    ("sync: {nodes: {enabled: true}}", LEGACY, {"sync": {"nodes": "real"}}),
    ("sync: {nodes: {enabled: false}, fake-nodes: {enabled: true}}", LEGACY,
     {"sync": {"nodes": "fake"}}),
    ("sync: {kinds: {pods: false}, toHost: {services: {enabled: false}}}", CURRENT,
     {"sync": {"kinds": {"pods": False, "services": False}}}),
    ("isolation: {limitRange: {default: {cpu: '1'}}}", OURS,
     {"isolation": {"limitRange": {"default": {"cpu": "1"}}}}),
    ("isolation: {networkPolicy: {enabled: false}}", OURS,
     {"isolation": {"networkPolicy": {"enabled": False}}}),
    ("isolation: {podSecurity: restricted, podSecurityStandard: restricted}", LEGACY, None),
    ("isolation: {enabled: false, limitRange: {enabled: true}}", LEGACY,
     {"isolation": {"limitRange": {"enabled": True}}}),
    ("controlPlane: {nodeSelector: {a: b}}", OURS, {"controlPlane": {"nodeSelector": {"a": "b"}}}),
    ("controlPlane: {statefulSet: {scheduling: {nodeSelector: {a: b}}}}", CURRENT,
     {"controlPlane": {"nodeSelector": {"a": "b"}}}),
    ("nodeSelector: {a: b}\ningress: {enabled: true, ingressClassName: nginx}", LEGACY,
     {"controlPlane": {"nodeSelector": {"a": "b"}},
      "ingress": {"enabled": True, "className": "nginx"}}),
    ("nosuchkey: 1", OURS, {"nosuchkey": 1}),  # neither's: our chart's schema refuses it
])
def test_which_form_a_key_is_in(text: str, form: str, values: dict[str, Any] | None) -> None:
    if values is None:  # ours and vCluster's spelling of one value: a conflict
        with pytest.raises(Untranslatable, match=r"both set isolation\.podSecurity"):
            translate(load(text))
        return
    t = translate(load(text))
    assert (t.form, t.values) == (form, values)


@pytest.mark.parametrize(("text", "fragment"), [
    # No equivalent: the key and the reason.
    ("controlPlane: {distro: {k8s: {enabled: true}}}",
     "controlPlane.distro.k8s: vCluster's key has no equivalent in charts/vcluster: the "
     "control plane is always k3s"),
    ("api: {image: registry.k8s.io/kube-apiserver:v1.29.0}", "api.image: vCluster's key"),
    # rbac is a key of both vCluster forms: refused, and no sign of either form.
    ("rbac: {clusterRole: {create: true}}\nsync: {pods: {enabled: true}}",
     "rbac.clusterRole: vCluster's key has no equivalent"),
    ("sync: {toHost: {pods: {enforceTolerations: ['*']}}}",
     "sync.toHost.pods.enforceTolerations: '*' tolerates every taint"),
    ("sync: {toHost: {configMaps: {all: true}}}", "`all` for one kind and not the other"),
    ("sync: {toHost: {namespaces: {enabled: true}}}",
     "sync.toHost.namespaces.enabled: true has no equivalent in charts/vcluster: "
     "charts/vcluster does not sync this kind"),
    ("sync: {fromHost: {nodes: {selector: {all: true}}}}", "not all"),
    ("sync: {nodes: {enabled: false}, fake-nodes: {enabled: false}}", "without nodes"),
    ("policies: {resourceQuota: {quota: {count/secrets: 10}}}",
     "charts/vcluster's quota has no 'count/secrets'"),
    ("policies: {resourceQuota: {quota: {pods: many}}}", "'many' is not a count"),
    ("policies: {limitRange: {default: {ephemeral-storage: 8Gi}}}", "cpu and memory only"),
    ("policies: {networkPolicy: {workload: {publicEgress: {cidr: 10.0.0.0/8}}}}",
     "egress to '10.0.0.0/8' only has no equivalent"),
    ("policies: {podSecurityStandard: lax}", "'lax': privileged, baseline or restricted"),
    ("networking: {replicateServices: {toHost: [{from: a, to: b}]}}",
     "does not replicate Services"),
    ("mapServices: {fromHost: [{from: default/a, to: b}]}", "does not replicate Services"),
    ("sync: {nodes: {nodeSelector: 'pool in (a,b)'}}", "only `key=value` terms"),
    # Ours and a translated key on one value: never an override.
    ("isolation: {quota: {pods: 40}}\npolicies: {resourceQuota: {quota: {pods: 50}}}",
     "policies.resourceQuota.quota.pods (vCluster's) and isolation.quota.pods (ours) both "
     "set isolation.quota.pods: keep one"),
    ("sync: {nodes: fake, fromHost: {nodes: {enabled: true}}}", "both set sync.nodes"),
    ("sync: {tolerations: [{key: a}], toHost: {pods: {enforceTolerations: [b]}}}",
     "both set sync.tolerations"),
    ("policies: {resourceQuota: {quota: {pods: 5, count/pods: 6}}}",
     "policies.resourceQuota.quota.pods and policies.resourceQuota.quota.count/pods both "
     "set isolation.quota.pods (4, 5): keep one"),
    # One file, one vCluster form.
    ("sync: {pods: {enabled: true}}\npolicies: {podSecurityStandard: restricted}",
     "sync.pods.enabled is vCluster ≤0.19's and policies.podSecurityStandard vCluster "
     "≥0.20's"),
])
def test_what_cannot_be_translated_is_refused_and_named(text: str, fragment: str) -> None:
    with pytest.raises(Untranslatable) as e:
        translate(load(text), "vcluster.yaml")
    assert fragment in e.value.message
    assert all(line.startswith("vcluster.yaml: ") for line in e.value.problems)
    assert e.value.exit_code == 2


@pytest.mark.parametrize("text", [
    # vCluster's defaults for what we do anyway (a full values dump pastes them).
    "sync: {events: {enabled: true}, persistentvolumes: {enabled: false}, "
    "nodes: {syncAllNodes: false, enableScheduler: false}}",
    "sync: {toHost: {endpointSlices: {enabled: true}, namespaces: {enabled: false}}, "
    "fromHost: {csiNodes: {enabled: auto}, secrets: {enabled: false, mappings: {byName: {}}}}}",
    "networking: {replicateServices: {toHost: [], fromHost: []}}",
    "policies: {resourceQuota: {enabled: auto, scopes: []}, podSecurityStandard: ''}",
    "isolation: {enabled: false, namespace: null}",
])
def test_our_behaviour_already_is_accepted_with_nothing_to_set(text: str) -> None:
    t = translate(load(text))
    assert t.values == {} and t.defaults == {}
    assert t.lines and all("→ (nothing to set: " in line for line in t.lines)


def test_isolation_defaults_fill_only_what_the_file_does_not_set() -> None:
    t = translate(load("""\
        isolation:
          enabled: true
          quota: {pods: 7, requests: {cpu: '2'}}
          limitRange: {enabled: false}
          networkPolicy: {enabled: false}
        """))
    assert t.values == {"isolation": {"quota": {"pods": 7, "requests": {"cpu": "2"}},
                                      "limitRange": {"enabled": False},
                                      "networkPolicy": {"enabled": False}}}
    assert t.defaults["isolation"]["quota"]["requests"] == {"memory": "20Gi",
                                                            "storage": "100Gi"}
    assert "pods" not in t.defaults["isolation"]["quota"]
    assert set(t.defaults["isolation"]) == {"quota", "podSecurity"}  # the others are off


def test_a_policy_switched_on_brings_its_defaults() -> None:
    t = translate(load("policies: {resourceQuota: {enabled: true}, limitRange: {enabled: "
                       "false}}"))
    assert t.values == {"isolation": {"quota": {"enabled": True},
                                      "limitRange": {"enabled": False}}}
    assert t.defaults == {"isolation": {"quota": VCLUSTER_QUOTA}}


@pytest.mark.parametrize(("spec", "ours"), [
    ("pool", {"key": "pool"}),
    ("pool=previews", {"key": "pool", "value": "previews"}),
    ("pool:NoSchedule", {"key": "pool", "effect": "NoSchedule"}),
    ("pool=previews:NoExecute", {"key": "pool", "value": "previews", "effect": "NoExecute"}),
    ("*", None), ("a=b=c", None), ("a:b:c", None), (":NoSchedule", None),
])
def test_enforced_tolerations(spec: str, ours: dict[str, str] | None) -> None:
    if ours is None:
        with pytest.raises(Refused):
            toleration(spec)
    else:
        assert toleration(spec) == ours


def test_the_table_never_reads_a_key_of_ours_as_vclusters() -> None:
    ours = chart_value_paths()
    for rule in RULES:
        dotted = ".".join(k for k in rule.pattern if k not in ("*", "**"))
        assert dotted not in ours, rule
        assert rule.form in (LEGACY, CURRENT)
    for prefix, form, _ in NO_EQUIVALENT:
        assert form in (LEGACY, CURRENT) or prefix in (("rbac",), ("telemetry",))
        assert ".".join(prefix) not in ours or prefix[0] in OURS_SHARED, prefix
    schema = json.loads((ROOT / "charts" / "vcluster" / "values.schema.json").read_text())
    top = set(schema["properties"])
    assert top == OURS_TOP | set(OURS_SHARED)
    for key, children in OURS_SHARED.items():
        assert set(schema["properties"][key]["properties"]) == children, key


def test_a_policy_caps_the_defaults_it_did_not_ask_for() -> None:
    t = translate(load(ARTICLE))
    judged = vclusterconfig.within(t, lambda one: policy.check_vcluster(policy.DEFAULT, one, ""))
    quota = judged["isolation"]["quota"]
    assert quota["pods"] == 49  # the namespace's 50, less the control plane's own pod
    assert "storage" not in quota["requests"]  # 100Gi is above the cap: the cap holds
    assert "persistentVolumeClaims" not in quota  # 20 is above the cap of 10
    assert quota["limits"] == {"cpu": "20", "memory": "40Gi"}  # within the caps
    assert "networkPolicy" not in judged["isolation"]  # not a key a pull request may set
    assert vclusterconfig.within(t, None) == t.merged


def test_create_reports_a_line_per_translated_key(tmp_path: Path) -> None:
    first, second = tmp_path / "ours.yaml", tmp_path / "vcluster.yaml"
    first.write_text("isolation: {quota: {services: 5}}\n")
    second.write_text("policies: {resourceQuota: {enabled: true, quota: {pods: 9}}}\n")
    lines: list[str] = []
    values = given([first, second], ["isolation.quota.pods=11"], report=lines.append)
    quota = values["isolation"]["quota"]
    assert (quota["pods"], quota["services"], quota["nodePorts"]) == (11, 5, 0)
    assert f"{second}: policies.resourceQuota.quota.pods → isolation.quota.pods" in lines
    assert lines[0] == f"{second}: {CURRENT}, in charts/vcluster's values:"
    assert not any(line.startswith(str(first)) for line in lines)


def test_every_synced_kind_has_its_vcluster_keys_and_no_refusal() -> None:
    """A kind the syncer starts to sync is switched by vCluster's keys for it, in both forms,
    and is no longer refused as a kind charts/vcluster does not sync."""
    assert sorted(CURRENT_KINDS.values()) == sorted(SYNCED_KINDS)
    switched = {rule.to[-1] for rule in RULES if rule.to and rule.to[:2] == ("sync", "kinds")
                and rule.pattern[-1] == "enabled"}
    assert switched == set(SYNCED_KINDS)
    to_host = [rule.pattern for rule in RULES if rule.keep == (False,)
               and "does not sync this kind" in rule.why and rule.pattern[-1] == "enabled"
               and rule.pattern[:-2] in (("sync",), ("sync", "toHost"))]
    refused = {pattern[-2].lower() for pattern in to_host}
    assert "networkpolicies" in refused
    assert refused & set(SYNCED_KINDS) == set()
