"""Fixtures of the GC suites: a host sandbox of each test's own (the GC sees every managed
namespace on a host, so tests cannot share one)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from kubernetes import client, config

from preview.sandbox.runner import Sandbox


@pytest.fixture
def host() -> Iterator[tuple[Sandbox, client.CoreV1Api, client.AppsV1Api]]:
    with Sandbox() as sb, config.new_client_from_config(sb.kubeconfig) as api:
        yield sb, client.CoreV1Api(api), client.AppsV1Api(api)
