"""Finding helm and kubectl: env override, then PATH, then the project's tools dir."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from preview.errors import PreviewError
from preview.tools import find_tool


def executable(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755)
    return path


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.delenv("PREVIEW_HELM", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "empty-path"))
    monkeypatch.setenv("PREVIEW_TOOLS_DIR", str(tmp_path / "tools"))
    return tmp_path


def test_env_override_wins(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    chosen = executable(clean_env / "custom" / "my-helm")
    executable(clean_env / "empty-path" / "helm")
    monkeypatch.setenv("PREVIEW_HELM", str(chosen))
    assert find_tool("helm") == chosen


def test_env_override_must_be_executable(clean_env: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PREVIEW_HELM", str(clean_env / "missing"))
    with pytest.raises(PreviewError) as e:
        find_tool("helm")
    assert "PREVIEW_HELM" in str(e.value) and e.value.hint


def test_path_before_tools_dir(clean_env: Path) -> None:
    on_path = executable(clean_env / "empty-path" / "helm")
    executable(clean_env / "tools" / "bin" / "helm")
    assert find_tool("helm") == on_path


def test_tools_dir_last(clean_env: Path) -> None:
    local = executable(clean_env / "tools" / "bin" / "helm")
    assert find_tool("helm") == local


def test_missing_everywhere_names_the_fix(clean_env: Path) -> None:
    with pytest.raises(PreviewError) as e:
        find_tool("helm")
    assert e.value.hint and "./dev setup" in e.value.hint
    assert os.fspath(clean_env / "tools" / "bin" / "helm") in str(e.value)
