"""The user's chart into the (virtual) cluster with the real helm: idempotent, upgrades in
place, recovers releases an interrupted helm left pending; chart errors before any cluster."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from preview import helm as helm_module
from preview.deploy import ChartRef, check_chart, install
from preview.deploy.release import recovery, unchanged
from preview.errors import PreviewError
from preview.sandbox.runner import Sandbox
from preview.tools import find_tool
from tests.conftest import KubectlRunner, wait_for
from tests.deploy.conftest import APP, CHARTS, Lines, history, run, virtual_cluster

pytestmark = [pytest.mark.sandbox, pytest.mark.tools]


def image_of(kubectl: KubectlRunner, namespace: str, deployment: str) -> str:
    dep = json.loads(kubectl("get", "deployment", deployment, "-n", namespace, "-o",
                             "json").stdout)
    return str(dep["spec"]["template"]["spec"]["containers"][0]["image"])


def test_same_input_twice_makes_no_revision_new_input_upgrades(
        sandbox: Sandbox, helm: KubectlRunner, kubectl: KubectlRunner) -> None:
    lines = Lines()

    async def scenario() -> list[int]:
        async with virtual_cluster(sandbox) as vc:
            chart = ChartRef(str(APP))
            first = await install(vc, chart, "app", "inst-a", {"image": "nginx:1.27"}, 60, lines)
            again = await install(vc, chart, "app", "inst-a", {"image": "nginx:1.27"}, 60, lines)
            newer = await install(vc, chart, "app", "inst-a", {"image": "nginx:1.28"}, 60, lines)
            return [first, again, newer]

    assert run(scenario()) == [1, 1, 2]
    assert "release app is up to date (revision 1)" in lines
    assert [r["status"] for r in history(helm, "app", "inst-a")] == ["superseded", "deployed"]
    assert image_of(kubectl, "inst-a", "app-web") == "nginx:1.28"


def test_template_change_without_version_bump_upgrades(
        sandbox: Sandbox, helm: KubectlRunner, kubectl: KubectlRunner, tmp_path: Path) -> None:
    chart_dir = tmp_path / "chart"
    shutil.copytree(APP, chart_dir)

    async def once() -> int:
        async with virtual_cluster(sandbox) as vc:
            # relative to base_dir, as chart.path is relative to preview.yaml
            return await install(vc, ChartRef("chart"), "app", "inst-b", {}, 60, Lines(),
                                 base_dir=tmp_path)

    assert run(once()) == 1
    template = chart_dir / "templates" / "app.yaml"
    template.write_text(template.read_text().replace(
        "labels: {app: {{ .Release.Name }}-web}", "labels: {app: {{ .Release.Name }}-web, "
        "tier: web}", 1))
    assert run(once()) == 2
    dep = json.loads(kubectl("get", "deployment", "app-web", "-n", "inst-b", "-o",
                             "json").stdout)
    assert dep["metadata"]["labels"]["tier"] == "web"


def start_helm_that_hangs(sandbox: Sandbox, release: str, namespace: str
                          ) -> subprocess.Popen[bytes]:
    """A real `helm upgrade --install --wait` that waits on pods that never become ready."""
    return subprocess.Popen(
        [str(find_tool("helm")), "--kubeconfig", sandbox.kubeconfig, "upgrade", "--install",
         release, str(APP), "-n", namespace, "--create-namespace", "--wait", "--timeout",
         "120s", "--set", "image=registry.example.com/does-not-exist:1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def kill_when(helm: KubectlRunner, proc: subprocess.Popen[bytes], release: str,
              namespace: str, status: str) -> None:
    try:
        wait_for(lambda: [r for r in history(helm, release, namespace)
                          if r["status"] == status], timeout=30, what=status)
    finally:
        proc.kill()  # SIGKILL: helm cannot finish its bookkeeping
        proc.wait()
    assert history(helm, release, namespace)[-1]["status"] == status


def test_upgrade_killed_mid_way_is_rolled_back_then_upgraded(
        sandbox: Sandbox, helm: KubectlRunner, kubectl: KubectlRunner) -> None:
    helm("install", "app", str(APP), "-n", "inst-c", "--create-namespace")
    kill_when(helm, start_helm_that_hangs(sandbox, "app", "inst-c"), "app", "inst-c",
              "pending-upgrade")
    stuck = helm("upgrade", "app", str(APP), "-n", "inst-c", check=False)
    assert "another operation" in stuck.stderr
    lines = Lines()

    async def scenario() -> int:
        async with virtual_cluster(sandbox) as vc:
            return await install(vc, ChartRef(str(APP)), "app", "inst-c",
                                 {"image": "nginx:1.28"}, 60, lines)

    revision = run(scenario())
    assert any("left pending-upgrade" in line and "rolling back to revision 1" in line
               for line in lines)
    statuses = [(r["revision"], r["status"]) for r in history(helm, "app", "inst-c")]
    assert statuses[-1] == (revision, "deployed") and revision == 4  # 2 pending, 3 rollback
    assert image_of(kubectl, "inst-c", "app-web") == "nginx:1.28"


def test_install_killed_mid_way_is_uninstalled_then_installed(
        sandbox: Sandbox, helm: KubectlRunner, kubectl: KubectlRunner) -> None:
    kill_when(helm, start_helm_that_hangs(sandbox, "app", "inst-d"), "app", "inst-d",
              "pending-install")
    lines = Lines()

    async def scenario() -> int:
        async with virtual_cluster(sandbox) as vc:
            return await install(vc, ChartRef(str(APP)), "app", "inst-d", {}, 60, lines)

    assert run(scenario()) == 1
    assert any("left pending-install" in line and "uninstalling" in line for line in lines)
    assert [r["status"] for r in history(helm, "app", "inst-d")] == ["deployed"]
    assert image_of(kubectl, "inst-d", "app-web") == "nginx:1.27"


def test_check_chart_reports_template_errors_without_a_cluster(tmp_path: Path) -> None:
    run(check_chart(ChartRef(str(APP)), "app", "default", {"replicas": 1}, tmp_path))
    with pytest.raises(PreviewError) as e:
        run(check_chart(ChartRef("broken"), "app", "default", {}, CHARTS))
    assert "values.greeting is required" in e.value.message
    assert "broken" in e.value.message and "--debug" not in e.value.message
    with pytest.raises(PreviewError) as schema:
        run(check_chart(ChartRef(str(APP)), "app", "default", {"replicas": "two"}, tmp_path))
    assert "replicas" in schema.value.message
    with pytest.raises(PreviewError) as missing:
        run(check_chart(ChartRef("no-such-chart"), "app", "default", {}, tmp_path))
    assert str(tmp_path / "no-such-chart") in missing.value.message
    assert missing.value.hint and "chart.path" in missing.value.hint


def rev(number: int, status: str) -> helm_module.Revision:
    return helm_module.Revision(number, status, "app-0.1.0", "")


@pytest.mark.parametrize(("statuses", "action"), [
    ([], None),
    (["deployed"], None),
    (["deployed", "failed"], None),
    (["pending-install"], 0),
    (["failed", "pending-upgrade"], 0),
    (["superseded", "deployed", "pending-upgrade"], 2),
    (["deployed", "pending-upgrade", "superseded", "pending-rollback"], 3),
])
def test_recovery_plan(statuses: list[str], action: int | None) -> None:
    assert recovery([rev(i + 1, s) for i, s in enumerate(statuses)]) == action


def test_unchanged_compares_chart_values_and_manifest() -> None:
    current = {"config": {"a": 1, "b": [1]}, "manifest": "---\nkind: X\n"}
    planned = {"chart": {"metadata": {"name": "app", "version": "0.1.0"}},
               "manifest": "---\nkind: X\n"}
    assert unchanged(current, planned, "app-0.1.0", {"b": [1], "a": 1})
    assert not unchanged(current, planned, "app-0.0.9", {"a": 1, "b": [1]})
    assert not unchanged(current, planned, "app-0.1.0", {"a": 2, "b": [1]})
    assert not unchanged(current, {**planned, "manifest": "---\nkind: Y\n"}, "app-0.1.0",
                         {"a": 1, "b": [1]})


def test_an_install_that_did_not_reach_the_cluster_is_tried_again(
        sandbox: Sandbox, helm: KubectlRunner, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # The first `helm upgrade --install` gets no answer from the cluster (a wrapper around
    # the real helm says so as helm would, once): install reads the release again and
    # applies it on the next attempt, saying why in its progress.
    said_once = tmp_path / "failed-once"
    wrapper = tmp_path / "helm"
    wrapper.write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = upgrade ] && [ ! -e "{said_once}" ] && '
        '! printf "%s " "$@" | grep -q -- "--dry-run"; then\n'
        f'  touch "{said_once}"\n'
        "  echo 'Error: Kubernetes cluster unreachable: Get \"https://127.0.0.1:6443/version\":"
        " net/http: TLS handshake timeout' >&2\n"
        "  exit 1\n"
        "fi\n"
        f'exec "{find_tool("helm")}" "$@"\n')
    wrapper.chmod(0o755)
    monkeypatch.setenv("PREVIEW_HELM", str(wrapper))
    lines = Lines()

    async def scenario() -> int:
        async with virtual_cluster(sandbox) as vc:
            return await install(vc, ChartRef(str(APP)), "app", "inst-retry",
                                 {"image": "nginx:1.27"}, 60, lines)

    assert run(scenario()) == 1
    assert said_once.exists()
    assert any("TLS handshake timeout): trying again (2 of 3)" in line for line in lines), lines
    assert [r["status"] for r in history(helm, "app", "inst-retry")] == ["deployed"]
