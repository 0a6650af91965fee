"""One writer per environment: a `coordination.k8s.io/v1` Lease, held while a run works.

`up`, `down` and the GC's deletion of an environment hold the Lease `preview-vcluster-lock`
in the environment's host namespace: a second run waits until it is released (or exits at
once with `Busy`), so two runs never install, upgrade or uninstall the same virtual cluster
side by side.

The protocol is client-go's leader election, over plain REST:
- acquire: create the Lease (atomic: one creator wins, the others get AlreadyExists); when it
  exists but is free (no holder, or expired) take it over with a patch carrying the
  resourceVersion read — a 409 means another run won the race, so read again;
- renew: a background task patches `renewTime` every third of the duration, with the
  resourceVersion it last wrote;
- release: delete it with uid and resourceVersion preconditions (a 409 or 404 means it was
  not ours any more: taken over after an expiry, or gone with its namespace).

Writes after the create are merge patches, not updates: a Lease allows create-on-update
(its registry strategy's AllowCreateOnUpdate), so a PUT after the Lease went with its
namespace would create it again — in the namespace an `up` has just made afresh, or in one
being deleted, which it would then keep from finishing. A patch of a missing object is a 404.

A Lease is expired when `renewTime + leaseDurationSeconds` is in the past by our clock, or when
we have watched it stay unchanged for that long (client-go's rule, which holds whatever the
holder's clock says). A run that died is therefore taken over one duration after its last
renewal. Who holds it is `spec.holderIdentity`, written to be read by people: the GitHub run
(id, attempt, URL) or `user@host pid N` (`Holder.of_process`).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from preview import naming
from preview.errors import PreviewError
from preview.kube.client import AlreadyExists, ApiError, Conflict, Forbidden, KubeClient, NotFound
from preview.kube.objects import parse_time
from preview.kube.resources import LEASES, NAMESPACES

log = logging.getLogger(__name__)
LEASE_NAME = "preview-vcluster-lock"
DURATION_SECONDS = 30  # a dead holder blocks others this long at most
POLL_SECONDS = 1.0  # how often a waiting run reads the Lease again (client-go retries at 2 s)


@dataclass(frozen=True)
class Holder:
    """Who works on an environment: `identity` says which run, for people and for the Lease."""

    identity: str

    @classmethod
    def of_process(cls, environ: Mapping[str, str], user: str, host: str, pid: int) -> Holder:
        """This process as a holder (pure): the GitHub run when the variables of GitHub
        Actions name one, then always `user@host pid N` (two jobs of one run differ there)."""
        process = f"{user}@{host} pid {pid}"
        run_id = environ.get("GITHUB_RUN_ID", "")
        if not run_id:
            return cls(process)
        attempt = environ.get("GITHUB_RUN_ATTEMPT", "")
        run = f"run {run_id}" + (f" attempt {attempt}" if attempt else "")
        server, repo = environ.get("GITHUB_SERVER_URL", ""), environ.get("GITHUB_REPOSITORY", "")
        if server and repo:
            run += f" ({server}/{repo}/actions/runs/{run_id})"
        return cls(f"{run} on {process}")


class Busy(PreviewError):
    """Another run holds the environment's Lease and we were asked not to wait: exit 4."""

    exit_code = 4

    def __init__(self, message: str, holder: str, operation: str) -> None:
        super().__init__(message, "it leaves the environment as its commit says; run again "
                                  "afterwards (or without --no-wait) to apply yours")
        self.holder = holder
        self.operation = operation


class NamespaceGone(Exception):
    """The Lease's namespace is gone or being deleted, with no Lease left in it to wait on
    (a teardown finished, or is finishing, there). `holder`: whom we waited for first."""

    def __init__(self, message: str, holder: str = "") -> None:
        super().__init__(message)
        self.holder = holder


@dataclass
class Held:
    """A Lease we hold; `lost` says why we stopped holding it before the release, if we did."""

    kube: KubeClient
    namespace: str
    holder: Holder
    lease: dict[str, Any]
    waited: str = ""  # whom we waited for before we got it ("" when it was free)
    lost: str = ""
    _renewer: asyncio.Task[None] | None = field(default=None, repr=False)


