"""Developers' login and what their kubeconfig holds: the pure parts, and the GitHub side
against the strict fake GitHub over HTTP (our GitHub transport on the wire)."""

from __future__ import annotations

import asyncio

import pytest

from preview import policy
from preview.operations.developer import account_name, expires_in, ours, token_kubeconfig
from preview.policy.model import PolicyError
from preview.serve.developers import (
    DeveloperRefused,
    at_least,
    github_api_url,
    identify,
    role_of,
)
from tests.fakegithub.server import FakeGitHub

ALL = {"admin": True, "maintain": True, "push": True, "triage": True, "pull": True}


@pytest.mark.parametrize(("flags", "role"), [
    (ALL, "admin"),
    ({**ALL, "admin": False}, "maintain"),
    ({**ALL, "admin": False, "maintain": False}, "write"),
    ({"pull": True, "triage": True, "push": False}, "triage"),
    ({"pull": True}, "read"),
    ({"pull": False}, None),
    ({"push": "true"}, None),  # only JSON true counts
    (None, None),
])
def test_the_role_is_the_strongest_flag(flags: dict[str, object] | None,
                                        role: str | None) -> None:
    assert role_of(flags) == role  # type: ignore[arg-type]


def test_roles_compare_in_githubs_order() -> None:
    assert at_least("write", "write") and at_least("admin", "write")
    assert at_least("maintain", "write") and not at_least("triage", "write")
    assert not at_least("read", "triage") and not at_least(None, "read")
    assert not at_least("owner", "read")  # not a role


def test_the_policy_defaults_and_limits() -> None:
    rules = policy.parse({}, "p")
    assert rules.developers.minimum_permission == "write"
    assert rules.developers.token_expiry == 3600
    assert rules.developers.cluster_role == "edit"
    rules = policy.parse({"developers": {"tokenExpiry": "8h", "minimumPermission": "maintain",
                                         "clusterRole": "view"}}, "p")
    assert rules.developers.token_expiry == 8 * 3600
    for bad, words in (({"tokenExpiry": "9h"}, "outside 10m..8h"),
                       ({"tokenExpiry": "5m"}, "outside 10m..8h"),
                       ({"minimumPermission": "owner"}, "developers.minimumPermission"),
                       ({"clusterRole": "a b"}, "not a ClusterRole name"),
                       ({"githubApiUrl": "http://api.example.com"}, "not GitHub's REST API"),
                       ({"exposure": "nodeport"}, "developers.exposure")):
        with pytest.raises(PolicyError) as caught:
            policy.parse({"developers": bad}, "p")
        assert words in caught.value.message, caught.value.message


def test_githubs_api_follows_the_issuer() -> None:
    assert github_api_url(policy.parse({}, "p")) == "https://api.github.com"
    ghes = policy.parse({"api": {"issuer": "https://ghe.example.com/_services/token"}}, "p")
    assert github_api_url(ghes) == "https://ghe.example.com/api/v3"
    pinned = policy.parse({"developers": {"githubApiUrl": "https://gh.example/api/v3"}}, "p")
    assert github_api_url(pinned) == "https://gh.example/api/v3"


def test_account_names_are_dns_labels() -> None:
    assert account_name("Alice") == "preview-developer-alice"
    assert account_name("ALICE") == account_name("alice")  # GitHub logins ignore case
    long = account_name("a" * 60)
    assert long.startswith("preview-dev-") and len(long) <= 63
    # Not labels as they are: hashed apart, under a prefix no login's own name has.
    assert account_name("x-").startswith("preview-dev-")
    assert account_name("x--") != account_name("x-")
    assert not account_name("x-").startswith("preview-developer-")


def test_the_kubeconfig_holds_the_token_and_nothing_else() -> None:
    cluster = {"apiVersion": "v1", "kind": "Config",
               "clusters": [{"name": "vc", "cluster": {"server": "https://x",
                                                      "certificate-authority-data": "Q0E="}}],
               "users": [{"name": "vc", "user": {"token": "ADMIN"}}],
               "contexts": [{"name": "vc", "context": {"cluster": "vc", "user": "vc"}}],
               "current-context": "vc"}
    out = token_kubeconfig(cluster, "DEV", "alice@pr-1")
    assert out["users"] == [{"name": "alice@pr-1", "user": {"token": "DEV"}}]
    assert out["contexts"][0]["context"] == {"cluster": "vc", "user": "alice@pr-1"}
    assert "ADMIN" not in str(out) and cluster["users"][0]["user"]["token"] == "ADMIN"


def test_expires_in() -> None:
    import datetime as dt

    now = dt.datetime(2026, 12, 6, 6, 0, tzinfo=dt.UTC)
    assert expires_in("2026-12-06T07:00:00Z", now) == 3600


def _rules(fake: FakeGitHub, minimum: str = "write") -> policy.Policy:
    return policy.parse({"developers": {"githubApiUrl": fake.url,
                                        "minimumPermission": minimum}}, "p")


def test_identify_against_the_fake_github() -> None:
    with FakeGitHub() as fake:
        fake.add_repo("octo/app", private=True)
        fake.add_repo("octo/open")
        fake.add_token("w", "writer", user_id=5)
        fake.add_token("t", "triager")
        fake.add_token("s", "stranger")
        fake.add_token("actions")
        fake.set_role("octo/app", "writer", "write")
        fake.set_role("octo/app", "triager", "triage")
        person = asyncio.run(identify("w", "octo/app", _rules(fake)))
        assert (person.login, person.user_id, person.role) == ("writer", 5, "write")
        cases = [("t", "octo/app", "write", 403, "triager has triage access"),
                 ("s", "octo/app", "read", 403, "stranger cannot see octo/app"),
                 ("s", "octo/open", "write", 403, "stranger has read access"),
                 ("nope", "octo/app", "read", 401, "Bad credentials"),
                 ("actions", "octo/app", "read", 401, "not a person's"),
                 ("", "octo/app", "read", 401, "no GitHub token")]
        for token, repo, minimum, status, words in cases:
            with pytest.raises(DeveloperRefused) as caught:
                asyncio.run(identify(token, repo, _rules(fake, minimum)))
            assert (caught.value.status, words in caught.value.reason) == (status, True), \
                (token, caught.value.reason)
        # a stranger may read a public repository: enough when the policy says read
        assert asyncio.run(identify("s", "octo/open", _rules(fake, "read"))).role == "read"


def test_only_our_objects_are_used() -> None:
    mine = {"metadata": {"labels": {"preview-vcluster.io/managed-by": "preview-vcluster"}}}
    assert ours(mine)
    assert not ours({"metadata": {"labels": {"preview-vcluster.io/managed-by": "someone"}}})
    assert not ours({"metadata": {}}) and not ours({})
    assert not ours({"metadata": {"labels": ["preview-vcluster.io/managed-by"]}})
