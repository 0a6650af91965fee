"""What a pod's container sees, mapped onto one shared machine: paths, env, command line."""

from __future__ import annotations

from pathlib import Path

import pytest

from preview.sandbox.kubelet import podspec


def test_map_path_rewrites_paths_under_mounts_only(tmp_path: Path) -> None:
    pod = {"spec": {"volumes": [{"name": "data", "emptyDir": {}}, {"name": "sa"}]}}
    dirs = podspec.volume_dirs(pod, tmp_path)
    assert dirs == {"data": tmp_path / "volumes/data", "sa": tmp_path / "volumes/sa"}
    mounted = podspec.mounts({"volumeMounts": [
        {"name": "data", "mountPath": "/data/"}, {"name": "sa", "mountPath": "/data/sa",
                                                  "subPath": "x"},
        {"name": "missing", "mountPath": "/m"}]}, dirs)
    assert mounted == [("/data/sa", tmp_path / "volumes/sa/x"), ("/data", tmp_path / "volumes/data")]
    d = tmp_path / "volumes/data"
    assert podspec.map_path("--data-dir=/data/k3s", mounted) == f"--data-dir={d}/k3s"
    assert podspec.map_path("/data", mounted) == str(d)
    assert podspec.map_path("/data/sa/token", mounted) == f"{tmp_path}/volumes/sa/x/token"
    assert podspec.map_path("/a:/data/b,/data", mounted) == f"/a:{d}/b,{d}"
    for untouched in ("/database", "/srv/data", "--dir=/datax", "data/x"):
        assert podspec.map_path(untouched, mounted) == untouched
    # The pod's own directory under a mountPath (/tmp here) is not moved again.
    tmp_mounted = podspec.mounts({"volumeMounts": [
        {"name": "data", "mountPath": "/data"}, {"name": "tmp", "mountPath": "/tmp"}]},
        {"data": Path("/tmp/pod-1/volumes/data"), "tmp": Path("/tmp/pod-1/volumes/tmp")})
    assert podspec.map_path("--d=/data/x:/tmp/y", tmp_mounted) == \
        "--d=/tmp/pod-1/volumes/data/x:/tmp/pod-1/volumes/tmp/y"


def test_expand_follows_kubernetes_rules() -> None:
    env = {"A": "1", "B": "two"}
    assert podspec.expand("$(A)-$(B)", env) == "1-two"
    assert podspec.expand("$(C)$$(A)$$$", env) == "$(C)$(A)$$"
    assert podspec.expand("$(A", env) == "$(A"


def test_container_env_resolves_in_order() -> None:
    pod = {"metadata": {"name": "vc-0", "namespace": "ns", "uid": "u",
                        "labels": {"app": "vc"}}, "spec": {"nodeName": "n1"}}
    spec = {"env": [
        {"name": "NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "APP", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}}},
        {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
        {"name": "URL", "value": "$(NAME).$(KUBERNETES_SERVICE_HOST):$(LATER)"},
        {"name": "LATER", "value": "x"},
        {"name": "PASS", "valueFrom": {"secretKeyRef": {"name": "s", "key": "p"}}},
        {"name": "OPT", "valueFrom": {"configMapKeyRef": {"name": "c", "key": "k",
                                                          "optional": True}}}]}
    env = podspec.container_env(pod, spec, podspec.service_env("127.0.0.1", 6443),
                                lambda kind, name, key: "pw" if kind == "secret" else None,
                                "10.244.0.5", "127.0.0.1")
    assert env["NAME"] == "vc-0" and env["APP"] == "vc" and env["IP"] == "10.244.0.5"
    assert env["URL"] == "vc-0.127.0.0.1:$(LATER)"
    assert env["PASS"] == "pw" and "OPT" not in env
    assert env["KUBERNETES_PORT_6443_TCP"] == "tcp://127.0.0.1:6443"
    assert podspec.env_refs(spec) == {("secret", "s"), ("configMap", "c")}
    with pytest.raises(ValueError, match="couldn't find key"):
        podspec.container_env(pod, {"env": [{"name": "X", "valueFrom": {
            "secretKeyRef": {"name": "s", "key": "p"}}}]}, {}, lambda *a: None, "", "")
