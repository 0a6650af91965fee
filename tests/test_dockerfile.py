"""The image carries the helm the tests run, checked against a checksum per architecture."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from preview.tools import find_tool

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = (ROOT / "Dockerfile").read_text()


def _arg(name: str) -> str:
    match = re.search(rf"^ARG {name}=(\S+)$", DOCKERFILE, re.M)
    assert match, name
    return match.group(1)


@pytest.mark.tools
def test_the_image_helm_is_the_tested_one() -> None:
    tested = subprocess.run([str(find_tool("helm")), "version", "--short"],
                            capture_output=True, text=True, check=True).stdout
    assert tested.startswith(_arg("HELM_VERSION") + "+"), tested


def test_each_architecture_is_checked_before_use() -> None:
    for arch in ("amd64", "arm64"):
        assert re.fullmatch(r"[0-9a-f]{64}", _arg(f"HELM_SHA256_{arch}"))
    run = DOCKERFILE[DOCKERFILE.index("FROM python:3.11.13-slim-bookworm AS helm"):]
    assert run.index("sha256sum -c -") < run.index("tar -xzf")  # verified, then unpacked
    assert "exit 1" in run  # an architecture without a checksum fails the build
    assert "COPY --from=helm /usr/local/bin/helm /usr/local/bin/helm" in DOCKERFILE
