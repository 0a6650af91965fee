"""The real helm v4 (server-side apply by default) against the sandbox: install to uninstall."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from tests.conftest import KubectlRunner

pytestmark = [pytest.mark.sandbox, pytest.mark.tools]


def write_chart(root: Path) -> Path:
    chart = root / "demo"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: demo\nversion: 0.1.0\n")
    (chart / "values.yaml").write_text("image: nginx:1.27\nreplicas: 1\ncolor: blue\n")
    (chart / "templates" / "all.yaml").write_text(textwrap.dedent("""\
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: {{ .Release.Name }}-settings
        data:
          color: {{ .Values.color }}
        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: {{ .Release.Name }}-web
        spec:
          replicas: {{ .Values.replicas }}
          selector:
            matchLabels: {app: {{ .Release.Name }}}
          template:
            metadata:
              labels: {app: {{ .Release.Name }}}
            spec:
              containers:
              - name: web
                image: {{ .Values.image }}
                ports: [{containerPort: 80}]
        ---
        apiVersion: v1
        kind: Service
        metadata:
          name: {{ .Release.Name }}-web
        spec:
          selector: {app: {{ .Release.Name }}}
          ports: [{port: 80, targetPort: 80}]
        """))
    return chart


def test_install_upgrade_rollback_uninstall(helm: KubectlRunner, kubectl: KubectlRunner,
                                            namespace: str, tmp_path: Path) -> None:
    chart = write_chart(tmp_path)
    helm("install", "r1", str(chart), "-n", namespace)
    dep = json.loads(kubectl("get", "deployment", "r1-web", "-n", namespace, "-o", "json",
                             "--show-managed-fields").stdout)
    assert dep["spec"]["replicas"] == 1
    assert any(m["operation"] == "Apply" for m in dep["metadata"]["managedFields"])

    helm("upgrade", "r1", str(chart), "-n", namespace, "--set", "replicas=3",
         "--set", "color=green")
    dep = json.loads(kubectl("get", "deployment", "r1-web", "-n", namespace, "-o",
                             "json").stdout)
    assert dep["spec"]["replicas"] == 3 and dep["metadata"]["generation"] == 2
    cm = json.loads(kubectl("get", "configmap", "r1-settings", "-n", namespace, "-o",
                            "json").stdout)
    assert cm["data"] == {"color": "green"}

    helm("rollback", "r1", "1", "-n", namespace)
    dep = json.loads(kubectl("get", "deployment", "r1-web", "-n", namespace, "-o",
                             "json").stdout)
    assert dep["spec"]["replicas"] == 1

    history = json.loads(helm("history", "r1", "-n", namespace, "-o", "json").stdout)
    assert [h["revision"] for h in history] == [1, 2, 3]

    helm("uninstall", "r1", "-n", namespace)
    left = kubectl("get", "deployments,services,configmaps,secrets", "-n", namespace,
                   "-l", "app.kubernetes.io/managed-by!=nothing", "-o", "name").stdout.split()
    assert not [name for name in left if "r1" in name]
    assert json.loads(helm("list", "-n", namespace, "-o", "json").stdout) == []
