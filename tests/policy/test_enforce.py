"""The policy judging a pull request's request (preview/policy/enforce.py): pure tables."""

from __future__ import annotations

from typing import Any

import pytest

from preview import policy
from preview.policy import enforce

HOST = "pr-7-shop.preview.example.com"


def rules(**raw: Any) -> policy.Policy:
    return policy.parse(raw, "policy.yaml")


def check(values: dict[str, Any], of: policy.Policy = policy.DEFAULT) -> list[str]:
    return enforce.check_vcluster(of, values, "preview.yaml")


# The hostile preview.yaml of the issue, one key at a time.
@pytest.mark.parametrize(("values", "line"), [
    ({"syncer": {"image": "attacker.example/evil:latest"}},
     "preview.yaml: vcluster.syncer.image: set by the platform policy, not by the pull "
     "request (the platform's policy file: docs/policy.md)"),
    ({"syncer": {"extraArgs": ["--allow=all"]}},
     "preview.yaml: vcluster.syncer.extraArgs: set by the platform policy, not by the pull "
     "request (the platform's policy file: docs/policy.md)"),
    ({"syncer": {"env": [{"name": "PREVIEW_SYNC", "value": "x"}]}},
     "preview.yaml: vcluster.syncer.env: set by the platform policy, not by the pull "
     "request (the platform's policy file: docs/policy.md)"),
    ({"isolation": {"podSecurity": "privileged"}},
     "preview.yaml: vcluster.isolation.podSecurity: 'privileged' is below the platform "
     "policy's minimum 'baseline' (podSecurity.minimum); a pull request may only tighten it"),
    ({"isolation": {"ingress": {"allowedHosts": ["*"]}}},
     "preview.yaml: vcluster.isolation.ingress.allowedHosts: set by the platform policy, not "
     "by the pull request (the platform's policy file: docs/policy.md)"),
    ({"sync": {"allow": ["host-path"]}},
     "preview.yaml: vcluster.sync.allow: 'host-path' may not be relaxed under the platform "
     "policy (sync.relaxable: none)"),
    ({"sync": {"nodeSelector": {"pool": "gpu"}}},
     "preview.yaml: vcluster.sync.nodeSelector.pool: not a key a pull request may set (the "
     "platform policy's pullRequest.vclusterKeys: isolation.quota, isolation.limitRange, "
     "isolation.podSecurity, k3s.resources, syncer.resources, sync.kinds, sync.configs, "
     "sync.storageClasses, sync.allow; docs/policy.md)"),
])
def test_what_a_pull_request_may_not_set(values: dict[str, Any], line: str) -> None:
    assert check(values) == [line]


def test_every_problem_is_its_own_line() -> None:
    lines = check({"syncer": {"image": "x", "extraArgs": ["--allow=all"]},
                   "isolation": {"podSecurity": "privileged", "quota": {"pods": 51}},
                   "sync": {"allow": ["host-path", "privileged", "capabilities"]}})
    assert len(lines) == 7


@pytest.mark.parametrize(("values", "fragment"), [
    ({"isolation": {"quota": {"pods": 51}}}, "51 is above the platform policy's cap 50 "
                                             "(caps.quota.pods)"),
    ({"isolation": {"quota": {"pods": None}}}, "unlimited is above the platform policy's cap "
                                               "50 (caps.quota.pods)"),
    ({"isolation": {"quota": {"requests": {"memory": "21Gi"}}}}, "21Gi is above"),
    ({"isolation": {"quota": {"limits": {"cpu": "40001m"}}}}, "40001m is above"),
    ({"isolation": {"quota": {"enabled": False}}}, "stays on"),
    ({"isolation": {"quota": None}}, "stays on"),
    ({"isolation": {"limitRange": {"max": {"memory": "9Gi"}}}}, "(caps.limitRange.memory)"),
    ({"isolation": {"limitRange": {"enabled": False}}}, "LimitRange stays on"),
    ({"k3s": {"resources": {"limits": {"cpu": "3"}}}}, "(caps.controlPlane.cpu)"),
    ({"syncer": {"resources": {"limits": {"memory": None}}}}, "unlimited is above"),
    ({"sync": {"storageClasses": {"standard": "fast-ssd"}}}, "host StorageClass 'fast-ssd'"),
])
def test_caps(values: dict[str, Any], fragment: str) -> None:
    lines = check(values)
    assert len(lines) == 1 and fragment in lines[0], lines


