"""The published kubeconfig: k3s's admin one, pointed at the in-cluster Service (pure)."""

from __future__ import annotations

import base64

import yaml

from preview.syncer import kubeconfig

ADMIN = {"apiVersion": "v1", "kind": "Config", "current-context": "default",
         "clusters": [{"name": "default", "cluster": {
             "server": "https://127.0.0.1:6443", "certificate-authority-data": "Q0E="}}],
         "users": [{"name": "default", "user": {"client-certificate-data": "Q0VSVA==",
                                                "client-key-data": "S0VZ"}}],
         "contexts": [{"name": "default", "context": {"cluster": "default",
                                                      "user": "default"}}]}


def test_server_is_replaced_and_credentials_split_out() -> None:
    published = kubeconfig.for_server(ADMIN, "https://team-a.team-a.svc:443")
    assert published["clusters"][0]["cluster"]["server"] == "https://team-a.team-a.svc:443"
    assert ADMIN["clusters"][0]["cluster"]["server"] == "https://127.0.0.1:6443"  # untouched
    data = kubeconfig.secret_data(published)
    assert yaml.safe_load(base64.b64decode(data["config"])) == published
    assert data["certificate-authority"] == "Q0E="
    assert data["client-certificate"] == "Q0VSVA==" and data["client-key"] == "S0VZ"
    assert "token" not in data


def test_token_kubeconfigs_publish_the_token() -> None:
    doc = yaml.safe_load(yaml.safe_dump(ADMIN))
    doc["users"][0]["user"] = {"token": "abc"}
    assert base64.b64decode(kubeconfig.secret_data(doc)["token"]) == b"abc"
