"""Host names: stable, within the kind's limit, never colliding."""

from __future__ import annotations

import itertools

from preview.syncer import names


def test_short_names_are_readable() -> None:
    assert names.host_name("web", "shop", "pr-12") == "web-x-shop-x-pr-12"


def test_long_names_are_cut_with_a_stable_hash() -> None:
    name, ns = "a" * 63, "b" * 63
    host = names.host_name(name, ns, "pr-12", names.DNS_LABEL_MAX)
    assert len(host) <= 63
    assert host == names.host_name(name, ns, "pr-12", names.DNS_LABEL_MAX)
    assert host[-1].isalnum() and host[0].isalnum()


def test_distinct_pairs_never_collide() -> None:
    parts = ["web", "web-x-a", "a", "x", "a-x-web", "w" * 60]
    seen: dict[str, tuple[str, str]] = {}
    for name, ns in itertools.product(parts, repeat=2):
        for limit in (names.DNS_LABEL_MAX, names.DNS_SUBDOMAIN_MAX):
            host = names.host_name(name, ns, "vc", limit)
            assert len(host) <= limit
            key = f"{limit}:{host}"
            assert seen.setdefault(key, (name, ns)) == (name, ns), host


def test_label_values_are_safe() -> None:
    assert names.label_value("shop") == "shop"
    long = names.label_value("n" * 80)
    assert len(long) <= 63 and long[-1].isalnum()
    assert names.label_value("Org/Repo") != "Org/Repo"


def test_ownership_needs_both_labels() -> None:
    owned = {"metadata": {"labels": names.ownership_labels("vc", "shop")}}
    assert names.is_owned(owned, "vc")
    assert not names.is_owned(owned, "other")
    assert not names.is_owned({"metadata": {"labels": {names.VCLUSTER: "vc"}}}, "vc")
    assert not names.is_owned({"metadata": {}}, "vc")


def test_no_collisions_over_every_short_name() -> None:
    """Exhaustively: every valid DNS label of up to 5 characters over {a, x, -}."""
    labels = [s for n in range(1, 6) for s in map("".join, itertools.product("ax-", repeat=n))
              if s[0] != "-" and s[-1] != "-"]
    seen: dict[str, tuple[str, str]] = {}
    for name, ns in itertools.product(labels, repeat=2):
        host = names.host_name(name, ns, "x-a", names.DNS_LABEL_MAX)
        assert seen.setdefault(host, (name, ns)) == (name, ns), host
