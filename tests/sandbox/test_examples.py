"""The example charts: valid, and they run on the host sandbox as `preview up` will run them."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from kubernetes import client

from preview import config as preview_config
from preview.naming import environment_for
from preview.pullrequest import PullRequest
from preview.syncer import podsecurity
from tests.conftest import KubectlRunner, wait_for

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.parametrize("example", ["app", "stateful"])
def test_preview_yaml_points_at_its_chart(example: str, helm: KubectlRunner) -> None:
    config = yaml.safe_load((EXAMPLES / example / "preview.yaml").read_text())
    chart = EXAMPLES / example / config["chart"]["path"]
    assert (chart / "Chart.yaml").is_file()
    assert config["domain"] == "localhost"
    assert config["url"] == "http://{{ env.name }}-{{ repo.name }}.{{ domain }}"
    helm("lint", str(chart), "--strict", "--set", "ingress.host=pr-1-app.localhost")


@pytest.mark.parametrize("example", ["app", "stateful"])
def test_examples_pass_the_restricted_pod_security_standard(example: str,
                                                            helm: KubectlRunner) -> None:
    """A platform may set `podSecurity.minimum: restricted`: the examples still run there,
    as the syncer judges them (and the host's admission would)."""
    rendered = helm("template", "demo", str(EXAMPLES / example / "chart"),
                    "--set", "ingress.host=pr-1-app.localhost").stdout
    templates = [d["spec"]["template"] for d in yaml.safe_load_all(rendered)
                 if d and d["kind"] in ("Deployment", "StatefulSet")]
    assert templates
    for template in templates:
        annotations = template["metadata"].get("annotations") or {}
        assert podsecurity.check(template["spec"], annotations, "restricted") == []


def test_app_example_renders_for_pr_1() -> None:
    """`./dev sandbox` runs the example as PR #1 of example/app: its URL and values."""
    loaded = preview_config.load(EXAMPLES / "app" / "preview.yaml")
    pr = PullRequest("example", "app", 1, "0123456789abcdef0123456789abcdef01234567",
                     "feature/<b>x</b>", "octocat")
    rendered = preview_config.render(loaded, pr, environment_for("example", "app", 1))
    assert (rendered.url, rendered.host) == ("http://pr-1-app.localhost", "pr-1-app.localhost")
    assert rendered.values == {"pr": {"number": "1", "sha": "0123456", "branch":
                                      "feature/<b>x</b>"},
                               "ingress": {"host": "pr-1-app.localhost"}}
    assert loaded.chart is not None and loaded.chart.path == EXAMPLES / "app" / "chart"


@pytest.mark.sandbox
def test_stateful_example_gets_a_volume_per_replica(helm: KubectlRunner, kubectl: KubectlRunner,
                                                   namespace: str,
                                                   core: client.CoreV1Api) -> None:
    helm("install", "files", str(EXAMPLES / "stateful" / "chart"), "-n", namespace, "--wait",
         "--timeout", "60s")
    claims = wait_for(lambda: [c for c in core.list_namespaced_persistent_volume_claim(
        namespace).items if c.status and c.status.phase == "Bound"], 30, 0.1, "bound claims")
    assert sorted(c.metadata.name for c in claims) == ["data-files-0", "data-files-1"]
    # Each replica is a real python http.server on its own volume (a directory here).
    listing = core.connect_get_namespaced_pod_proxy_with_path("files-0:8080", namespace, "")
    assert "Directory listing" in listing
    helm("uninstall", "files", "-n", namespace, "--wait", "--timeout", "60s")
    # As on a real cluster, the claims outlive the StatefulSet (retention policy Retain):
    # `preview down` removes them with the namespace.
    assert len(core.list_namespaced_persistent_volume_claim(namespace).items) == 2
