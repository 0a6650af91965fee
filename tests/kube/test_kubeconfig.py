"""KUBECONFIG with several files is read as kubectl reads it (preview/kube/kubeconfig.py)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from preview.errors import PreviewError
from preview.kube.connection import from_kubeconfig
from preview.kube.kubeconfig import merged_kubeconfig, split_env


def write(path: Path, doc: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(doc))
    return path


def kubeconfig(cluster: str, server: str, user: dict[str, Any], current: str = "",
               cluster_extra: dict[str, Any] | None = None) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": cluster, "cluster": {"server": server, **(cluster_extra or {})}}],
        "users": [{"name": cluster, "user": user}],
        "contexts": [{"name": cluster, "context": {"cluster": cluster, "user": cluster}}]}
    if current:
        doc["current-context"] = current
    return doc


def test_first_file_wins_per_key_and_entries_are_not_mixed(tmp_path: Path) -> None:
    first = write(tmp_path / "a", kubeconfig("red", "https://a", {"token": "a"}))
    second = write(tmp_path / "b", {
        **kubeconfig("red", "https://b", {"token": "b", "client-key": "key.pem"},
                     current="red"),
        "clusters": [{"name": "red", "cluster": {"server": "https://b",
                                                 "insecure-skip-tls-verify": True}},
                     {"name": "blue", "cluster": {"server": "https://blue"}}]})
    merged = merged_kubeconfig([first, second])
    clusters = {c["name"]: c["cluster"] for c in merged["clusters"]}
    assert clusters == {"red": {"server": "https://a"}, "blue": {"server": "https://blue"}}
    # The second file's red user adds a field the first lacks: discarded all the same.
    assert [u["user"] for u in merged["users"]] == [{"token": "a"}]
    # current-context from the first file that sets it, here the second.
    assert merged["current-context"] == "red"


def test_current_context_of_the_first_file_that_sets_it(tmp_path: Path) -> None:
    a = write(tmp_path / "a", kubeconfig("a", "https://a", {}, current="a"))
    b = write(tmp_path / "b", kubeconfig("b", "https://b", {}, current="b"))
    assert merged_kubeconfig([a, b])["current-context"] == "a"
    assert merged_kubeconfig([b, a])["current-context"] == "b"


def test_relative_paths_resolve_against_the_file_that_names_them(tmp_path: Path) -> None:
    a = write(tmp_path / "one" / "config", kubeconfig(
        "a", "https://a", {"client-certificate": "a.crt", "client-key": "/abs/a.key",
                           "exec": {"command": "./bin/helper", "apiVersion": "x"}},
        cluster_extra={"certificate-authority": "ca.pem"}))
    b = write(tmp_path / "two" / "config", kubeconfig(
        "b", "https://b", {"tokenFile": "tok", "exec": {"command": "aws", "apiVersion": "x"}}))
    merged = merged_kubeconfig([a, b])
    users = {u["name"]: u["user"] for u in merged["users"]}
    clusters = {c["name"]: c["cluster"] for c in merged["clusters"]}
    assert clusters["a"]["certificate-authority"] == str(tmp_path / "one" / "ca.pem")
    assert users["a"]["client-certificate"] == str(tmp_path / "one" / "a.crt")
    assert users["a"]["client-key"] == "/abs/a.key"
    assert users["a"]["exec"]["command"] == str(tmp_path / "one" / "bin" / "helper")
    assert users["b"]["tokenFile"] == str(tmp_path / "two" / "tok")
    assert users["b"]["exec"]["command"] == "aws"  # found on PATH, as kubectl does


def test_missing_and_empty_entries_are_skipped_unless_explicit(tmp_path: Path) -> None:
    a = write(tmp_path / "a", kubeconfig("a", "https://a", {}, current="a"))
    value = os.pathsep.join(["", str(tmp_path / "missing"), str(a), str(a)])
    assert split_env(value) == [tmp_path / "missing", a]
    assert merged_kubeconfig(split_env(value))["current-context"] == "a"
    with pytest.raises(PreviewError, match="does not exist"):
        merged_kubeconfig([tmp_path / "missing"], must_exist=True)


def test_a_file_that_is_not_a_mapping_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.write_text("- just\n- a list\n")
    with pytest.raises(PreviewError, match=str(bad)):
        merged_kubeconfig([bad])


def test_from_kubeconfig_reads_every_file_of_KUBECONFIG(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ca = tmp_path / "creds" / "ca.pem"
    ca.parent.mkdir()
    ca.write_bytes(b"PEM")
    contexts = write(tmp_path / "contexts", {
        "current-context": "prod",
        "contexts": [{"name": "prod", "context": {"cluster": "prod", "user": "ci",
                                                  "namespace": "apps"}}]})
    creds = write(tmp_path / "creds" / "config", {
        "current-context": "ignored",
        "clusters": [{"name": "prod", "cluster": {"server": "https://prod:6443/",
                                                  "certificate-authority": "ca.pem"}}],
        "users": [{"name": "ci", "user": {"token": "t0k"}}]})
    monkeypatch.setenv("KUBECONFIG", os.pathsep.join([str(contexts), str(creds)]))
    conn = from_kubeconfig()
    assert (conn.server, conn.namespace, conn.token, conn.ca_pem) == (
        "https://prod:6443", "apps", "t0k", b"PEM")
