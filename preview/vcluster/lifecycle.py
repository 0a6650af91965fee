"""Creating and deleting virtual clusters on a host cluster.

Ownership is explicit: a namespace is labelled (Pod Security levels included) and deleted
only when `create` made it; a namespace that existed before is used as it is and survives
`delete`. Values are validated by rendering the chart before anything is created.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import yaml
from tenacity import (
    AsyncRetrying,
    RetryError,
    retry_if_exception_type,
    stop_after_delay,
    wait_fixed,
)

from preview import helm, naming
from preview.errors import PreviewError
from preview.kube.client import AlreadyExists, ApiError, Forbidden, KubeClient, NotFound
from preview.kube.host import HostCluster
from preview.kube.resources import (
    CONFIGMAPS,
    NAMESPACES,
    SECRETS,
    STATEFULSETS,
    SYNCED,
    VCLUSTER_KINDS,
)
from preview.vcluster import cidr, diagnose
from preview.vcluster.model import (
    NAMESPACE_MANAGED_BY,
    NAMESPACE_VCLUSTER,
    PART_OF,
    CreateResult,
    DeleteResult,
    Progress,
    chart_path,
    check_name,
    check_namespace,
    kubeconfig_secret,
)
from preview.vcluster.values import Change, changes, kept, merge

# What the syncer may have left when the namespace stays: its copies, by their labels.
CHART_KINDS = VCLUSTER_KINDS
_PSA_LEVELS = ("privileged", "baseline", "restricted")


class _NotYet(Exception):
    """The virtual cluster is not up yet; the message says how far it got."""


def pod_security_labels(level: str) -> dict[str, str]:
    """Pod Security Admission labels for a namespace at `level` (pure)."""
    if level not in _PSA_LEVELS:
        raise PreviewError(f"isolation.podSecurity {level!r} is not a Pod Security level",
                           f"use one of {', '.join(_PSA_LEVELS)}")
    return {f"pod-security.kubernetes.io/{mode}": level for mode in ("enforce", "audit", "warn")}


@dataclass(frozen=True)
class ReleasePlan:
    """What to do with virtual cluster `name`'s release, read once from the host (`plan`) and
    applied without reading or rendering again (`apply`)."""

    name: str
    namespace: str
    values: dict[str, Any]  # to install: serviceCIDR set when the installed release has one
    installed: dict[str, Any] | None  # the release's user values; None: no release
    current: bool  # its last revision is deployed, of this chart, with exactly `values`
    ready: bool  # its control plane is ready (asked only when `current`)
    kept: tuple[str, ...] = ()  # installed keys kept because they were not given again
    changes: tuple[Change, ...] = ()

    @property
    def unchanged(self) -> bool:
        """Nothing to do: the release runs with these values."""
        return self.current and self.ready


def chart_label() -> str:
    """charts/vcluster as `helm history` names it: NAME-VERSION."""
    chart = yaml.safe_load((chart_path() / "Chart.yaml").read_text()) or {}
    return f"{chart.get('name', '')}-{chart.get('version', '')}"


def planned_values(installed: dict[str, Any] | None, given: dict[str, Any],
                   reset_values: bool) -> dict[str, Any]:
    """The values to install (pure): `given`, merged over the installed ones unless
    `reset_values`; the installed serviceCIDR is kept unless given (it was detected at the
    first install, and detecting again costs requests and cannot differ)."""
    values = merge(installed, given) if installed is not None and not reset_values \
        else dict(given)
    if installed is not None and not values.get("serviceCIDR") and installed.get(
            "serviceCIDR"):
        values["serviceCIDR"] = installed["serviceCIDR"]
    return values


def is_current(history: list[helm.Revision], installed: dict[str, Any] | None,
               values: dict[str, Any], chart: str) -> bool:
    """Whether the release's last revision is deployed from `chart` (NAME-VERSION) with
    exactly `values` (pure); a pending, failed or other chart's revision is not."""
    return bool(history) and installed is not None and history[-1].status == "deployed" \
        and history[-1].chart == chart and installed == values


async def plan(host: HostCluster, kube: KubeClient, name: str, namespace: str,
               values: dict[str, Any], *, reset_values: bool = False) -> ReleasePlan:
    """Read the release once (one `helm history`, one `helm status`, side by side; the
    control plane's readiness when nothing else would change) and decide."""
    check_name(name)
    check_namespace(namespace)
    history, status = await asyncio.gather(host.helm.history(name, namespace),
                                           host.helm.deployed(name, namespace))
    installed = dict(status.get("config") or {}) if status is not None else None
    planned = planned_values(installed, values, reset_values)
    current = is_current(history, installed, planned, chart_label())
    return ReleasePlan(
        name, namespace, planned, installed, current,
        ready=current and await control_plane_ready(kube, name, namespace),
        kept=kept(installed, values) if installed is not None and not reset_values else (),
        changes=changes(installed, planned) if installed is not None else ())


