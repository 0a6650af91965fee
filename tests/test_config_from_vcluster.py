"""preview.yaml's `vcluster:` in vCluster's spellings: translated before the platform policy
judges it (preview/config.py `render` with preview/vcluster/vclusterconfig.py), so that a
pull request gets nothing through vCluster's names that ours would not give it."""

from __future__ import annotations

from pathlib import Path

import pytest

from preview import config, policy
from preview.config import ConfigError
from preview.vcluster.vclusterconfig import Untranslatable
from tests.test_config import PR, Env, load_text


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / ".git").mkdir()
    (tmp_path / "chart").mkdir()
    return tmp_path


def render(repo: Path, vcluster: str, rules: policy.Policy = policy.DEFAULT) -> config.RenderedConfig:
    loaded = load_text(repo, f"chart: {{path: ./chart}}\nvcluster:\n{vcluster}")
    return config.render(loaded, PR, Env(), rules)


def refusal(repo: Path, vcluster: str) -> list[str]:
    with pytest.raises(ConfigError) as e:
        render(repo, vcluster)
    return list(e.value.problems)


# Each pair: our spelling and vCluster's of one request the default policy refuses.
@pytest.mark.parametrize(("ours", "theirs", "fragment"), [
    ("  sync: {tolerations: [{key: gpu}]}",
     "  sync: {toHost: {pods: {enforceTolerations: [gpu]}}}",
     "vcluster.sync.tolerations: not a key a pull request may set"),
    ("  isolation: {podSecurity: privileged}",
     "  policies: {podSecurityStandard: privileged}",
     "vcluster.isolation.podSecurity: 'privileged' is below the platform policy's minimum"),
    ("  isolation: {podSecurity: privileged}",
     "  isolation: {enabled: true, podSecurityStandard: privileged}",
     "vcluster.isolation.podSecurity: 'privileged' is below the platform policy's minimum"),
    ("  isolation: {quota: {pods: 500}}",
     "  policies: {resourceQuota: {quota: {count/pods: 501}}}",
     "vcluster.isolation.quota.pods: 500 is above the platform policy's cap 50"),
    ("  isolation: {quota: {enabled: false}}",
     "  isolation: {resourceQuota: {enabled: false}}",
     "vcluster.isolation.quota.enabled: the quota is the platform policy's cap"),
    ("  sync: {nodes: real}",
     "  sync: {fromHost: {nodes: {enabled: true}}}",
     "vcluster.sync.nodes: not a key a pull request may set"),
])
def test_vclusters_spelling_is_refused_exactly_like_ours(repo: Path, ours: str, theirs: str,
                                                         fragment: str) -> None:
    mine, translated = refusal(repo, ours), refusal(repo, theirs)
    assert any(fragment in line for line in mine), mine
    assert [line.split(" (written as vCluster's ")[0] for line in translated] == mine
    assert all("(written as vCluster's " in line for line in translated), translated


def test_the_articles_file_within_the_default_policy(repo: Path) -> None:
    rendered = render(repo, """\
  sync:
    pods: {enabled: true}
    services: {enabled: true}
    persistentvolumeclaims: {enabled: true}
  isolation:
    enabled: true
    resourceQuota:
      enabled: true
      quota: {requests.cpu: "10", requests.memory: "20Gi", pods: "50"}
""")
    isolation = rendered.vcluster_values["isolation"]
    # Written: as asked. vCluster's defaults above the policy's caps (100Gi of storage,
    # 20 claims) give way to the caps, which the default policy leaves at the chart's
    # defaults (50Gi, 10).
    assert isolation["quota"] == {
        "enabled": True, "pods": 49, "services": 20, "loadBalancers": 1, "nodePorts": 0,
        "requests": {"cpu": "10", "memory": "20Gi"}, "limits": {"cpu": "20", "memory": "40Gi"}}
    assert isolation["limitRange"]["default"] == {"cpu": "1", "memory": "512Mi"}
    assert rendered.vcluster_values["sync"]["kinds"] == {
        "pods": True, "services": True, "persistentvolumeclaims": True}


def test_an_unsupported_key_fails_at_load_naming_it(repo: Path) -> None:
    with pytest.raises(Untranslatable) as e:
        load_text(repo, "vcluster:\n  controlPlane: {distro: {k8s: {enabled: true}}}\n")
    assert e.value.problems == (
        "preview.yaml: vcluster: controlPlane.distro.k8s: vCluster's key has no equivalent "
        "in charts/vcluster: the control plane is always k3s (k3s.image picks its version)",)
