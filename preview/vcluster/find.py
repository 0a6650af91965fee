"""Where a virtual cluster is: `connect NAME` and `delete NAME` without `--namespace`
find the one virtual cluster of that name on the host, as the vcluster CLI does.

A virtual cluster shows itself by its StatefulSet (the chart's labels), by the namespace
`create` made for it (our labels), or by its helm release (an install that failed before
the StatefulSet existed). Several of the same name is an error listing them: picking one
would be a guess.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from preview.errors import PreviewError
from preview.kube.client import ApiError, Forbidden, KubeClient
from preview.kube.host import HostCluster
from preview.kube.resources import NAMESPACES, STATEFULSETS
from preview.vcluster.model import NAMESPACE_MANAGED_BY, NAMESPACE_VCLUSTER, PART_OF

log = logging.getLogger(__name__)
CHART_NAME = "vcluster"
# An annotation only our charts/vcluster carries: tells our releases from other charts
# that are also called "vcluster" (loft's).
CHART_MARK = "preview-vcluster.io/k3s-image"


class NoSuchVcluster(PreviewError):
    """No virtual cluster of that name where we looked (`--ignore-not-found` accepts it)."""


def default_namespace(name: str) -> str:
    return f"vcluster-{name}"


def choose(name: str, found: Mapping[str, Sequence[str]], namespace: str | None) -> str:
    """The namespace of virtual cluster `name`, from where it was `found` (namespace →
    evidence) and the `namespace` the user named, if any (pure)."""
    if namespace is not None:
        if namespace in found:
            return namespace
        elsewhere = sorted(found)
        raise NoSuchVcluster(
            f"virtual cluster {name} not found in namespace {namespace}"
            + (f" (it exists in namespace {', '.join(elsewhere)})" if elsewhere else
               " (no StatefulSet, helm release or labelled namespace of that name)"),
            f"pass -n {elsewhere[0]}" if len(elsewhere) == 1 else
            "see `preview vcluster list -A`")
    if len(found) == 1:
        return next(iter(found))
    if not found:
        raise NoSuchVcluster(f"virtual cluster {name} not found in any namespace (looked for its "
                       "StatefulSet, helm release and labelled namespace)",
                       "see `preview vcluster list -A`; pass -n if it lives in a namespace "
                       "you cannot list")
    listing = "; ".join(f"{ns} ({', '.join(how)})" for ns, how in sorted(found.items()))
    raise PreviewError(f"virtual cluster {name} exists in {len(found)} namespaces: {listing}",
                       "pass -n/--namespace with one of them")


async def resolve(host: HostCluster, name: str, namespace: str | None = None,
                  with_helm: bool = True) -> str:
    """The namespace of virtual cluster `name` (`choose` over `locate`). When it is not in
    the `namespace` named, the error says where it is instead, if it can be seen."""
    async with host.client() as kube:
        found = await _locate(host, kube, name, namespace, with_helm)
        if namespace is not None and namespace not in found:
            try:
                found = await _locate(host, kube, name, None, with_helm, fallback=False)
            except ApiError as e:
                log.info("cannot look for %s in other namespaces: %s", name, e.message)
    return choose(name, found, namespace)


async def locate(host: HostCluster, name: str, namespace: str | None = None,
                 with_helm: bool = True, fallback: bool = True) -> dict[str, list[str]]:
    """Namespaces holding virtual cluster `name` (in `namespace` only, if given), each with
    what showed it. Without permission to look cluster-wide, falls back to the default
    namespace `vcluster-NAME` (as `create` does) if `fallback`, or raises."""
    async with host.client() as kube:
        return await _locate(host, kube, name, namespace, with_helm, fallback)


async def _locate(host: HostCluster, kube: KubeClient, name: str, namespace: str | None,
                  with_helm: bool, fallback: bool = True) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    selector = f"app.kubernetes.io/part-of={PART_OF},app.kubernetes.io/instance={name}"
    try:
        for sts in (await kube.list(STATEFULSETS, namespace, selector)).get("items") or []:
            found.setdefault(sts["metadata"]["namespace"], []).append("StatefulSet")
        if namespace is None:
            labelled = await kube.list(NAMESPACES, None, f"{NAMESPACE_MANAGED_BY}={PART_OF},"
                                                         f"{NAMESPACE_VCLUSTER}={name}")
            for ns in labelled.get("items") or []:
                found.setdefault(ns["metadata"]["name"], []).append("labelled namespace")
        else:
            ns_obj = await kube.get(NAMESPACES, None, namespace)
            labels = ((ns_obj or {}).get("metadata") or {}).get("labels") or {}
            if labels.get(NAMESPACE_MANAGED_BY) == PART_OF and \
                    labels.get(NAMESPACE_VCLUSTER) == name:
                found.setdefault(namespace, []).append("labelled namespace")
    except Forbidden as e:
        if namespace is not None or not fallback:
            raise
        log.info("cannot list cluster-wide (%s); assuming namespace %s", e.message,
                 default_namespace(name))
        return {default_namespace(name): ["default namespace"]}
    if with_helm:
        for release in await releases(host, namespace):
            ns = release["namespace"]
            if release["name"] == name and ns not in found and await is_ours(host, release):
                found.setdefault(ns, []).append(f"helm release, {release['status']}")
    return found


async def releases(host: HostCluster, namespace: str | None) -> list[dict[str, str]]:
    try:
        return await host.helm.releases(namespace)
    except PreviewError as e:
        # Listing releases needs to read Secrets everywhere; without it we still have the
        # StatefulSets and namespaces.
        log.info("helm releases not listed: %s", e.message)
        return []


async def is_ours(host: HostCluster, release: Mapping[str, str]) -> bool:
    """Whether a helm release is of our charts/vcluster (chart name, then its annotation)."""
    if not str(release.get("chart", "")).startswith(f"{CHART_NAME}-"):
        return False
    try:
        metadata = await host.helm.chart_metadata(release["name"], release["namespace"])
    except PreviewError:
        return False
    return CHART_MARK in (metadata.get("annotations") or {})