async def control_plane_ready(kube: KubeClient, name: str, namespace: str) -> bool:
    sts = await kube.get(STATEFULSETS, namespace, name)
    status = (sts or {}).get("status") or {}
    secret = await kube.get(SECRETS, namespace, kubeconfig_secret(name))
    return bool(sts) and (status.get("readyReplicas") or 0) >= 1 and secret is not None


async def create(host: HostCluster, name: str, namespace: str, values: dict[str, Any],
                 progress: Progress, timeout: float = 300.0, upgrade: bool = False,
                 reset_values: bool = False) -> CreateResult:
    """Install virtual cluster `name` in `namespace` and wait until it is ready.

    An existing release is refused unless `upgrade`; an upgrade keeps the installed values
    that are not given again (unless `reset_values`) and reports every changed key. The
    values are checked against the chart's schema (`helm template`) before anything is
    created. A fresh install that fails is removed again, so nothing half-made stays behind.
    """
    async with host.client() as kube:
        planned = await plan(host, kube, name, namespace, values, reset_values=reset_values)
        if planned.installed is not None and not upgrade:
            raise PreviewError(
                f"virtual cluster {name} already exists in namespace {namespace}",
                f"change it with `preview vcluster create {name} -n {namespace} --upgrade` "
                f"(its values are kept unless given again), or remove it with "
                f"`preview vcluster delete {name} -n {namespace}`")
        progress(f"checking values for {name}")
        await helm.render(chart_path(), name, namespace, planned.values)  # schema errors
        return await apply(planned, host, kube, progress, timeout)


async def apply(planned: ReleasePlan, host: HostCluster, kube: KubeClient, progress: Progress,
                timeout: float = 300.0) -> CreateResult:
    """Install or upgrade as `planned` (its values already checked against the chart), and
    wait until the virtual cluster is ready."""
    started = time.monotonic()
    name, namespace, installed = planned.name, planned.namespace, planned.installed
    values = dict(planned.values)
    for key in planned.kept:
        progress(f"kept from the installed release: {key}")
    for change in planned.changes:
        progress(f"changing {change}")
    level = str((values.get("isolation") or {}).get("podSecurity", "baseline"))
    created_namespace = await _ensure_namespace(kube, namespace, name, level, progress)
    helm_ran = False
    try:
        if not values.get("serviceCIDR"):
            values["serviceCIDR"] = await cidr.detect(kube, namespace)
            progress(f"host Service CIDR: {values['serviceCIDR']}")
        progress(f"{'upgrading' if installed is not None else 'installing'} chart in "
                 f"{namespace}")
        helm_ran = True
        revision = await host.helm.install_or_upgrade(chart_path(), name, namespace, values)
    except helm.ReleaseBusy:
        raise  # the release is another run's: nothing here is ours to remove
    except PreviewError as e:
        if installed is not None:
            raise PreviewError(e.message, f"the previous revision is still installed; "
                                          f"`helm -n {namespace} history {name}` shows it, "
                                          f"`helm -n {namespace} rollback {name}` restores "
                                          "it") from e
        await _undo_install(host, kube, name, namespace, created_namespace, helm_ran, e,
                            progress, timeout)
        raise
    try:
        await _wait_ready(kube, name, namespace, progress, timeout)
    except PreviewError as e:
        raise PreviewError(e.message, f"{e.hint}; to remove it: "
                                      f"`preview vcluster delete {name} -n {namespace}`"
                           ) from None
    return CreateResult(name, namespace, revision, str(values["serviceCIDR"]),
                        kubeconfig_secret(name), round(time.monotonic() - started, 1),
                        created_namespace, installed is not None,
                        tuple(str(c) for c in planned.changes))


