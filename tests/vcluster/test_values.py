"""What `create --upgrade` keeps and changes (preview/vcluster/values.py, pure)."""

from __future__ import annotations

from pathlib import Path

import pytest

from preview.errors import PreviewError
from preview.vcluster.values import Change, changes, flatten, given, kept, merge

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


def test_given_lays_sets_over_files_and_expose_last(tmp_path: Path) -> None:
    base, override = tmp_path / "base.yaml", tmp_path / "override.yaml"
    base.write_text("isolation:\n  podSecurity: restricted\n  quota:\n    pods: 20\n")
    override.write_text("isolation:\n  quota:\n    pods: 30\nservice:\n  type: ClusterIP\n")
    assert given([base, override], ["isolation.quota.pods=50"], expose=True) == {
        "isolation": {"podSecurity": "restricted", "quota": {"pods": 50}},
        "service": {"type": "LoadBalancer"}}
    assert given() == {}


def test_given_names_the_bad_input(tmp_path: Path) -> None:
    listed = tmp_path / "list.yaml"
    listed.write_text("- a\n")
    with pytest.raises(PreviewError, match=r"list\.yaml must hold a mapping"):
        given([listed])
    with pytest.raises(PreviewError, match="is not KEY=VALUE"):
        given(assignments=["isolation"])
