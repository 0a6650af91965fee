"""Which namespace `connect NAME`/`delete NAME` mean (preview/vcluster/find.py `choose`, pure)."""

from __future__ import annotations

import pytest

from preview.errors import PreviewError
from preview.vcluster.find import NoSuchVcluster, choose


def test_the_one_virtual_cluster_of_that_name() -> None:
    assert choose("a", {"team-a": ["StatefulSet"]}, None) == "team-a"
    assert choose("a", {"x": ["StatefulSet"], "team-a": ["StatefulSet"]}, "team-a") == "team-a"


def test_several_are_listed_and_none_is_picked() -> None:
    with pytest.raises(PreviewError) as e:
        choose("a", {"x": ["StatefulSet"], "y": ["helm release, failed"]}, None)
    assert not isinstance(e.value, NoSuchVcluster)
    assert "2 namespaces: x (StatefulSet); y (helm release, failed)" in e.value.message
    assert e.value.hint == "pass -n/--namespace with one of them"


def test_not_found_says_where_it_looked_and_where_it_is() -> None:
    with pytest.raises(NoSuchVcluster) as e:
        choose("a", {}, None)
    assert "not found in any namespace" in e.value.message
    with pytest.raises(NoSuchVcluster) as e:
        choose("a", {"team-a": ["StatefulSet"]}, "default")
    assert "not found in namespace default (it exists in namespace team-a)" in e.value.message
    assert e.value.hint == "pass -n team-a"
