"""The platform policy through `preview up`, as a hostile pull request would try it, on the
host sandbox with the real helm: every refusal comes before anything exists on the host."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client

from preview import naming
from preview.sandbox.runner import Sandbox
from tests.operations.test_environments import SHA1, namespace_of, preview, up

pytestmark = [pytest.mark.sandbox, pytest.mark.tools]
ROOT = Path(__file__).resolve().parents[2]
HOSTILE = {
    "syncer.image": "vcluster: {syncer: {image: 'attacker.example/evil:latest'}}",
    "syncer.extraArgs": "vcluster: {syncer: {extraArgs: ['--allow=all']}}",
    "isolation.podSecurity": "vcluster: {isolation: {podSecurity: privileged}}",
    "isolation.ingress.allowedHosts": "vcluster: {isolation: {ingress: {allowedHosts: ['*']}}}",
    "sync.allow": "vcluster: {sync: {allow: [host-path, privileged, host-namespaces, "
                  "capabilities]}}",
}


def app_repository(tmp_path: Path, extra: str) -> Path:
    """A repository holding the example app's chart and a preview.yaml with `extra`."""
    shutil.copytree(ROOT / "examples" / "app" / "chart", tmp_path / "chart")
    config = tmp_path / "preview.yaml"
    config.write_text((ROOT / "examples" / "app" / "preview.yaml").read_text() + extra + "\n")
    return config


@pytest.mark.parametrize("key", sorted(HOSTILE))
def test_each_hostile_key_alone_is_refused_and_nothing_is_created(
        sandbox: Sandbox, api_client: client.ApiClient, tmp_path: Path, key: str) -> None:
    config = app_repository(tmp_path, HOSTILE[key])
    result = preview(sandbox, "up", "--config", str(config), "--repo", "example/hostile",
                     "--pr", "21", "--sha", SHA1, code=2)
    lines = [line for line in result.stderr.splitlines() if "vcluster." in line]
    assert lines and all(f"vcluster.{key}" in line for line in lines), result.stderr
    assert "docs/policy.md" in result.stderr
    env = naming.environment_for("example", "hostile", 21)
    assert namespace_of(client.CoreV1Api(api_client), env.namespace) is None


def test_a_quota_above_the_cap_is_refused(sandbox: Sandbox, api_client: client.ApiClient,
                                          tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("caps:\n  quota: {pods: 20}\n")
    config = app_repository(tmp_path, "vcluster: {isolation: {quota: {pods: 21}}}")
    result = preview(sandbox, "up", "--config", str(config), "--repo", "example/greedy",
                     "--pr", "22", "--sha", SHA1, "--policy", str(policy), code=2)
    assert f"error: {config}: vcluster.isolation.quota.pods: 21 is above the platform " \
           "policy's cap 20 (caps.quota.pods)" in result.stderr, result.stderr
    env = naming.environment_for("example", "greedy", 22)
    assert namespace_of(client.CoreV1Api(api_client), env.namespace) is None


def test_a_policy_file_with_a_typo_names_the_field(sandbox: Sandbox, tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("podSecuirty: {minimum: restricted}\n")
    config = app_repository(tmp_path, "")
    result = preview(sandbox, "up", "--config", str(config), "--repo", "example/typo",
                     "--pr", "23", "--sha", SHA1, "--policy", str(policy), code=2)
    assert f"{policy}: podSecuirty: unknown key 'podSecuirty' — did you mean 'podSecurity'?" \
        in result.stderr, result.stderr


def test_the_policy_lets_through_what_it_allows_and_decides_the_rest(
        sandbox: Sandbox, api_client: client.ApiClient, tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(textwrap.dedent("""\
        syncer:
          image: registry.internal/preview-syncer:1.2.3
        sync:
          relaxable: [host-path]
        caps:
          quota: {pods: 30}
          environments: {perRepository: 1}
        """))
    # One rule more than the policy allows: refused, naming that rule only.
    config = app_repository(tmp_path, "vcluster: {sync: {allow: [host-path, privileged]}, "
                                      "isolation: {quota: {pods: 10}}}")
    refused = preview(sandbox, "up", "--config", str(config), "--repo", "example/lenient",
                      "--pr", "24", "--sha", SHA1, "--policy", str(policy), code=2)
    assert "'privileged' may not be relaxed" in refused.stderr
    assert "'host-path'" not in refused.stderr
    config.write_text(config.read_text().replace("host-path, privileged", "host-path"))
    result = up(sandbox, config, "example/lenient", 24, SHA1, "--policy", str(policy))
    assert result["status"] == "ready", result
    env = naming.environment_for("example", "lenient", 24)
    core = client.CoreV1Api(api_client)
    quota = core.read_namespaced_resource_quota(f"vc-{env.vcluster}", env.namespace)
    assert quota.spec.hard["pods"] == "11"  # the tenant's 10 and the control plane's pod
    sts: Any = client.AppsV1Api(api_client).read_namespaced_stateful_set(env.vcluster,
                                                                         env.namespace)
    syncer = next(c for c in sts.spec.template.spec.containers if c.name == "syncer")
    assert syncer.image == "registry.internal/preview-syncer:1.2.3"
    assert [a for a in syncer.args if a.startswith("--allow=")] == ["--allow=host-path"]
    assert [a for a in syncer.args if a.startswith("--allowed-host=")] == \
        [f"--allowed-host={result['url'].split('://')[1].split(':')[0]}"]
    labels = core.read_namespace(env.namespace).metadata.labels
    assert labels["pod-security.kubernetes.io/enforce"] == "baseline"
    # The repository's one environment exists: a second pull request's is refused.
    second = preview(sandbox, "up", "--config", str(config), "--repo", "example/lenient",
                     "--pr", "25", "--sha", SHA1, "--policy", str(policy), code=2)
    assert "allows 1 (caps.environments.perRepository)" in second.stderr
    other = naming.environment_for("example", "lenient", 25)
    assert namespace_of(core, other.namespace) is None
    preview(sandbox, "down", "--repo", "example/lenient", "--pr", "24")


def test_the_policy_comes_from_the_environment_too(sandbox: Sandbox, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(yaml.safe_dump({"repositories": ["example/allowed-*"]}))
    monkeypatch.setenv("PREVIEW_POLICY", str(policy))
    config = app_repository(tmp_path, "")
    result = preview(sandbox, "up", "--config", str(config), "--repo", "example/other",
                     "--pr", "26", "--sha", SHA1, code=2)
    assert "repository example/other: the platform policy does not preview it" in result.stderr


def test_the_policys_template_budget_bounds_rendering(sandbox: Sandbox, tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("templates: {valueBytes: 100}\n")
    config = app_repository(tmp_path, "")
    config.write_text(config.read_text().replace(
        'branch: "{{ pr.branch }}"', "branch: \"{{ 'x' * 200 }}\""))
    result = preview(sandbox, "up", "--config", str(config), "--repo", "example/budget",
                     "--pr", "27", "--sha", SHA1, "--policy", str(policy), code=2)
    assert "values.pr.branch" in result.stderr and "100" in result.stderr, result.stderr
    # Without the policy the default 64 KiB holds it.
    preview(sandbox, "up", "--config", str(config), "--repo", "example/budget", "--pr", "27",
            "--sha", SHA1)
    preview(sandbox, "down", "--repo", "example/budget", "--pr", "27")
