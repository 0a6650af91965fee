"""The API server's warnings: read from the `Warning` header, logged once per text."""

from __future__ import annotations

import asyncio
import logging

import pytest

from preview.kube.client import KubeClient, Resource
from preview.kube.connection import from_kubeconfig
from preview.kube.warnings import text_of
from preview.sandbox.runner import Sandbox

CONFIGMAPS = Resource("", "v1", "configmaps", "ConfigMap")


@pytest.mark.parametrize(("header", "text"), [
    ('299 - "unknown field \\"spec.foo\\""', 'unknown field "spec.foo"'),
    ('299 - "policy/v1beta1 PodSecurityPolicy is deprecated" "Tue, 15 Nov 1994 08:12:31 GMT"',
     "policy/v1beta1 PodSecurityPolicy is deprecated"),
    ('299 kube-apiserver "tab\\there"', "tab\there"),
    ('299 - "a Go escape \\x41"', "a Go escape \\x41"),
    ("not a warning", None),
    ('299 - unquoted', None),
])
def test_text_of_a_warning_header(header: str, text: str | None) -> None:
    assert text_of(header) == text


@pytest.mark.sandbox
def test_each_warning_is_logged_once(sandbox: Sandbox, namespace: str,
                                     caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> None:
        async with KubeClient(from_kubeconfig(sandbox.kubeconfig)) as kube:
            for name in ("a", "b"):
                created = await kube.create(CONFIGMAPS, namespace, {
                    "metadata": {"name": name}, "data": {"k": "v"}, "dta": {"k": "v"}})
                assert "dta" not in created
            await kube.create(CONFIGMAPS, namespace, {"metadata": {"name": "c"}, "colour": 1})

    with caplog.at_level(logging.WARNING, logger="preview.kube.warnings"):
        asyncio.run(scenario())
    texts = [r.getMessage() for r in caplog.records if r.name == "preview.kube.warnings"]
    assert len(texts) == 2
    assert texts[0].endswith(f'POST /api/v1/namespaces/{namespace}/configmaps: '
                             'unknown field "dta"')
    assert sandbox.url in texts[0]
    assert texts[1].endswith('unknown field "colour"')