async def _undo_install(host: HostCluster, kube: KubeClient, name: str, namespace: str,
                        created_namespace: bool, helm_ran: bool, error: PreviewError,
                        progress: Progress, timeout: float) -> None:
    """Remove what this run's failed fresh install made, and only that; say what could not
    be removed.

    The release is ours only when our `helm install` ran and did not refuse (`ReleaseBusy`
    is raised past this): a release found after a failure *before* helm ran was made by
    another run meanwhile (issue 29: a failure handler uninstalled the virtual cluster a
    concurrent run had just created). The namespace goes only when this run created it and
    no other run's release has appeared in it.
    """
    if not helm_ran:
        if not created_namespace or await host.helm.history(name, namespace):
            error.hint = (f"nothing of {name} was installed by this run; fix the cause above "
                          "and run again")
            return
        progress(f"install failed before helm ran; deleting namespace {namespace}, which "
                 "this run created")
    else:
        progress(f"install failed; removing what was made of {name}")
    try:
        await _delete(host, kube, name, namespace, progress, not created_namespace, timeout)
    except (PreviewError, ApiError) as cleanup:
        raise PreviewError(
            f"{error.message}\nremoving the half-made {name} failed too: {cleanup}",
            f"remove it with `preview vcluster delete {name} -n {namespace}`") from error
    removed = f"namespace {namespace} deleted" if created_namespace else "release removed"
    error.hint = f"nothing was left behind ({removed}); fix the cause above and run again"


async def _ensure_namespace(kube: KubeClient, namespace: str, name: str, level: str,
                            progress: Progress) -> bool:
    labels = {NAMESPACE_MANAGED_BY: PART_OF, NAMESPACE_VCLUSTER: name,
              **pod_security_labels(level)}
    existing = await kube.get(NAMESPACES, None, namespace)
    if existing is None:
        try:
            await kube.create(NAMESPACES, None, {"metadata": {"name": namespace,
                                                              "labels": labels}})
            progress(f"created namespace {namespace}")
            return True
        except AlreadyExists:
            existing = await kube.get(NAMESPACES, None, namespace)
    if existing is not None and existing["metadata"].get("deletionTimestamp"):
        raise PreviewError(f"namespace {namespace} is being deleted",
                           "wait until it is gone, or pick another --namespace")
    current = (existing or {}).get("metadata", {}).get("labels") or {}
    if current.get(NAMESPACE_MANAGED_BY) == PART_OF:
        if current.get(NAMESPACE_VCLUSTER) not in (None, name):
            raise PreviewError(f"namespace {namespace} already holds virtual cluster "
                               f"{current[NAMESPACE_VCLUSTER]}",
                               "one virtual cluster per namespace: pick another --namespace")
        if any(current.get(k) != v for k, v in labels.items()):
            await kube.patch(NAMESPACES, None, namespace, {"metadata": {"labels": labels}})
        return False
    progress(f"namespace {namespace} exists and is not ours: using it as it is "
             "(no Pod Security labels set)")
    return False


async def wait_ready(kube: KubeClient, name: str, namespace: str, progress: Progress,
                     timeout: float) -> None:
    """Until the control plane is ready and has published its kubeconfig (a woken one)."""
    await _wait_ready(kube, name, namespace, progress, timeout)


async def _wait_ready(kube: KubeClient, name: str, namespace: str, progress: Progress,
                      timeout: float) -> None:
    said = ""

    async def check() -> None:
        nonlocal said
        sts = await kube.get(STATEFULSETS, namespace, name)
        status = (sts or {}).get("status") or {}
        if not sts or status.get("readyReplicas", 0) < 1 or \
                status.get("observedGeneration", 0) < sts["metadata"].get("generation", 1):
            message = f"waiting for the control plane ({status.get('readyReplicas', 0)}/1 ready)"
        elif await kube.get(SECRETS, namespace, kubeconfig_secret(name)) is None:
            message = f"waiting for the kubeconfig Secret {kubeconfig_secret(name)}"
        else:
            return
        if message != said:
            progress(message)
            said = message
        raise _NotYet(message)

    try:
        async for attempt in AsyncRetrying(stop=stop_after_delay(timeout), wait=wait_fixed(0.5),
                                           retry=retry_if_exception_type(_NotYet)):
            with attempt:
                await check()
    except RetryError as e:
        details = await diagnose.control_plane(kube, name, namespace)
        raise PreviewError(f"virtual cluster {name} was not ready after {timeout:.0f}s: "
                           f"{e.last_attempt.exception()}\n{details}",
                           f"look at `kubectl -n {namespace} describe pod {name}-0` and its "
                           "containers' logs (k3s, syncer)") from None


