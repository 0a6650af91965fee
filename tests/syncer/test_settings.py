"""`preview syncer`'s flags → the syncer's configuration (preview/syncer/settings.py): pure."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from preview.errors import BadInput
from preview.syncer import settings
from preview.syncer.context import DEFAULT_DENIED_ANNOTATIONS, KINDS
from preview.syncer.main import SyncerConfig


def config(**flags: Any) -> SyncerConfig:
    return settings.syncer_config(**{"name": "pr-7", "host_namespace": "preview-pr-7",
                                     "virtual_kubeconfig": Path("/k3s/admin.yaml"), **flags})


def test_defaults() -> None:
    c = config()
    assert (c.context.vcluster, c.context.host_namespace) == ("pr-7", "preview-pr-7")
    assert c.options.kinds == KINDS
    assert c.context.isolation.denied_annotations == DEFAULT_DENIED_ANNOTATIONS
    assert c.context.isolation.relaxed == frozenset()
    assert c.host_kubeconfig is None and c.kubeconfig_secret == ""


def test_every_flag_lands_in_its_field() -> None:
    c = config(kinds="pods, services,,", storage_classes=("standard=fast-ssd", "=standard"),
               node_selector=("pool=tenants",), tolerations=("dedicated=tenants:NoSchedule",
                                                             "spot"),
               extra_labels=("team=shop", "cost-center=4711"), allowed=("host-path",),
               allowed_hosts=("*.pr-7.example.com",), denied_annotations=("x/*",),
               priority_classes=("low",), kubeconfig_secret="vc-kubeconfig",
               kubeconfig_server="https://pr-7.ns.svc:443", workers=3, node_sync="real",
               events=False, kubelet_port=10250, advertise_address="10.0.0.5", dns_port=53)
    assert c.options.kinds == ("pods", "services")
    assert c.context.storage_classes == (("standard", "fast-ssd"), ("", "standard"))
    assert c.context.node_selector == (("pool", "tenants"),)
    assert c.context.tolerations == (
        (("effect", "NoSchedule"), ("key", "dedicated"), ("operator", "Equal"),
         ("value", "tenants")),
        (("key", "spot"), ("operator", "Exists")))
    assert c.context.extra_labels == (("team", "shop"), ("cost-center", "4711"))
    assert c.context.isolation.relaxed == frozenset({"host-path"})
    assert c.context.isolation.allowed_hosts == ("*.pr-7.example.com",)
    assert c.context.isolation.denied_annotations == ("x/*",)
    assert c.context.isolation.allowed_priority_classes == ("low",)
    assert (c.kubeconfig_secret, c.kubeconfig_server) == ("vc-kubeconfig",
                                                          "https://pr-7.ns.svc:443")
    assert (c.options.workers, c.options.node_sync, c.options.events) == (3, "real", False)
    assert (c.options.kubelet_address, c.options.kubelet_port, c.kubelet_port) == (
        "10.0.0.5", 10250, 10250)
    assert c.dns_port == 53


@pytest.mark.parametrize(("flags", "flag", "fix"), [
    ({"kinds": "pods,deployments"}, "--sync", "choose from pods"),
    ({"storage_classes": ("standard",)}, "--storage-class", "--storage-class standard="),
    ({"node_selector": ("pool",)}, "--node-selector", "--node-selector pool="),
    ({"extra_labels": ("team",)}, "--extra-label", "--extra-label team="),
    ({"extra_labels": ("preview-vcluster.io/vcluster=x",)}, "--extra-label", "outside"),
    ({"tolerations": ("=x",)}, "--toleration", "KEY[=VALUE][:EFFECT]"),
    ({"tolerations": ("k:Sometimes",)}, "--toleration", "KEY[=VALUE][:EFFECT]"),
    ({"kubeconfig_secret": "s"}, "--kubeconfig-secret", "--kubeconfig-server"),
    ({"allowed": ("everything",)}, "--allow", "choose from"),
    ({"host_namespace": ""}, "--host-namespace", "host namespace"),
])
def test_bad_flags_name_the_flag_and_the_fix(flags: dict[str, Any], flag: str,
                                             fix: str) -> None:
    with pytest.raises(BadInput) as e:
        config(**flags)
    assert flag in e.value.message
    assert e.value.hint and fix in e.value.hint


def test_pod_namespace_needs_a_pod(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PREVIEW_SERVICE_ACCOUNT_DIR", str(tmp_path))
    with pytest.raises(BadInput, match="--host-namespace is required with --host-kubeconfig"):
        settings.pod_namespace(Path("host.yaml"))
    with pytest.raises(BadInput, match="outside a pod"):
        settings.pod_namespace(None)
    (tmp_path / "namespace").write_text("vcluster-a\n")
    assert settings.pod_namespace(None) == "vcluster-a"