@pytest.mark.parametrize("values", [
    {"isolation": {"quota": {"pods": 10, "requests": {"cpu": "500m", "memory": "20Gi"}}}},
    {"isolation": {"quota": {"enabled": True, "loadBalancers": 0}}},
    {"isolation": {"podSecurity": "restricted"}},  # tighter: always allowed
    {"isolation": {"limitRange": {"default": {"cpu": "1", "memory": "1Gi"}}}},
    {"k3s": {"resources": {"requests": {"cpu": "100m"}, "limits": {"memory": "1Gi"}}}},
    {"syncer": {"resources": {"requests": None}}},
    {"sync": {"kinds": {"ingresses": False}, "configs": "all", "storageClasses": {"a": ""}}},
    {"sync": {"allow": []}},
    {},
])
def test_what_a_pull_request_may_set_within_the_caps(values: dict[str, Any]) -> None:
    assert check(values) == []


def test_a_relaxable_rule_and_nothing_else() -> None:
    lenient = rules(sync={"relaxable": ["host-path"]})
    assert check({"sync": {"allow": ["host-path"]}}, lenient) == []
    assert check({"sync": {"allow": ["host-path", "privileged"]}}, lenient) == [
        "preview.yaml: vcluster.sync.allow: 'privileged' may not be relaxed under the "
        "platform policy (sync.relaxable: host-path)"]


def test_the_policy_may_grant_more_keys_and_storage_classes() -> None:
    grants = rules(pullRequest={"vclusterKeys": ["sync.nodeSelector", "sync.storageClasses"],
                                "storageClasses": ["fast-ssd"]})
    assert check({"sync": {"nodeSelector": {"pool": "gpu"},
                           "storageClasses": {"standard": "fast-ssd"}}}, grants) == []
    assert "not a key" in check({"isolation": {"quota": {"pods": 1}}}, grants)[0]


def test_caps_set_by_the_policy_are_the_environments_quota() -> None:
    tight = rules(caps={"quota": {"pods": 20, "requests": {"cpu": "4"}}})
    assert check({"isolation": {"quota": {"pods": 21}}}, tight)[0].endswith(
        "21 is above the platform policy's cap 20 (caps.quota.pods)")
    values = enforce.vcluster_values(tight, {"isolation": {"quota": {"pods": 5}}}, HOST)
    assert values["isolation"]["quota"] == {"pods": 5, "requests": {"cpu": "4"}}
    # The chart's defaults stay the defaults when the policy leaves the quota alone.
    assert "quota" not in enforce.vcluster_values(policy.DEFAULT, {}, HOST)["isolation"]


def test_the_policy_decides_image_pod_security_and_hosts() -> None:
    strict = rules(syncer={"image": "registry.internal/preview-syncer:1.2.3",
                           "imagePullPolicy": "Always", "imagePullSecrets": ["registry"]},
                   podSecurity={"minimum": "restricted"},
                   ingress={"extraAllowedHosts": ["*.shared.example.com"]},
                   vcluster={"sync": {"nodeSelector": {"pool": "previews"}}})
    values = enforce.vcluster_values(strict, {"isolation": {"podSecurity": "baseline"}}, HOST,
                                     {"team": "shop"})
    assert values == {
        "sync": {"extraLabels": {"team": "shop"}, "nodeSelector": {"pool": "previews"}},
        "isolation": {"podSecurity": "restricted",
                      "ingress": {"allowedHosts": [HOST, "*.shared.example.com"]}},
        "syncer": {"image": "registry.internal/preview-syncer:1.2.3",
                   "imagePullPolicy": "Always"},
        "controlPlane": {"imagePullSecrets": [{"name": "registry"}]}}
    # A pull request asking for stricter than the minimum keeps it.
    assert enforce.vcluster_values(policy.DEFAULT, {"isolation": {"podSecurity": "restricted"}},
                                   HOST)["isolation"]["podSecurity"] == "restricted"


