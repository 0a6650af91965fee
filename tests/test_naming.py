"""Host names: stable, within the kind's limit, never colliding."""

from __future__ import annotations

import itertools
import re

import pytest

from preview import naming


def test_short_names_are_readable() -> None:
    assert naming.host_name("web", "shop", "pr-12") == "web-x-shop-x-pr-12"


def test_long_names_are_cut_with_a_stable_hash() -> None:
    name, ns = "a" * 63, "b" * 63
    host = naming.host_name(name, ns, "pr-12", naming.DNS_LABEL_MAX)
    assert len(host) <= 63
    assert host == naming.host_name(name, ns, "pr-12", naming.DNS_LABEL_MAX)
    assert host[-1].isalnum() and host[0].isalnum()


def test_distinct_pairs_never_collide() -> None:
    parts = ["web", "web-x-a", "a", "x", "a-x-web", "w" * 60]
    seen: dict[str, tuple[str, str]] = {}
    for name, ns in itertools.product(parts, repeat=2):
        for limit in (naming.DNS_LABEL_MAX, naming.DNS_SUBDOMAIN_MAX):
            host = naming.host_name(name, ns, "vc", limit)
            assert len(host) <= limit
            key = f"{limit}:{host}"
            assert seen.setdefault(key, (name, ns)) == (name, ns), host


def test_label_values_are_safe() -> None:
    assert naming.label_value("shop") == "shop"
    long = naming.label_value("n" * 80)
    assert len(long) <= 63 and long[-1].isalnum()
    assert naming.label_value("Org/Repo") != "Org/Repo"


def test_ownership_needs_both_labels() -> None:
    owned = {"metadata": {"labels": naming.ownership_labels("vc", "shop")}}
    assert naming.is_owned(owned, "vc")
    assert not naming.is_owned(owned, "other")
    assert not naming.is_owned({"metadata": {"labels": {naming.VCLUSTER: "vc"}}}, "vc")
    assert not naming.is_owned({"metadata": {}}, "vc")


def test_no_collisions_over_every_short_name() -> None:
    """Exhaustively: every valid DNS label of up to 5 characters over {a, x, -}."""
    labels = [s for n in range(1, 6) for s in map("".join, itertools.product("ax-", repeat=n))
              if s[0] != "-" and s[-1] != "-"]
    seen: dict[str, tuple[str, str]] = {}
    for name, ns in itertools.product(labels, repeat=2):
        host = naming.host_name(name, ns, "x-a", naming.DNS_LABEL_MAX)
        assert seen.setdefault(host, (name, ns)) == (name, ns), host


# -- environments -----------------------------------------------------------------------------
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


@pytest.mark.parametrize(("owner", "repo", "pr", "namespace"), [
    ("example", "app", 1, "preview-example-app-pr-1"),
    ("Example", "App", 7, "preview-example-app-pr-7"),
])
def test_environment_namespace_is_readable_when_it_can_be(owner: str, repo: str, pr: int,
                                                          namespace: str) -> None:
    env = naming.environment_for(owner, repo, pr)
    assert env.namespace == namespace
    assert env.name == env.vcluster == f"pr-{pr}"


@pytest.mark.parametrize(("owner", "repo"), [
    ("a-very-long-organisation-name-that-goes-on", "and.a_repository-name.just-as-long"),
    ("org", "my_repo"), ("org", "my.repo"), ("o", "x" * 100),
])
def test_environment_namespace_is_a_dns_label_ending_in_the_pr(owner: str, repo: str) -> None:
    env = naming.environment_for(owner, repo, 123456)
    assert DNS_LABEL.match(env.namespace) and len(env.namespace) <= 63
    assert env.namespace.endswith("-pr-123456")


def test_repositories_that_sanitise_alike_get_different_namespaces() -> None:
    names = {naming.environment_for("org", repo, 1).namespace
             for repo in ("my-repo", "my.repo", "my_repo")}
    assert len(names) == 3


