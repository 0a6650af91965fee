"""One version, written once in pyproject.toml: every chart's version and appVersion, the
syncer image the vcluster chart defaults to, the name workflows/release.yml pushes it under,
the package's `__version__` and the versions the docs name all agree with it (docs/release.md).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml

import preview
from preview.tools import find_tool

ROOT = Path(__file__).resolve().parents[1]
RELEASE = ROOT / "workflows" / "release.yml"
# A version the docs name: the syncer image's tag, a pinned install, a chart's --version.
DOC_VERSIONS = re.compile(r"(?:preview-vcluster/syncer:|preview-vcluster==|--version )"
                          r"(\d+\.\d+\.\d+)")


def package_version(root: Path) -> str:
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    return str(project["version"])


def disagreements(root: Path) -> list[str]:
    """Every copy of the version under `root` that is not pyproject.toml's."""
    version = package_version(root)
    found = []
    for chart_file in sorted(root.glob("charts/*/Chart.yaml")):
        chart = yaml.safe_load(chart_file.read_text())
        for key in ("version", "appVersion"):
            if str(chart.get(key)) != version:
                found.append(f"{chart_file.relative_to(root)}: {key} {chart.get(key)!r}")
    for doc in sorted([root / "README.md", *root.glob("docs/*.md")]):
        for number, line in enumerate(doc.read_text().splitlines(), 1):
            for match in DOC_VERSIONS.finditer(line):
                if match.group(1) != version:
                    found.append(f"{doc.relative_to(root)}:{number}: {match.group(0)}")
    return found


def test_pyproject_charts_and_docs_agree() -> None:
    assert disagreements(ROOT) == []


def test_a_chart_or_a_doc_that_disagrees_is_found(tmp_path: Path) -> None:
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    shutil.copytree(ROOT / "charts", tmp_path / "charts")
    (tmp_path / "docs").mkdir()
    (tmp_path / "README.md").write_text("`pipx install preview-vcluster==9.9.9`\n")
    assert disagreements(tmp_path) == ["README.md:1: preview-vcluster==9.9.9"]
    chart_file = tmp_path / "charts" / "vcluster" / "Chart.yaml"
    chart_file.write_text(chart_file.read_text().replace('appVersion: "', 'appVersion: "9.'))
    assert disagreements(tmp_path)[0].startswith("charts/vcluster/Chart.yaml: appVersion '9.")


def test_the_package_reports_the_pyproject_version() -> None:
    assert preview.__version__ == package_version(ROOT)


@pytest.mark.tools
def test_the_chart_defaults_to_the_image_the_release_pushes() -> None:
    """What `helm template` renders for the syncer, with no values, is the image the release
    workflow pushes, at the package's version."""
    rendered = subprocess.run([str(find_tool("helm")), "template", "x", str(ROOT / "charts" /
                               "vcluster"), "--namespace", "ns", "--show-only",
                               "templates/statefulset.yaml"],
                              capture_output=True, text=True, timeout=120, check=True).stdout
    statefulset = yaml.safe_load(rendered)
    [syncer] = [c for c in statefulset["spec"]["template"]["spec"]["containers"]
                if c["name"] == "syncer"]
    pushed = yaml.safe_load(RELEASE.read_text())["env"]["IMAGE"]
    assert syncer["image"] == f"{pushed}:{package_version(ROOT)}"


def test_the_release_runs_on_a_version_tag_and_checks_it() -> None:
    workflow = yaml.safe_load(RELEASE.read_text())
    assert workflow[True] == {"push": {"tags": ["v[0-9]+.[0-9]+.[0-9]+"]}}
    jobs = workflow["jobs"]
    checks = "\n".join(str(s.get("run", "")) for s in jobs["version"]["steps"])
    assert '"$TAG" != "v$version"' in checks and "tests/test_release.py" in checks
    assert jobs["pypi"]["permissions"] == {"id-token": "write"}  # trusted publishing, no token
    assert not any("password" in (s.get("with") or {}) for s in jobs["pypi"]["steps"])
    build = next(s for s in jobs["image"]["steps"] if s.get("id") == "build")
    assert build["with"]["platforms"] == "linux/amd64,linux/arm64"
    assert build["with"]["sbom"] is True and build["with"]["provenance"] == "mode=max"
    assert "cosign sign --yes" in "\n".join(str(s.get("run", "")) for s in jobs["image"]["steps"])
    assert set(jobs["release"]["needs"]) == {"version", "pypi", "image", "charts"}