def request(of: policy.Policy, **overrides: Any) -> list[str]:
    given: dict[str, Any] = dict(
        repo="octo-org/shop", chart=("path", "/repo/chart"), ttl_seconds=86400,
        ttl_where="preview.yaml: ttl", timeouts={"vcluster": 300, "deploy": 300, "health": 60},
        timeout_where="preview.yaml: timeouts", host=HOST, url_where="preview.yaml: url")
    given.update(overrides)
    return enforce.check_request(of, **given)


def test_requests_within_the_defaults() -> None:
    assert request(policy.DEFAULT) == []
    assert request(policy.DEFAULT, chart=("oci", "oci://anywhere/app")) == []


@pytest.mark.parametrize(("raw", "overrides", "line"), [
    ({"repositories": ["octo-org/web-*"]}, {},
     "repository octo-org/shop: the platform policy does not preview it (repositories: "
     "octo-org/web-*)"),
    ({"charts": {"local": False}}, {}, "chart /repo/chart: a local chart is not allowed"),
    ({"charts": {"oci": ["oci://ghcr.io/octo-org/*"]}},
     {"chart": ("oci", "oci://evil.example/app")},
     "chart oci://evil.example/app: not an OCI reference the platform policy allows "
     "(charts.oci: oci://ghcr.io/octo-org/*)"),
    ({"charts": {"repositories": []}}, {"chart": ("repo", "https://charts.example.com")},
     "chart repository https://charts.example.com: not allowed by the platform policy "
     "(charts.repositories: none)"),
    ({"caps": {"ttl": "3d"}}, {"ttl_seconds": 7 * 86400},
     "preview.yaml: ttl: 7d is above the platform policy's cap 3d (caps.ttl)"),
    ({"caps": {"timeout": "10m"}}, {"timeouts": {"vcluster": 300, "deploy": 900,
                                                 "health": 60}},
     "preview.yaml: timeouts.deploy: 15m is above the platform policy's cap 10m "
     "(caps.timeout)"),
    ({"caps": {"timeout": "10m"}}, {"timeouts": {"vcluster": 900, "deploy": 900,
                                                 "health": 900},
                                    "timeout_where": "--timeout"},
     "--timeout: 15m is above the platform policy's cap 10m (caps.timeout)"),
    ({"ingress": {"domains": ["preview.example.com"]}}, {"host": "shop.example.com"},
     "preview.yaml: url: host 'shop.example.com' is outside the platform policy's domains "
     "(preview.example.com; ingress.domains)"),
    ({"ingress": {"domains": ["preview.example.com"]}}, {"host": "evilpreview.example.com"},
     "preview.yaml: url: host 'evilpreview.example.com' is outside"),
])
def test_requests_beyond_the_policy(raw: dict[str, Any], overrides: dict[str, Any],
                                    line: str) -> None:
    lines = request(rules(**raw), **overrides)
    assert len(lines) == 1 and lines[0].startswith(line), lines


def test_environment_counts() -> None:
    capped = rules(caps={"environments": {"perRepository": 2, "total": 3}})
    mine = {"preview-octo-shop-pr-1": "octo-org.shop", "preview-octo-shop-pr-2": "octo-org.shop"}
    assert enforce.environment_count_problem(capped, "octo-org.shop", "preview-octo-shop-pr-3",
                                             mine) == (
        "this repository has 2 preview environments; the platform policy allows 2 "
        "(caps.environments.perRepository)")
    # An environment that exists is upgraded whatever the count.
    assert enforce.environment_count_problem(capped, "octo-org.shop", "preview-octo-shop-pr-2",
                                             mine) is None
    full = {**mine, "preview-other-pr-1": "other.repo"}
    assert "allows 3 (caps.environments.total)" in str(enforce.environment_count_problem(
        capped, "other.repo", "preview-other-pr-2", full))
    assert enforce.environment_count_problem(policy.DEFAULT, "a.b", "ns", full) is None