@pytest.mark.parametrize(("owner", "repo", "pr"), [
    ("org", "../etc", 1), ("org", "", 1), ("org ", "app", 1), ("org", "app", 0),
    ("org", "a/b", 1), ("org", "app\n", 1),
])
def test_environment_refuses_what_github_cannot_name(owner: str, repo: str, pr: int) -> None:
    with pytest.raises(ValueError):
        naming.environment_for(owner, repo, pr)


def test_namespace_labels_keep_the_contract_over_extra_labels() -> None:
    env = naming.environment_for("example", "app", 3)
    labels = naming.namespace_labels(env, {"team": "payments", naming.PR: "999"})
    assert labels["team"] == "payments"
    assert labels[naming.PR] == "3"
    assert labels[naming.MANAGED_BY] == "preview-vcluster"
    assert labels[naming.REPO] == "example.app"
    assert all(naming.label_value(v) == v for v in labels.values())


def test_a_namespace_round_trips_through_the_contract() -> None:
    env = naming.environment_for("Example", "App", 3)
    namespace = {"metadata": {
        "name": env.namespace, "creationTimestamp": "2026-12-01T00:00:00Z",
        "labels": naming.namespace_labels(env),
        "annotations": naming.namespace_annotations(
            env, created_at="2026-12-01T00:00:01Z", expires_at="2026-12-08T00:00:01Z",
            head_sha="a" * 40, url="https://pr-3-app.example.com")}}
    record = naming.read_environment(namespace)
    assert record is not None
    assert (record.repo, record.pr, record.environment, record.vcluster) == \
        ("Example/App", 3, "pr-3", "pr-3")
    assert record.expires_at == "2026-12-08T00:00:01Z" and not record.terminating


def test_only_environments_are_read_as_environments() -> None:
    plain_vcluster = {"metadata": {"name": "team-a", "labels": {
        naming.MANAGED_BY: naming.MANAGED_BY_VALUE, naming.VCLUSTER: "team-a"}}}
    foreign = {"metadata": {"name": "prod", "labels": {naming.ENVIRONMENT: "pr-1"}}}
    assert naming.read_environment(plain_vcluster) is None
    assert naming.read_environment(foreign) is None


def test_environment_selector_names_the_repository_label() -> None:
    assert naming.environment_selector() == \
        "preview-vcluster.io/managed-by=preview-vcluster,preview-vcluster.io/environment"
    assert naming.environment_selector("Example", "App").endswith(
        ",preview-vcluster.io/repo=example.app")


@pytest.mark.parametrize("text", ["ünïcödé", "a" * 200, "--", "", "日本"])
def test_labels_and_dns_labels_are_ascii(text: str) -> None:
    assert DNS_LABEL.match(naming.dns_label(text))
    value = naming.label_value(text)
    assert value.isascii() and len(value) <= 63


def test_several_environments_of_one_pull_request() -> None:
    api = naming.environment_for("octo", "shop", 7, "api")
    web = naming.environment_for("octo", "shop", 7, "web")
    one = naming.environment_for("octo", "shop", 7)
    assert (api.name, api.namespace, api.vcluster) == (
        "pr-7-api", "preview-octo-shop-pr-7-api", "pr-7-api")
    assert len({api.namespace, web.namespace, one.namespace}) == 3
    assert naming.namespace_labels(api)[naming.PR] == "7"  # one pull request's, all of them
    assert [naming.app_of(e.name, 7) for e in (api, web, one)] == ["api", "web", ""]
    assert naming.app_of("pr-71", 7) == ""  # another pull request, not an app "1"
    long = naming.environment_for("a" * 39, "b" * 100, 123456, "z" * naming.APP_MAX)
    assert long.namespace.endswith("-pr-123456-" + "z" * naming.APP_MAX)
    assert len(long.namespace) <= naming.DNS_LABEL_MAX


@pytest.mark.parametrize("app", ["", "API", "1api", "api-", "a_b", "a.b", "x" * 21, "-a"])
def test_an_environment_name_is_a_short_dns_label(app: str) -> None:
    if app == "":
        assert naming.environment_for("octo", "shop", 7, app).name == "pr-7"
        return
    with pytest.raises(ValueError, match="is not a lower-case DNS label"):
        naming.environment_for("octo", "shop", 7, app)
