"""`preview syncer`'s flags → the syncer's configuration (preview/syncer/settings.py): pure."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import pytest

from preview.errors import BadInput
from preview.kube.resources import SYNCED_KINDS
from preview.syncer import settings
from preview.syncer.context import DEFAULT_DENIED_ANNOTATIONS
from preview.syncer.settings import SyncerConfig


def config(**flags: Any) -> SyncerConfig:
    return settings.syncer_config(**{"name": "pr-7", "host_namespace": "preview-pr-7",
                                     "virtual_kubeconfig": Path("/k3s/admin.yaml"), **flags})


def test_defaults() -> None:
    c = config()
    assert (c.context.vcluster, c.context.host_namespace) == ("pr-7", "preview-pr-7")
    assert c.options.kinds == tuple(SYNCED_KINDS)
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
               events=False, kubelet_port=10250, kubelet_ca_dir=Path("/data/k3s/server/tls"),
               advertise_address="10.0.0.5", dns_port=53, pod_security="restricted")
    assert c.options.kinds == ("pods", "services")
    assert c.context.storage_classes == (("standard", "fast-ssd"), ("", "standard"))
    assert c.context.node_selector == (("pool", "tenants"),)
    assert c.context.tolerations == (
        (("effect", "NoSchedule"), ("key", "dedicated"), ("operator", "Equal"),
         ("value", "tenants")),
        (("key", "spot"), ("operator", "Exists")))
    assert c.context.extra_labels == (("team", "shop"), ("cost-center", "4711"))
    assert c.context.isolation.relaxed == frozenset({"host-path"})
    assert c.context.isolation.pod_security == "restricted"
    assert config().context.isolation.pod_security == "baseline"
    assert c.context.isolation.allowed_hosts == ("*.pr-7.example.com",)
    assert c.context.isolation.denied_annotations == ("x/*",)
    assert c.context.isolation.allowed_priority_classes == ("low",)
    assert (c.kubeconfig_secret, c.kubeconfig_server) == ("vc-kubeconfig",
                                                          "https://pr-7.ns.svc:443")
    assert (c.options.workers, c.options.node_sync, c.options.events) == (3, "real", False)
    assert (c.options.kubelet_address, c.options.kubelet_port, c.kubelet_port) == (
        "10.0.0.5", 10250, 10250)
    assert c.kubelet_ca_dir == Path("/data/k3s/server/tls")
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
    ({"host_namespace": "", "namespace_file": Path("/nonexistent/namespace")},
     "--host-namespace", "host namespace"),
    ({"host_namespace": "", "host_kubeconfig": Path("host.yaml")}, "--host-namespace",
     "host namespace"),
    ({"configs": "some"}, "--configs", "--configs referenced"),
    ({"node_sync": "virtual"}, "--node-sync", "--node-sync fake"),
    ({"pod_security": "strict"}, "--pod-security", "--pod-security baseline"),
    ({"workers": 0}, "--workers", "--workers 8"),
    ({"port": 0}, "--port", "1-65535"),
    ({"kubelet_port": 70000}, "--kubelet-port", "0-65535 (0: off)"),
    # never served without client authentication: no open door when the CA path is missing
    ({"kubelet_port": 10250}, "--kubelet-ca-dir", "--kubelet-ca-dir /data/k3s/server/tls"),
])
def test_bad_flags_name_the_flag_and_the_fix(flags: dict[str, Any], flag: str,
                                             fix: str) -> None:
    with pytest.raises(BadInput) as e:
        config(**flags)
    assert flag in e.value.message
    assert e.value.hint and fix in e.value.hint


def test_without_host_namespace_the_pods_own(tmp_path: Path) -> None:
    (tmp_path / "namespace").write_text("vcluster-a\n")
    c = config(host_namespace="", namespace_file=tmp_path / "namespace")
    assert c.context.host_namespace == "vcluster-a"
    (tmp_path / "namespace").write_text("")
    with pytest.raises(BadInput, match="names no namespace"):
        config(host_namespace="", namespace_file=tmp_path / "namespace")


def test_the_cli_declares_the_settings_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    """One source: every flag `preview syncer` leaves out takes syncer_config's default."""
    from preview.cli.syncer import syncer_command

    for param in syncer_command.params:
        if isinstance(param, click.Option) and param.envvar:
            monkeypatch.delenv(str(param.envvar), raising=False)
    flags = syncer_command.make_context(
        "syncer", ["--name", "a", "--virtual-kubeconfig", "/k3s/admin.yaml"]).params
    flags.pop("log_format")
    assert set(flags) - {"name", "virtual_kubeconfig"} == set(settings.DEFAULTS) - {
        "namespace_file"}
    for name, default in settings.DEFAULTS.items():
        if name != "namespace_file":
            assert flags[name] == default, name


def test_pod_namespace_needs_a_pod(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PREVIEW_SERVICE_ACCOUNT_DIR", str(tmp_path))
    with pytest.raises(BadInput, match="--host-namespace is required with --host-kubeconfig"):
        settings.pod_namespace(Path("host.yaml"))
    with pytest.raises(BadInput, match="outside a pod"):
        settings.pod_namespace(None)
    (tmp_path / "namespace").write_text("vcluster-a\n")
    assert settings.pod_namespace(None) == "vcluster-a"


def test_isolation_is_relaxed_by_the_syncers_own_flags_only() -> None:
    # The chart writes these flags from policy-approved values; no environment variable
    # (a container's `env`, which only the platform policy may set) can relax a rule.
    from preview.cli.syncer import syncer_command

    isolation = {"allowed", "allowed_hosts", "denied_annotations", "priority_classes"}
    params = {p.name: p for p in syncer_command.params if isinstance(p, click.Option)}
    assert isolation <= params.keys()
    assert {name: params[name].envvar for name in isolation} == dict.fromkeys(isolation)
    context = syncer_command.context_settings or {}
    assert not context.get("auto_envvar_prefix")
    with click.Context(syncer_command) as ctx:
        assert ctx.auto_envvar_prefix is None


def test_sync_kinds_in_the_catalogs_order_once_each() -> None:
    """The chart lists `--sync` sorted: the syncer's informers come up in one order anyway."""
    assert settings.sync_kinds("services,pods,services") == ("pods", "services")
    assert settings.sync_kinds(",".join(sorted(SYNCED_KINDS))) == tuple(SYNCED_KINDS)
