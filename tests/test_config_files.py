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


def test_a_refusal_names_the_flag_the_path_as_given_and_the_way_out(repo: Path) -> None:
    (repo / "values.yaml").symlink_to(repo.parent / "kubeconfig")
    with pytest.raises(BadInput) as caught:
        load(repo, values_files=(repo / "values.yaml",))
    assert caught.value.message.startswith(f"--values: {str(repo / 'values.yaml')!r} is "
                                           f"outside the repository ({repo})")
    assert "so it may only name files of the repository; pass others as flags" in \
        (caught.value.hint or "")


def test_outside_any_repository_a_flag_may_name_a_link_to_anywhere(repo: Path) -> None:
    # Only a repository's files are the pull request's: a workflow's own file, outside any
    # checkout, may be a link elsewhere (a mounted secret, a generated file).
    (repo.parent / "ci").mkdir()
    (repo.parent / "elsewhere").mkdir()
    (repo.parent / "elsewhere" / "values.yaml").write_text("replicas: 2\n")
    (repo.parent / "ci" / "values.yaml").symlink_to(repo.parent / "elsewhere" / "values.yaml")
    loaded = load(repo, values_files=(repo.parent / "ci" / "values.yaml",))
    assert loaded.values_files[-1].values == {"replicas": 2}


def test_a_refused_link_says_to_replace_it_with_the_file(repo: Path) -> None:
    (repo / "chart" / "files" / "k").symlink_to(repo.parent / "kubeconfig")
    with pytest.raises(BadInput) as caught:
        load(repo)
    assert "may only hold files of its repository: replace the link with the file itself" \
        in (caught.value.hint or "")


def test_a_special_file_refusal_says_what_a_chart_may_hold(repo: Path) -> None:
    os.mkfifo(repo / "chart" / "files" / "pipe")
    with pytest.raises(BadInput) as caught:
        load(repo)
    assert "only files and directories (no FIFOs, sockets or devices)" in \
        (caught.value.hint or "")


def test_a_link_loop_does_not_end_the_walk(repo: Path) -> None:
    # The loop (z-loop -> the chart itself) is met before a-dir is walked; a-dir's link
    # out must still be found.
    (repo / "chart" / "files" / "a-dir").mkdir()
    (repo / "chart" / "files" / "a-dir" / "k").symlink_to(repo.parent / "kubeconfig")
    (repo / "chart" / "files" / "z-loop").symlink_to(repo / "chart")
    with pytest.raises(BadInput, match=r"files/a-dir/k is a link to .*outside"):
        load(repo)


def test_a_linked_directory_does_not_end_its_directory(repo: Path) -> None:
    # files/a -> the repository's docs/ (fine); files/b, after it, leaves the repository.
    (repo / "docs").mkdir()
    (repo / "chart" / "files" / "a").symlink_to(repo / "docs")
    (repo / "chart" / "files" / "b").symlink_to(repo.parent / "kubeconfig")
    with pytest.raises(BadInput, match=r"files/b is a link to .*outside"):
        load(repo)


def test_a_link_to_a_special_file_in_the_repository_is_refused(repo: Path) -> None:
    os.mkfifo(repo / "pipe")
    (repo / "chart" / "files" / "p").symlink_to(repo / "pipe")
    with pytest.raises(BadInput, match="files/p is not a regular file or directory"):
        load(repo)


def test_a_dangling_link_in_the_repository_is_left_to_helm(repo: Path) -> None:
    # Nothing to read, nothing to leak: helm says what is missing when it loads the chart.
    (repo / "chart" / "files" / "gone").symlink_to(repo / "no-such-file")
    assert load(repo).chart is not None
