"""What `create --upgrade` keeps and changes (preview/vcluster/values.py, pure)."""

from __future__ import annotations

from preview.vcluster.values import Change, changes, flatten, kept, merge

INSTALLED = {"serviceCIDR": "10.96.0.0/12",
             "isolation": {"podSecurity": "restricted", "quota": {"pods": 20}}}


def test_given_values_are_laid_over_the_installed_ones() -> None:
    merged = merge(INSTALLED, {"isolation": {"quota": {"pods": 50}}})
    assert merged == {"serviceCIDR": "10.96.0.0/12",
                      "isolation": {"podSecurity": "restricted", "quota": {"pods": 50}}}
    assert INSTALLED["isolation"]["quota"]["pods"] == 20  # not modified in place


def test_changes_name_each_dotted_key() -> None:
    after = merge(INSTALLED, {"isolation": {"quota": {"pods": 50}}, "service": {
        "type": "LoadBalancer"}})
    assert changes(INSTALLED, after) == (
        Change("isolation.quota.pods", 20, 50),
        Change("service.type", None, "LoadBalancer"))
    assert str(changes(INSTALLED, after)[1]) == "service.type: (unset) -> LoadBalancer"
    assert changes(INSTALLED, INSTALLED) == ()
    assert str(Change("a", True, None)) == "a: true -> (unset)"


def test_kept_lists_what_was_not_given_again() -> None:
    assert kept(INSTALLED, {"isolation": {"quota": {"pods": 50}}}) == (
        "isolation.podSecurity=restricted", "serviceCIDR=10.96.0.0/12")
    # Replacing a whole mapping keeps nothing below it.
    assert kept(INSTALLED, {"isolation": {"quota": {}}}) == (
        "isolation.podSecurity=restricted", "serviceCIDR=10.96.0.0/12")
    assert kept(INSTALLED, {"isolation": 1}) == ("serviceCIDR=10.96.0.0/12",)


def test_flatten_keeps_empty_mappings_as_leaves() -> None:
    assert flatten({"a": {"b": {}, "c": [1]}}) == {"a.b": {}, "a.c": [1]}
