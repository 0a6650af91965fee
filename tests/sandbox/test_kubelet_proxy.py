"""Where the API server finds a node's kubelet (pure)."""

from __future__ import annotations

from preview.sandbox.apiserver.endpoints.kubelet_proxy import kubelet_address


def test_internal_ip_and_kubelet_port() -> None:
    node = {"status": {"addresses": [{"type": "Hostname", "address": "n1"},
                                     {"type": "InternalIP", "address": "10.0.0.5"}],
                       "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}}}}
    assert kubelet_address(node) == ("10.0.0.5", 10250)


def test_hostname_when_no_internal_ip_and_none_without_port() -> None:
    node = {"status": {"addresses": [{"type": "Hostname", "address": "n1"}],
                       "daemonEndpoints": {"kubeletEndpoint": {"Port": 1}}}}
    assert kubelet_address(node) == ("n1", 1)
    assert kubelet_address({"status": {"addresses": [{"type": "InternalIP",
                                                      "address": "x"}]}}) is None
