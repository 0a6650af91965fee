"""`preview/sandbox/platform/plan.py`: which pod is the platform API's, and its command line
run locally (pure; the pod itself is run in tests/serve/test_in_cluster.py)."""

from __future__ import annotations

import sys
from typing import Any

import pytest

from preview.sandbox.platform.plan import LABELS, is_platform_api, serve_argv

PY = [sys.executable, "-m", "preview"]


def pod(labels: dict[str, str] | None = None, **container: Any) -> dict[str, Any]:
    spec = {"name": "serve", "image": "ghcr.io/preview-vcluster/syncer:1.0",
            "command": ["preview"], "args": ["serve", "--listen=0.0.0.0:8080"], **container}
    return {"metadata": {"labels": dict(LABELS) if labels is None else labels},
            "spec": {"containers": [spec]}}


def test_the_charts_api_pod_matches() -> None:
    assert is_platform_api(pod())
    assert is_platform_api(pod(command=["/usr/local/bin/preview"]))


@pytest.mark.parametrize("other", [
    pod(labels={"app.kubernetes.io/name": "preview-platform"}),  # not the api component
    pod(labels={**LABELS, "app.kubernetes.io/name": "vcluster"}),
    pod(command=None, args=["serve"]),  # the image's entrypoint: `preview syncer serve`
    pod(args=["gc"]),  # the GC's pod runs `preview gc`
    pod(command=["sh", "-c"], args=["preview serve"]),
    {"metadata": {"labels": dict(LABELS)}, "spec": {"containers": []}},
])
def test_other_pods_do_not(other: dict[str, Any]) -> None:
    assert not is_platform_api(other)


def test_listen_moves_to_a_loopback_port_and_says_the_container_port() -> None:
    argv, ports = serve_argv(["preview", "serve", "--policy=/p", "--listen=0.0.0.0:8080",
                              "--workdir", "/w"], 40001, 40011)
    assert (argv, ports) == ([*PY, "serve", "--policy=/p", "--workdir", "/w",
                              "--listen=127.0.0.1:40001"], {8080: 40001})
    argv, ports = serve_argv(["preview", "serve", "--listen", "[::]:9000"], 40002, 40012)
    assert (argv, ports) == ([*PY, "serve", "--listen=127.0.0.1:40002"], {9000: 40002})
    assert serve_argv(["preview", "serve"], 40003, 40013) == (
        [*PY, "serve", "--listen=127.0.0.1:40003"], {8080: 40003})


def test_the_wake_page_moves_too_when_served() -> None:
    argv, ports = serve_argv(["preview", "serve", "--wake-listen", "0.0.0.0:8081",
                              "--listen=0.0.0.0:8080"], 40004, 40014)
    assert (argv, ports) == ([*PY, "serve", "--listen=127.0.0.1:40004",
                              "--wake-listen=127.0.0.1:40014"], {8080: 40004, 8081: 40014})


def test_a_bad_command_line_is_refused_naming_it() -> None:
    with pytest.raises(ValueError, match="must run `preview serve …`, not preview gc"):
        serve_argv(["preview", "gc"], 1, 2)
    with pytest.raises(ValueError, match="--listen 'nowhere': expected HOST:PORT"):
        serve_argv(["preview", "serve", "--listen=nowhere"], 1, 2)
    with pytest.raises(ValueError, match="--wake-listen 'nowhere:': expected HOST:PORT"):
        serve_argv(["preview", "serve", "--wake-listen=nowhere:"], 1, 2)
