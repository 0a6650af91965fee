"""The k3s stand-in keeps its objects in its data directory across a restart, as k3s does."""

from __future__ import annotations

import json
from pathlib import Path

from kubernetes import client, config

from preview.sandbox.cluster.config import ServerConfig
from preview.sandbox.runner import Sandbox


def api(sb: Sandbox) -> client.CoreV1Api:
    return client.CoreV1Api(config.new_client_from_config(str(sb.kubeconfig)))


def test_objects_token_and_signing_key_survive_a_restart_on_the_same_data_dir(
        tmp_path: Path) -> None:
    data = tmp_path / "k3s"
    with Sandbox(ServerConfig(flavour="virtual", data_dir=data)) as first:
        core = api(first)
        made = core.create_namespaced_config_map("default", client.V1ConfigMap(
            metadata=client.V1ObjectMeta(name="kept"), data={"a": "1"}))
        account = core.create_namespaced_service_account("default", client.V1ServiceAccount(
            metadata=client.V1ObjectMeta(name="robot")))
        token = core.create_namespaced_service_account_token(
            "robot", "default", client.AuthenticationV1TokenRequest(
                spec=client.V1TokenRequestSpec(audiences=[]))).status.token
        admin = first.config.admin_token
    assert (data / "server" / "db" / "state.json").stat().st_mode & 0o777 == 0o600

    with Sandbox(ServerConfig(flavour="virtual", data_dir=data)) as second:
        assert second.config.admin_token != admin  # a fresh config; the file's token wins
        core = api(second)
        kept = core.read_namespaced_config_map("kept", "default")
        assert kept.data == {"a": "1"} and kept.metadata.uid == made.metadata.uid
        assert core.read_namespaced_service_account("robot", "default").metadata.uid == \
            account.metadata.uid
        review = client.AuthenticationV1Api(core.api_client).create_token_review(
            client.V1TokenReview(spec=client.V1TokenReviewSpec(token=token)))
        assert review.status.authenticated  # the signing key was kept
        # Writes go on after the old resourceVersions; a watch from before is 410 Gone.
        later = core.create_namespaced_config_map("default", client.V1ConfigMap(
            metadata=client.V1ObjectMeta(name="later")))
        assert int(later.metadata.resource_version) > int(made.metadata.resource_version)
        watch = core.list_namespaced_config_map(
            "default", watch=True, timeout_seconds=1, _preload_content=False,
            resource_version=made.metadata.resource_version)
        first_event = json.loads(watch.data.splitlines()[0])
        assert first_event["type"] == "ERROR" and first_event["object"]["code"] == 410


def test_without_a_data_dir_nothing_is_kept(tmp_path: Path) -> None:
    with Sandbox(ServerConfig(flavour="virtual")) as sb:
        api(sb).create_namespaced_config_map("default", client.V1ConfigMap(
            metadata=client.V1ObjectMeta(name="gone")))
    assert list(tmp_path.iterdir()) == []