def micro_time(moment: dt.datetime) -> str:
    """`metav1.MicroTime` (pure)."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def expired(lease: dict[str, Any], now: dt.datetime) -> bool:
    """Whether a Lease is free by the clock: no holder, or its last renewal too old (pure)."""
    spec = lease.get("spec") or {}
    if not spec.get("holderIdentity"):
        return True
    renewed = spec.get("renewTime") or spec.get("acquireTime")
    if not renewed:
        return True
    try:
        last = parse_time(str(renewed))
    except ValueError:
        return True
    return last + dt.timedelta(seconds=int(spec.get("leaseDurationSeconds") or 0)) < now


def describe(lease: dict[str, Any]) -> tuple[str, str]:
    """(holder, operation) as the Lease names them (pure)."""
    spec = lease.get("spec") or {}
    notes = (lease.get("metadata") or {}).get("annotations") or {}
    return str(spec.get("holderIdentity") or "?"), str(notes.get(naming.LOCK_OPERATION) or "")


async def _terminating(kube: KubeClient, namespace: str) -> bool:
    """Whether `namespace` is gone or being deleted: what a Forbidden create in it means
    then (NamespaceLifecycle), rather than a rule the caller lacks."""
    found = await kube.get(NAMESPACES, None, namespace)
    return found is None or bool(found["metadata"].get("deletionTimestamp")) or \
        (found.get("status") or {}).get("phase") == "Terminating"


def _body(holder: Holder, operation: str, labels: Mapping[str, str], now: dt.datetime,
          duration: int, base: dict[str, Any] | None = None) -> dict[str, Any]:
    """The Lease as `holder` writes it when acquiring: the whole object to create, or (over
    `base`, the one read) the merge patch that takes it over, its resourceVersion the
    precondition."""
    stamp = micro_time(now)
    transitions = int(((base or {}).get("spec") or {}).get("leaseTransitions") or 0)
    meta: dict[str, Any] = {"labels": dict(labels),
                            "annotations": {naming.LOCK_OPERATION: operation}}
    if base is None:
        meta["name"] = LEASE_NAME
    else:
        meta["resourceVersion"] = base["metadata"]["resourceVersion"]
    return {"apiVersion": LEASES.api_version, "kind": LEASES.kind, "metadata": meta,
            "spec": {"holderIdentity": holder.identity, "leaseDurationSeconds": duration,
                     "acquireTime": stamp, "renewTime": stamp,
                     "leaseTransitions": transitions + (1 if base else 0)}}


async def acquire(kube: KubeClient, namespace: str, holder: Holder, operation: str, *,
                  subject: str, labels: Mapping[str, str], wait: bool, timeout: float,
                  progress: Callable[[str], None], duration: int = DURATION_SECONDS,
                  poll: float = POLL_SECONDS) -> tuple[dict[str, Any], str]:
    """Take the Lease of `namespace` for `operation` (up, down, gc); (the Lease, whom we
    waited for). Waits up to `timeout` seconds for a live holder, telling `progress` who it
    is, unless not `wait` (then `Busy`). Raises NamespaceGone (see there)."""
    deadline = time.monotonic() + timeout
    seen_version, seen_at, said, waited = "", 0.0, "", ""
    while True:
        now = dt.datetime.now(dt.UTC)
        current: dict[str, Any] | None
        try:
            created = await kube.create(LEASES, namespace,
                                        _body(holder, operation, labels, now, duration))
            return created, waited
        except AlreadyExists:
            current = await kube.get(LEASES, namespace, LEASE_NAME)
        except NotFound as e:
            raise NamespaceGone(str(e), waited) from e
        except Forbidden:
            # Creating is refused in a namespace being deleted; a Lease in it may still be
            # held (by the `down` deleting it), and updating it is allowed.
            current = await kube.get(LEASES, namespace, LEASE_NAME)
            if current is None:
                if not await _terminating(kube, namespace):
                    raise  # not the namespace: RBAC refused it (a rule missing)
                raise NamespaceGone(f"namespace {namespace} is being deleted", waited) from None
        if current is None:
            continue  # released between our create and our read: try again
        version = str(current["metadata"].get("resourceVersion", ""))
        if version != seen_version:
            seen_version, seen_at = version, time.monotonic()
        spec = current.get("spec") or {}
        stale = time.monotonic() - seen_at > int(spec.get("leaseDurationSeconds") or 0)
        if expired(current, now) or stale:
            if spec.get("holderIdentity"):
                log.warning("taking over the expired lease of %s in %s",
                            spec["holderIdentity"], namespace)
            try:
                taken = await kube.patch(LEASES, namespace, LEASE_NAME,
                                         _body(holder, operation, labels, now, duration,
                                               current))
                return taken, waited
            except (Conflict, NotFound):
                continue  # another run was quicker, or it was just deleted: read again
        who, what = describe(current)
        doing = f" ({what})" if what else ""
        if not wait:
            raise Busy(f"{who}{doing} is working on {subject}: not waiting (--no-wait)",
                       who, what)
        if time.monotonic() > deadline:
            raise PreviewError(f"waited {timeout:.0f}s for {who}{doing} to finish with "
                               f"{subject}; it still holds the lock",
                               f"look at that run; `kubectl -n {namespace} get lease "
                               f"{LEASE_NAME} -o yaml` shows it (it expires "
                               f"{duration}s after its holder stops renewing it)")
        message = f"waiting for {who}{doing} of {subject} to finish"
        if message != said:
            progress(message)
            said, waited = message, who
        await asyncio.sleep(poll)


async def _renew(held: Held, duration: int) -> None:
    """Keep `held` ours: a new renewTime every third of the duration, until cancelled."""
    interval = duration / 3
    last_renewed = time.monotonic()
    while True:
        await asyncio.sleep(interval)
        renewal = {"metadata": {"resourceVersion": held.lease["metadata"]["resourceVersion"]},
                   "spec": {"renewTime": micro_time(dt.datetime.now(dt.UTC))}}
        try:
            held.lease = await held.kube.patch(LEASES, held.namespace, LEASE_NAME, renewal)
            last_renewed = time.monotonic()
        except (Conflict, NotFound) as e:
            held.lost = ("it was deleted (with its namespace?)" if isinstance(e, NotFound)
                         else "another run took it over")
            log.warning("lost the lease in %s: %s", held.namespace, held.lost)
            return
        except (ApiError, OSError, TimeoutError) as e:
            log.warning("renewing the lease in %s failed: %s", held.namespace, e)
            if time.monotonic() - last_renewed > duration:
                held.lost = f"it could not be renewed for {duration}s ({e})"
                return


async def release(held: Held) -> None:
    """Stop renewing and give the Lease up (only the object we hold: uid + resourceVersion)."""
    if held._renewer is not None:
        held._renewer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await held._renewer
        held._renewer = None
    if held.lost:
        return
    meta = held.lease["metadata"]
    try:
        await held.kube.delete(LEASES, held.namespace, LEASE_NAME, uid=meta.get("uid"),
                               resource_version=meta.get("resourceVersion"))
    except (ApiError, OSError, TimeoutError) as e:
        # It expires on its own: the next run waits `DURATION_SECONDS` at most.
        log.warning("releasing the lease in %s failed: %s", held.namespace, e)


@contextlib.asynccontextmanager
async def holding(kube: KubeClient, namespace: str, holder: Holder, lease: dict[str, Any],
                  waited: str = "", duration: int = DURATION_SECONDS) -> AsyncIterator[Held]:
    """A Lease `acquire` gave us: renewed while the block runs, released at its end."""
    held = Held(kube, namespace, holder, lease, waited)
    held._renewer = asyncio.create_task(_renew(held, duration))
    try:
        yield held
    finally:
        await asyncio.shield(release(held))
