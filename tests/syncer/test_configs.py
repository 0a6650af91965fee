"""ConfigMap/Secret copies and which ones a pod references (pure)."""

from __future__ import annotations

from pathlib import Path

import yaml

from preview import naming
from preview.syncer.context import SyncContext
from preview.syncer.kinds import configs

CTX = SyncContext(vcluster="pr-7", host_namespace="preview-pr-7")
POD = yaml.safe_load((Path(__file__).parent / "fixtures" / "pod-web.yaml").read_text())


def test_copy_keeps_data_and_type() -> None:
    secret = {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
              "metadata": {"name": "tls", "namespace": "shop", "uid": "u"},
              "data": {"tls.crt": "Y3J0", "tls.key": "a2V5"}}
    out = configs.translate(secret, CTX).obj
    assert out["metadata"]["name"] == naming.host_name("tls", "shop", "pr-7")
    assert out["type"] == "kubernetes.io/tls" and out["data"] == secret["data"]
    assert naming.is_owned(out, "pr-7")


def test_referenced_names() -> None:
    config_maps, secrets = configs.referenced(POD["spec"])
    assert config_maps == {"settings"}  # kube-root-ca.crt is never synced
    assert secrets == {"db-credentials", "tls", "registry"}


def test_never_synced() -> None:
    assert not configs.syncable({"kind": "ConfigMap", "metadata": {"name": "kube-root-ca.crt"}})
    assert not configs.syncable({"kind": "Secret", "type": "helm.sh/release.v1",
                                 "metadata": {"name": "sh.helm.release.v1.x.v1"}})
    assert configs.syncable({"kind": "Secret", "type": "Opaque", "metadata": {"name": "s"}})
