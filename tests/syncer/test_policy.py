"""The isolation policy's pure rules (preview/syncer/policy.py)."""

from __future__ import annotations

from typing import Any

import pytest

from preview.syncer import policy
from preview.syncer.context import RULES, Isolation
from preview.syncer.policy import Refused

STRICT = Isolation()


@pytest.mark.parametrize(("host", "patterns", "allowed"), [
    ("shop.pr-1.example.com", (), True),
    ("*.example.com", (), False),
    ("", (), True),  # a rule without host: the controller's default server only
    ("shop.pr-1.example.com", ("*.pr-1.example.com",), True),
    ("SHOP.PR-1.example.com.", ("*.pr-1.example.com",), True),
    ("a.shop.pr-1.example.com", ("*.pr-1.example.com",), False),
    ("pr-1.example.com", ("*.pr-1.example.com",), False),
    ("evilpr-1.example.com", ("*.pr-1.example.com",), False),
    ("shop.pr-2.example.com", ("*.pr-1.example.com",), False),
    ("*.pr-1.example.com", ("*.pr-1.example.com",), True),  # explicitly allowed
    ("*.pr-1.example.com", ("shop.pr-1.example.com",), False),
    ("", ("shop.pr-1.example.com",), False),
    ("anything.example.org", ("*",), True),
])
def test_host_patterns(host: str, patterns: tuple[str, ...], allowed: bool) -> None:
    assert policy.host_allowed(host, patterns) is allowed


def test_ingress_tls_hosts_are_checked_too() -> None:
    spec: dict[str, Any] = {"rules": [{"host": "a.pr-1.example.com"}],
                            "tls": [{"hosts": ["a.pr-2.example.com"]}]}
    with pytest.raises(Refused) as e:
        policy.ingress({}, spec, Isolation(allowed_hosts=("*.pr-1.example.com",)))
    assert "spec.tls[0].hosts[0]" in e.value.message


def test_denied_annotations_are_configurable() -> None:
    notes = {"nginx.ingress.kubernetes.io/server-snippet": "x", "example.com/inject": "y",
             "nginx.org/location-snippets": "z", "kept": "1"}
    stripped = policy.ingress(notes, {}, STRICT)
    assert notes == {"example.com/inject": "y", "kept": "1"}
    assert {v.rule for v in stripped} == {"ingress-annotations"} and len(stripped) == 2
    custom = Isolation(denied_annotations=("example.com/*",))
    policy.ingress(notes, {}, custom)
    assert notes == {"kept": "1"}


def test_endpoints_outside_our_addresses_are_refused() -> None:
    subsets = [{"addresses": [{"ip": "10.244.0.5"}], "notReadyAddresses": [{"ip": "10.9.9.9"}]}]
    with pytest.raises(Refused) as e:
        policy.endpoints(subsets, frozenset({"10.244.0.5"}), STRICT)
    assert e.value.rule == "foreign-endpoints" and "notReadyAddresses" in e.value.message
    policy.endpoints(subsets, policy.normal_ips(["10.244.0.5", "10.9.9.9"]), STRICT)


def test_claims_cannot_name_host_volumes() -> None:
    spec: dict[str, Any] = {"volumeName": "pv-1", "selector": {"matchLabels": {"a": "b"}},
                            "dataSourceRef": {"kind": "PersistentVolumeClaim", "name": "x",
                                              "namespace": "kube-system"}}
    stripped = policy.pvc(spec, STRICT)
    assert "volumeName" not in spec and "selector" not in spec
    assert "namespace" not in spec["dataSourceRef"]
    assert len(stripped) == 3


def test_every_rule_is_documented_and_named_in_its_violation() -> None:
    assert all(RULES.values())
    violation = policy.Violation("host-path", "spec.volumes[0].hostPath", refused=True)
    assert violation.reason == "SyncRefused"
    assert "isolation rule host-path" in violation.event_message()
    assert "sync.allow" in violation.event_message()
