"""preview/config_files.py: what a pull request's files may reach — links and special files
in its chart, flags naming files inside its checkout — tried as a hostile pull request would."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from preview import config
from preview.errors import BadInput
from preview.tools import find_tool

SECRET = "apiVersion: v1\nkind: Config\nusers: [{name: u, user: {token: runner-secret}}]\n"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git work tree holding a chart and a preview.yaml; a secret file beside it."""
    root = tmp_path / "repo"
    (root / "chart" / "templates").mkdir(parents=True)
    (root / "chart" / "files").mkdir()
    (root / ".git").mkdir()
    (root / "chart" / "Chart.yaml").write_text("apiVersion: v2\nname: app\nversion: 0.1.0\n")
    (root / "chart" / "templates" / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: leak}\n"
        "data:\n{{ (.Files.Glob \"files/*\").AsConfig | indent 2 }}\n")
    (root / "preview.yaml").write_text("chart: {path: ./chart}\ndomain: example.com\n")
    (tmp_path / "kubeconfig").write_text(SECRET)
    return root


def load(root: Path, **flags: object) -> config.PreviewConfig:
    return config.load(root / "preview.yaml", config.ConfigOverrides(**flags),  # type: ignore[arg-type]
                       cwd=root)


def test_a_plain_chart_loads(repo: Path) -> None:
    assert load(repo).chart is not None


@pytest.mark.parametrize("link", ["chart/files/k", "chart/templates/k.yaml",
                                  "chart/charts/sub"])
def test_a_link_leaving_the_repository_is_refused_naming_it(repo: Path, link: str) -> None:
    target = repo.parent / "kubeconfig" if not link.endswith("sub") else repo.parent
    (repo / link).parent.mkdir(parents=True, exist_ok=True)
    (repo / link).symlink_to(target)
    with pytest.raises(BadInput) as caught:
        load(repo)
    shown = link.removeprefix("chart/")
    assert f"preview.yaml: chart.path: {shown} is a link to {target.resolve()}, outside the " \
        "repository" in caught.value.message, caught.value.message
    assert "runner-secret" not in caught.value.message


def test_a_link_through_a_linked_directory_is_followed(repo: Path) -> None:
    # files/more -> ../../shared (inside the repository), which holds a link out.
    shared = repo / "shared"
    shared.mkdir()
    (shared / "k").symlink_to(repo.parent / "kubeconfig")
    (repo / "chart" / "files" / "more").symlink_to(shared)
    with pytest.raises(BadInput, match=r"files/more/k is a link to .*outside"):
        load(repo)


def test_links_inside_the_repository_are_fine(repo: Path) -> None:
    (repo / "README.md").write_text("hello\n")
    (repo / "chart" / "files" / "readme").symlink_to(repo / "README.md")
    (repo / "chart" / "files" / "self").symlink_to(repo / "chart" / "files")  # a loop
    assert load(repo).chart is not None


def test_a_special_file_is_refused(repo: Path) -> None:
    os.mkfifo(repo / "chart" / "files" / "pipe")  # helm would block reading it
    with pytest.raises(BadInput, match="files/pipe is not a regular file or directory"):
        load(repo)


def test_the_chart_flag_is_checked_too(repo: Path) -> None:
    # The workflow names the chart (trusted), but its files are the pull request's.
    (repo / "chart" / "files" / "k").symlink_to(repo.parent / "kubeconfig")
    with pytest.raises(BadInput, match=r"^--chart: files/k is a link"):
        load(repo, chart=str(repo / "chart"))


def test_a_flag_naming_a_link_inside_the_checkout_is_refused(repo: Path) -> None:
    (repo / "values.yaml").symlink_to(repo.parent / "kubeconfig")
    with pytest.raises(BadInput, match="outside the repository"):
        load(repo, values_files=(repo / "values.yaml",))
    # A file outside any repository, named by the workflow, is its own business.
    outside = repo.parent / "values-ci.yaml"
    outside.write_text("replicas: 1\n")
    assert load(repo, values_files=(outside,)).values_files[-1].values == {"replicas": 1}


@pytest.mark.tools
def test_helm_would_have_read_the_link(repo: Path) -> None:
    # Why the check exists: helm follows the link and prints the outside file.
    (repo / "chart" / "files" / "k").symlink_to(repo.parent / "kubeconfig")
    shown = subprocess.run([str(find_tool("helm")), "template", "x", str(repo / "chart")],
                           capture_output=True, text=True, timeout=60).stdout
    assert "runner-secret" in shown
