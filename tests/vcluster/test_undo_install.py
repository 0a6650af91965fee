"""`_undo_install` removes only what its own run made (issue 29): a fresh install that loses
a race with another run's install leaves that run's virtual cluster alone. The race is
reproduced by what the losing run saw (no release yet) against a host sandbox where the
other run's release really exists, with the real helm.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from preview import helm
from preview.errors import PreviewError
from preview.kube.host import HostCluster
from preview.kube.resources import NAMESPACES, STATEFULSETS
from preview.sandbox.runner import Sandbox
from preview.vcluster import cidr, lifecycle

pytestmark = [pytest.mark.sandbox, pytest.mark.tools]
NAME, NAMESPACE = "raced", "vc-raced"


@pytest.fixture(scope="module")
def installed() -> Iterator[HostCluster]:
    """A host sandbox where 'the other run' installed virtual cluster NAME."""
    with Sandbox() as sb:
        host = HostCluster.from_kubeconfig(sb.kubeconfig)
        asyncio.run(lifecycle.create(host, NAME, NAMESPACE, {}, lambda _: None, timeout=120))
        yield host


def _losing_run(host: HostCluster, monkeypatch: pytest.MonkeyPatch) -> PreviewError:
    async def nothing_installed(*_: Any, **__: Any) -> None:
        return None  # what the losing run read before the other run's install landed

    monkeypatch.setattr(helm.Helm, "deployed", nothing_installed)
    with pytest.raises(PreviewError) as raised:
        asyncio.run(lifecycle.create(host, NAME, NAMESPACE, {}, lambda _: None, timeout=30))
    return raised.value


def _still_there(host: HostCluster) -> None:
    async def check() -> None:
        async with host.client() as kube:
            assert await kube.get(NAMESPACES, None, NAMESPACE) is not None
            assert await kube.get(STATEFULSETS, NAMESPACE, NAME) is not None
        assert await host.helm.history(NAME, NAMESPACE)
    asyncio.run(check())


def test_a_refused_install_removes_nothing(installed: HostCluster,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    async def refused(*_: Any, **__: Any) -> int:
        raise helm.ReleaseBusy("helm could not install raced: another operation "
                               "(install/upgrade/rollback) is in progress")

    monkeypatch.setattr(helm.Helm, "install_or_upgrade", refused)
    error = _losing_run(installed, monkeypatch)
    assert isinstance(error, helm.ReleaseBusy)
    _still_there(installed)


def test_a_failure_before_helm_ran_removes_nothing_of_the_other_run(
        installed: HostCluster, monkeypatch: pytest.MonkeyPatch) -> None:
    async def unreachable(*_: Any, **__: Any) -> str:
        raise PreviewError("could not detect the host's Service CIDR")

    monkeypatch.setattr(cidr, "detect", unreachable)
    monkeypatch.setattr(lifecycle, "_ensure_namespace", _claims_it_created_the_namespace)
    error = _losing_run(installed, monkeypatch)
    assert "nothing of raced was installed by this run" in str(error)
    _still_there(installed)


async def _claims_it_created_the_namespace(*_: Any) -> bool:
    return True  # the worst case: this run made the namespace the other run installed into
