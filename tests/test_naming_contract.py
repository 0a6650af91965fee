"""The label contract as written strings: older versions of the GC, other tools and users'
selectors depend on these exact keys and formats. A test that compared the constants with
themselves would pass any rename; these fail, so changing the contract is a decision."""

from __future__ import annotations

from preview import naming
from preview.kube import connection
from preview.syncer.kinds import pods


def test_environment_namespace_labels_and_annotations() -> None:
    env = naming.environment_for("Octo-Org", "Shop", 42)
    assert env.namespace == "preview-octo-org-shop-pr-42"
    assert env.name == "pr-42" and env.vcluster == "pr-42"
    assert naming.namespace_labels(env, {"team": "payments"}) == {
        "team": "payments",
        "preview-vcluster.io/managed-by": "preview-vcluster",
        "preview-vcluster.io/repo": "octo-org.shop",
        "preview-vcluster.io/pr": "42",
        "preview-vcluster.io/environment": "pr-42",
        "preview-vcluster.io/vcluster": "pr-42",
    }
    assert naming.namespace_annotations(
        env, created_at="2026-12-01T00:00:00Z", expires_at="2026-12-08T00:00:00Z",
        head_sha="a" * 40, url="https://pr-42-shop.example.com",
        run_url="https://github.com/Octo-Org/Shop/actions/runs/1") == {
        "preview-vcluster.io/created-at": "2026-12-01T00:00:00Z",
        "preview-vcluster.io/expires-at": "2026-12-08T00:00:00Z",
        "preview-vcluster.io/head-sha": "a" * 40,
        "preview-vcluster.io/url": "https://pr-42-shop.example.com",
        "preview-vcluster.io/run-url": "https://github.com/Octo-Org/Shop/actions/runs/1",
        "preview-vcluster.io/repo-full-name": "Octo-Org/Shop",
    }
    assert naming.environment_selector("Octo-Org", "Shop") == (
        "preview-vcluster.io/managed-by=preview-vcluster,preview-vcluster.io/environment,"
        "preview-vcluster.io/repo=octo-org.shop")


def test_the_state_up_records() -> None:
    assert naming.state_annotations("failed", "Pod app-1 is failing: ImagePullBackOff") == {
        "preview-vcluster.io/state": "failed",
        "preview-vcluster.io/state-reason": "Pod app-1 is failing: ImagePullBackOff"}
    assert naming.state_annotations("deploying") == {
        "preview-vcluster.io/state": "deploying", "preview-vcluster.io/state-reason": ""}
    assert naming.STATES == ("deploying", "ready", "failed")


def test_several_environments_of_one_pull_request() -> None:
    # One of several environments of a pull request (the action's `environment` input):
    # `pr-<n>-<app>` in the environment label, the namespace and the vcluster; `pr` stays
    # the pull request's number, so `down`, `list` and the GC find them all by it.
    env = naming.environment_for("Octo-Org", "Shop", 42, "api")
    assert env.namespace == "preview-octo-org-shop-pr-42-api"
    assert naming.namespace_labels(env) == {
        "preview-vcluster.io/managed-by": "preview-vcluster",
        "preview-vcluster.io/repo": "octo-org.shop",
        "preview-vcluster.io/pr": "42",
        "preview-vcluster.io/environment": "pr-42-api",
        "preview-vcluster.io/vcluster": "pr-42-api",
    }


def test_synced_host_objects() -> None:
    assert naming.ownership_labels("vcluster", "default") == {
        "preview-vcluster.io/managed-by": "syncer",
        "preview-vcluster.io/vcluster": "vcluster",
        "preview-vcluster.io/namespace": "default",
    }
    assert naming.host_name("web", "shop", "vcluster") == "web-x-shop-x-vcluster"
    assert naming.cluster_scoped_host_name("pv-1", "vcluster") == "pv-1-x-vcluster"
    # Names that cannot be read back unambiguously, and long ones, end in a 10-digit hash.
    cut = naming.host_name("a-x-b", "shop", "vcluster")
    assert cut.startswith("a-x-b-x-shop-x-vcluster"[:20]) and len(cut.rsplit("-", 1)[1]) == 10
    long = naming.host_name("n" * 80, "s" * 80, "vcluster", limit=63)
    assert len(long) == 63 and long[-11] == "-"
    assert (naming.VIRTUAL_NAME_ANNOTATION, naming.VIRTUAL_NAMESPACE_ANNOTATION,
            naming.VIRTUAL_UID_ANNOTATION, naming.TOKEN_FOR_POD_ANNOTATION,
            naming.NODE_LABEL) == (
        "preview-vcluster.io/object-name", "preview-vcluster.io/object-namespace",
        "preview-vcluster.io/object-uid", "preview-vcluster.io/token-for-pod",
        "preview-vcluster.io/node")


def test_service_account_token_paths() -> None:
    # Where Kubernetes mounts a pod's token, in the syncer's pods and its own client.
    assert pods.SERVICE_ACCOUNT_MOUNT == "/var/run/secrets/kubernetes.io/serviceaccount"
    assert str(connection.SERVICE_ACCOUNT_DIR) == "/var/run/secrets/kubernetes.io/serviceaccount"
