"""The policy file (preview/policy/model.py): its schema, defaults, and agreement with the
chart whose values it governs."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from preview import policy
from preview.policy import enforce, quantity
from preview.policy.model import (
    DEFAULT_PULL_REQUEST_KEYS,
    MANAGED_ELSEWHERE,
    NEVER_FROM_PULL_REQUEST,
    chart_value_paths,
)
from preview.vcluster.model import chart_path

CHART_VALUES = yaml.safe_load((chart_path() / "values.yaml").read_text())


def problems_of(raw: dict[str, object]) -> list[str]:
    with pytest.raises(policy.PolicyError) as caught:
        policy.parse(raw, "policy.yaml")
    return list(caught.value.problems)


def test_without_a_file_the_defaults_apply() -> None:
    rules = policy.load(None)
    assert rules is policy.DEFAULT
    assert rules.pod_security.minimum == "baseline"
    assert rules.sync.relaxable == ()
    assert rules.syncer.image == ""  # the chart's own image
    assert rules.pull_request.vcluster_keys == DEFAULT_PULL_REQUEST_KEYS


def test_a_typo_names_the_field_and_suggests_the_key(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text("podSecuirty:\n  minimum: restricted\n")
    with pytest.raises(policy.PolicyError) as caught:
        policy.load(path)
    assert caught.value.problems == (
        f"{path}: podSecuirty: unknown key 'podSecuirty' — did you mean 'podSecurity'? "
        "valid keys here: repositories, syncer, podSecurity, sync, ingress, caps, charts, "
        "pullRequest, templates, bundles, vcluster, api, developers, cost, sleepAfter, "
        "keepAwakeLabel, wakePage",)
    assert "docs/policy.md" in caught.value.hint


@pytest.mark.parametrize(("raw", "fragment"), [
    ({"podSecurity": {"minimum": "lenient"}}, "podSecurity.minimum: 'lenient' is not allowed"),
    ({"sync": {"relaxable": ["host-pth"]}}, "did you mean 'host-path'?"),
    ({"caps": {"quota": {"requests": {"cpu": "ten"}}}}, "caps.quota.requests.cpu: 'ten' is "
                                                        "not a quantity"),
    ({"caps": {"ttl": "forever"}}, "caps.ttl: "),
    ({"caps": {"environments": {"perRepository": 0}}}, "caps.environments.perRepository"),
    ({"ingress": {"domains": ["*.example.com"]}}, "is not a DNS domain"),
    ({"wakePage": {"service": "Preview_Platform"}}, "is neither a DNS name nor an IP address"),
    ({"wakePage": {"service": "p.example", "port": 0}}, "wakePage.port"),
    ({"pullRequest": {"vclusterKeys": ["sync.nodeSelectr"]}},
     "did you mean 'sync.nodeSelector'?"),
    ({"pullRequest": {"vclusterKeys": ["syncer.env"]}}, "only the policy decides"),
    ({"pullRequest": {"vclusterKeys": ["syncer"]}}, "would let a pull request set syncer.image"),
    ({"vcluster": {"sync": {"allow": ["privileged"]}}}, "set sync.relaxable instead"),
    ({"syncer": {"image": "evil image"}}, "is not an image reference"),
    ({"api": {"issuer": "http://token.actions.githubusercontent.com"}}, "is not an issuer URL"),
    ({"api": {"issuer": "https://token.actions.githubusercontent.com/"}},
     "without a trailing slash"),
    ({"api": {"jobWorkflowRefs": ["preview.yml"]}}, "is not a job_workflow_ref"),
    ({"api": {"audience": "a b"}}, "is not an audience"),
    ({"api": {"audiance": "https://preview.example.com"}}, "did you mean 'audience'?"),
])
def test_bad_policies_name_the_field(raw: dict[str, object], fragment: str) -> None:
    problems = problems_of(raw)
    assert len(problems) == 1 and problems[0].startswith("policy.yaml: ")
    assert fragment in problems[0], problems


def test_the_quota_caps_default_to_the_charts_quota() -> None:
    quota = dict(CHART_VALUES["isolation"]["quota"])
    assert quota.pop("enabled") is True
    assert policy.DEFAULT.caps.quota.model_dump(by_alias=True) == quota


def test_every_key_the_policy_names_is_a_value_of_the_chart() -> None:
    paths = chart_value_paths()
    named = (*DEFAULT_PULL_REQUEST_KEYS, *NEVER_FROM_PULL_REQUEST, *MANAGED_ELSEWHERE)
    assert [key for key in named if key not in paths] == []
    # The defaults are validated like a policy file's own keys.
    assert policy.parse({"pullRequest": {"vclusterKeys": list(DEFAULT_PULL_REQUEST_KEYS)}},
                        "p").pull_request.vcluster_keys == DEFAULT_PULL_REQUEST_KEYS


def _leaf_paths(values: dict[str, object], prefix: str = "") -> list[str]:
    out: list[str] = []
    for key, value in values.items():
        if isinstance(value, dict) and value:
            out += _leaf_paths(value, f"{prefix}{key}.")
        else:
            out.append(f"{prefix}{key}")
    return out


def test_a_new_chart_value_cannot_slip_past_the_policy() -> None:
    # Derived from the chart, not listed here: every value charts/vcluster has (values.yaml
    # and every key its schema declares), set by a pull request, is refused unless it is
    # under a key the default policy lets a pull request set.
    keys = set(_leaf_paths(CHART_VALUES)) | chart_value_paths()
    allowed = DEFAULT_PULL_REQUEST_KEYS
    refused = []
    for key in sorted(keys):
        value: dict[str, object] = {}
        target = value
        *parents, last = key.split(".")
        for part in parents:
            target = target.setdefault(part, {})  # type: ignore[assignment]
        target[last] = "x"
        lines = enforce.check_vcluster(policy.DEFAULT, value, "preview.yaml")
        under = any(key == a or key.startswith(a + ".") for a in allowed)
        if not under:
            assert len(lines) == 1 and f"vcluster.{key}: " in lines[0], (key, lines)
            refused.append(key)
        else:
            assert not any("may set" in line or "set by the platform" in line
                           for line in lines), (key, lines)
    assert "syncer.image" in refused and "isolation.ingress.allowedHosts" in refused
    assert len(refused) > 100  # the chart has many values a PR may not touch


@pytest.mark.parametrize(("text", "number"), [
    ("500m", Decimal("0.5")), ("2", Decimal(2)), (2, Decimal(2)), ("1.5", Decimal("1.5")),
    ("512Mi", Decimal(512 * 2**20)), ("20Gi", Decimal(20 * 2**30)), ("1k", Decimal(1000)),
    ("1e3", Decimal(1000)), ("100M", Decimal(10**8)), (".5", Decimal("0.5")),
])
def test_quantities(text: object, number: Decimal) -> None:
    assert quantity.parse(text) == number


@pytest.mark.parametrize("text", ["", "ten", "1Gb", "1 Gi", "--1", True, None, [1]])
def test_not_quantities(text: object) -> None:
    with pytest.raises(ValueError):
        quantity.parse(text)


def test_the_template_budget_is_the_policys() -> None:
    from preview import config, templating

    assert config.template_budget(policy.DEFAULT) == templating.DEFAULT_BUDGET
    tight = policy.parse({"templates": {"valueBytes": 100, "secondsPerFile": 0.5}}, "p")
    budget = config.template_budget(tight)
    assert (budget.value_bytes, budget.seconds_per_file, budget.file_bytes) == \
        (100, 0.5, 1024 * 1024)
