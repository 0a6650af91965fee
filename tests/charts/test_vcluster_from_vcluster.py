"""A vCluster file and our equivalent values render the same chart (charts/vcluster through
preview/vcluster/vclusterconfig.py; real helm, no cluster)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from preview.vcluster.vclusterconfig import translate
from tests.charts.test_vcluster_chart import one, render

pytestmark = pytest.mark.tools

# vcluster.yaml (vCluster ≥0.20): the acceptance file of issue 30.
VCLUSTER_YAML = """\
sync:
  toHost:
    ingresses: {enabled: true}
  fromHost:
    nodes: {enabled: true}
policies:
  podSecurityStandard: restricted
  limitRange:
    enabled: true
    default: {cpu: 500m, memory: 1Gi}
    defaultRequest: {cpu: 50m}
  networkPolicy:
    enabled: true
"""
# The same cluster in our values: vCluster's defaults for what the file left out of its
# LimitRange (defaultRequest.memory 128Mi) are written out.
OURS = """\
sync:
  kinds: {ingresses: true}
  nodes: real
isolation:
  podSecurity: restricted
  limitRange:
    enabled: true
    default: {cpu: 500m, memory: 1Gi}
    defaultRequest: {cpu: 50m, memory: 128Mi}
  networkPolicy:
    enabled: true
"""


def write(tmp_path: Path, name: str, values: dict[str, Any]) -> str:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(values))
    return str(path)


def test_a_vcluster_yaml_renders_as_our_equivalent_values(tmp_path: Path) -> None:
    translated = translate(yaml.safe_load(VCLUSTER_YAML)).merged
    assert translated == yaml.safe_load(OURS)
    theirs = render("-f", write(tmp_path, "translated.yaml", translated))
    ours = render("-f", write(tmp_path, "ours.yaml", yaml.safe_load(OURS)))
    assert theirs == ours
    assert theirs != render()  # and it is not simply the defaults
    assert one(theirs, "ClusterRole")  # real nodes: the ClusterRole that reads them


def test_convert_prints_values_the_chart_takes(tmp_path: Path) -> None:
    source = tmp_path / "vcluster.yaml"
    source.write_text(textwrap.dedent(VCLUSTER_YAML))
    out = subprocess.run([sys.executable, "-m", "preview", "vcluster", "convert", str(source)],
                         capture_output=True, text=True, timeout=60, check=True)
    assert yaml.safe_load(out.stdout) == yaml.safe_load(OURS)
    assert f"{source}: policies.podSecurityStandard → isolation.podSecurity" in out.stderr
    converted = tmp_path / "values.yaml"
    converted.write_text(out.stdout)
    assert render("-f", str(converted)) == render("-f", write(tmp_path, "ours.yaml",
                                                              yaml.safe_load(OURS)))


def test_convert_refuses_what_has_no_equivalent(tmp_path: Path) -> None:
    source = tmp_path / "vcluster.yaml"
    source.write_text("controlPlane: {distro: {k8s: {enabled: true}}}\n")
    out = subprocess.run([sys.executable, "-m", "preview", "vcluster", "convert", str(source)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and out.stdout == ""
    assert (f"{source}: controlPlane.distro.k8s: vCluster's key has no equivalent in "
            "charts/vcluster: the control plane is always k3s") in out.stderr
    assert "Traceback" not in out.stderr