async def delete(host: HostCluster, name: str, namespace: str, progress: Progress,
                 keep_namespace: bool = False, timeout: float = 300.0) -> DeleteResult:
    """Uninstall, remove what the syncer made, delete the namespace if we made it, report
    leftovers. Objects without our labels are never touched."""
    async with host.client() as kube:
        return await _delete(host, kube, name, namespace, progress, keep_namespace, timeout)


async def _delete(host: HostCluster, kube: KubeClient, name: str, namespace: str,
                  progress: Progress, keep_namespace: bool, timeout: float) -> DeleteResult:
    started = time.monotonic()
    check_name(name)
    check_namespace(namespace)
    uninstalled = False
    if await _has_release(kube, name, namespace):
        progress(f"uninstalling {name} from {namespace}")
        uninstalled = await host.helm.uninstall(name, namespace)
    # The syncer is gone now: nothing recreates its copies while they are removed.
    owned = f"{naming.MANAGED_BY}={naming.SYNCER_VALUE},{naming.VCLUSTER}={naming.label_value(name)}"
    for res in SYNCED:
        for obj in (await kube.list(res, namespace, owned)).get("items") or []:
            await kube.delete(res, namespace, obj["metadata"]["name"],
                              uid=obj["metadata"]["uid"], grace_period=0)
    secret = await kube.get(SECRETS, namespace, kubeconfig_secret(name))
    if secret is not None and (secret["metadata"].get("labels") or {}).get(
            "app.kubernetes.io/instance") == name:
        await kube.delete(SECRETS, namespace, kubeconfig_secret(name))
    ns = await kube.get(NAMESPACES, None, namespace)
    ns_labels = (ns or {}).get("metadata", {}).get("labels") or {}
    ours = ns_labels.get(NAMESPACE_MANAGED_BY) == PART_OF and \
        ns_labels.get(NAMESPACE_VCLUSTER) == name
    namespace_deleted = False
    if ns is not None and ours and not keep_namespace:
        progress(f"deleting namespace {namespace}")
        await kube.delete(NAMESPACES, None, namespace, uid=ns["metadata"]["uid"])
        await _wait_gone(kube, namespace, ns["metadata"]["uid"], progress, timeout)
        namespace_deleted = True
    leftovers = () if namespace_deleted else await _leftovers(kube, name, namespace)
    return DeleteResult(name, namespace, uninstalled, namespace_deleted, leftovers,
                        round(time.monotonic() - started, 1))


async def _has_release(kube: KubeClient, name: str, namespace: str) -> bool:
    """Whether helm stores a release `name` in `namespace` (its Secret or ConfigMap driver's
    records, labelled owner=helm): two API reads instead of a helm process, which matters
    when the GC deletes hundreds of broken environments side by side."""
    selector = f"owner=helm,name={name}"
    for res in (SECRETS, CONFIGMAPS):
        if (await kube.list(res, namespace, selector)).get("items"):
            return True
    return False


async def _wait_gone(kube: KubeClient, namespace: str, uid: str, progress: Progress,
                     timeout: float) -> None:
    """Until the namespace with `uid` is gone. Another of the same name may be there by then:
    an `up` that waited for this teardown creates the environment afresh at once."""
    deadline = time.monotonic() + timeout
    said = ""
    while True:
        ns = await kube.get(NAMESPACES, None, namespace)
        if ns is None or ns["metadata"].get("uid") != uid:
            return
        conditions = {c.get("type"): c.get("message") for c in
                      (ns.get("status") or {}).get("conditions") or []}
        message = conditions.get("NamespaceContentRemaining") or "namespace terminating"
        if message != said:
            progress(message)
            said = message
        if time.monotonic() > deadline:
            raise PreviewError(f"namespace {namespace} was still terminating after "
                               f"{timeout:.0f}s: {message}",
                               "look for finalizers on the objects it names")
        await asyncio.sleep(0.5)


async def _leftovers(kube: KubeClient, name: str, namespace: str) -> tuple[str, ...]:
    found = []
    selectors = (f"{naming.VCLUSTER}={naming.label_value(name)}",
                 f"app.kubernetes.io/instance={name},app.kubernetes.io/part-of={PART_OF}")
    for res in CHART_KINDS:
        seen: set[str] = set()
        for selector in selectors:
            try:
                items = (await kube.list(res, namespace, selector)).get("items") or []
            except (Forbidden, NotFound):
                continue
            for obj in items:
                key = f"{res.kind}/{obj['metadata']['name']}"
                if key not in seen and not obj["metadata"].get("deletionTimestamp"):
                    seen.add(key)
                    found.append(key)
    return tuple(sorted(found))
