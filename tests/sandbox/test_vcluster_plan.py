"""How the control-plane pod's containers become local processes (pure decisions)."""

from __future__ import annotations

import sys
from typing import Any

import pytest

from preview.sandbox.vcluster import plan as vcluster_plan


def test_parse_k3s_reads_what_the_stand_in_needs() -> None:
    k3s = vcluster_plan.parse_k3s([
        "/bin/k3s", "server", "--data-dir=/data/k3s", "--write-kubeconfig",
        "/data/k3s-config/kube-config.yaml", "--write-kubeconfig-mode=0600",
        "--service-cidr=10.128.0.0/16", "--tls-san=vc", "--tls-san=vc.ns,vc.ns.svc",
        "--tls-san=vc", "--disable-agent", "--disable=traefik,servicelb"])
    assert k3s == vcluster_plan.K3sServer(
        write_kubeconfig="/data/k3s-config/kube-config.yaml", kubeconfig_mode="0600",
        data_dir="/data/k3s", service_cidr="10.128.0.0/16", tls_sans=("vc", "vc.ns", "vc.ns.svc"),
        https_port=6443)
    assert vcluster_plan.parse_k3s(["/bin/k3s", "server", "--https-listen-port=7443"]) \
        .https_port == 7443
    with pytest.raises(ValueError, match="k3s server"):
        vcluster_plan.parse_k3s(["/bin/k3s", "agent"])


def test_apiserver_argv_passes_cidr_sans_and_data_dir() -> None:
    argv = vcluster_plan.apiserver_argv(vcluster_plan.K3sServer(
        service_cidr="10.5.0.0/16", tls_sans=("a", "1.2.3.4")), "/tmp/kc", 4321, "/tmp/k3s")
    assert argv[:3] == [sys.executable, "-m", "preview"]
    assert argv[3:] == ["sandbox", "apiserver", "--flavour", "virtual", "--port", "4321",
                        "--kubeconfig", "/tmp/kc", "--service-cidr", "10.5.0.0/16",
                        "--data-dir", "/tmp/k3s", "--tls-san", "a", "--tls-san", "1.2.3.4"]


def test_syncer_argv_moves_the_port() -> None:
    argv, asked = vcluster_plan.syncer_argv(
        ["preview", "syncer", "--name=vc", "--port=9443", "--advertise-address=127.0.0.1"], 5000)
    assert (argv, asked) == ([sys.executable, "-m", "preview", "syncer", "--name=vc",
                              "--advertise-address=127.0.0.1", "--port=5000"], 9443)
    argv, asked = vcluster_plan.syncer_argv(["/usr/local/bin/preview", "syncer", "--port",
                                             "8000"], 5001)
    assert (argv[3:], asked) == (["syncer", "--port=5001"], 8000)
    assert vcluster_plan.syncer_argv(["preview", "syncer"], 5002)[1] == 8443
    with pytest.raises(ValueError, match="preview syncer"):
        vcluster_plan.syncer_argv(["/bin/sh", "-c", "sleep 1"], 5003)


def test_is_control_plane_needs_labels_and_both_containers() -> None:
    pod: dict[str, Any] = {"metadata": {"labels": dict(vcluster_plan.LABELS)},
                           "spec": {"containers": [{"name": "k3s"}, {"name": "syncer"}]}}
    assert vcluster_plan.is_control_plane(pod)
    assert not vcluster_plan.is_control_plane({**pod, "metadata": {"labels": {
        "app.kubernetes.io/name": "vcluster"}}})
    assert not vcluster_plan.is_control_plane({**pod, "spec": {"containers": [{"name": "k3s"}]}})


def test_move_port_rewrites_a_flag_and_reports_what_was_asked() -> None:
    from preview.sandbox.vcluster.plan import move_port

    assert move_port(["x", "--dns-port=1053", "y"], "--dns-port", 40000) == (
        ["x", "y", "--dns-port=40000"], 1053)
    assert move_port(["--dns-port", "53"], "--dns-port", 1) == (["--dns-port=1"], 53)
    assert move_port(["x"], "--dns-port", 1) == (["x"], None)
    assert move_port(["--dns-port=0"], "--dns-port", 1) == (["--dns-port=0"], None)
