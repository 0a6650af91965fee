"""The synced kinds' table (preview/syncer/kinds/__init__.py) and the host permissions built
from their declarations (preview/syncer/permissions.py): pure."""

from __future__ import annotations

from preview.kube.resources import SYNCED_KINDS
from preview.syncer.context import SyncContext, SyncOptions
from preview.syncer.engine.kind import WRITE, HostRule
from preview.syncer.engine.state import State
from preview.syncer.kinds import EVENTS_ABOUT, KINDS, podsync, reconcilers
from preview.syncer.permissions import HOST_RULES, role_rules


def test_every_synced_kind_is_declared_once_in_the_catalogs_order() -> None:
    """`--sync`, the deleters and the syncer name the same kinds: a kind added to the catalog
    without its declaration (or the other way) fails here."""
    assert list(KINDS) == list(SYNCED_KINDS)
    assert {name: kind.resource for name, kind in KINDS.items()} == SYNCED_KINDS
    assert all(kind.name == name for name, kind in KINDS.items())


def test_events_come_back_about_the_kinds_that_declare_it() -> None:
    assert EVENTS_ABOUT == {"Pod": "pods", "Service": "services",
                            "PersistentVolumeClaim": "persistentvolumeclaims",
                            "Ingress": "ingresses"}


def test_host_rules_hold_every_kinds_resource_and_pod_subresources() -> None:
    allowed = {(g, r, v) for rule in HOST_RULES for g in rule["apiGroups"]
               for r in rule["resources"] for v in rule["verbs"]}
    for kind in KINDS.values():
        assert {(kind.resource.group, kind.resource.plural, v) for v in WRITE} <= allowed
    assert ("", "pods/exec", "create") in allowed and ("", "events", "watch") in allowed
    assert ("", "events", "create") not in allowed  # events are only read on the host
    assert not [r for r in HOST_RULES if "nodes" in r["resources"]]  # cluster-wide: not here


def test_role_rules_unite_verbs_and_group_resources_in_first_named_order() -> None:
    rules = role_rules([
        HostRule("", ("pods",), ("get", "create")),
        HostRule("apps", ("deployments",), ("get",)),
        HostRule("", ("secrets",), ("create", "get")),
        HostRule("", ("pods",), ("watch",)),
        HostRule("", ("pods/exec",), ("escalate", "create")),
        HostRule("", ("configmaps",), ("get", "watch", "create")),
    ])
    assert rules == [
        {"apiGroups": [""], "resources": ["pods", "configmaps"],
         "verbs": ["get", "watch", "create"]},
        {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get"]},
        {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "create"]},
        {"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["create", "escalate"]},
    ]
    assert role_rules([]) == []


def test_reconcilers_for_the_kinds_switched_on_pods_their_own() -> None:
    st = State(SyncContext("vc", "ns"), SyncOptions(kinds=("pods", "secrets")),
               None, None, None, {}, {})  # type: ignore[arg-type]
    table = reconcilers(st)
    assert sorted(table) == ["events", "nodes", "pods", "secrets"]
    assert table["pods"].func is podsync.reconcile  # type: ignore[attr-defined]
    assert table["secrets"].args[1] is KINDS["secrets"]  # type: ignore[attr-defined]
