"""A synced kind, declared: what the generic reconcile (reconcile.py) needs to know of it.

A kind is data and pure functions — how a virtual object becomes its host copy, which
fields are kept in sync, what it references, what status comes back, what it needs to be
allowed on the host — plus, for the few kinds that need it, one hook with I/O (`after`). The
decisions (create, adopt, conflict, patch, delete, status) are the engine's, made the same
way for every kind; a kind the generic reconcile cannot say (pods: the syncer is their
kubelet) brings its own `reconcile` and is otherwise declared like the others.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from preview.kube.client import Resource
from preview.syncer.context import SyncContext
from preview.syncer.engine.fields import Path
from preview.syncer.policy import Violation

if TYPE_CHECKING:
    from preview.syncer.engine.state import State

Obj = dict[str, Any]
# What every synced kind does with its own resource on the host: list and watch it (the
# informers), create, patch, replace and delete its copies.
WRITE = ("get", "list", "watch", "create", "update", "patch", "delete")


@dataclass(frozen=True)
class HostRule:
    """Permission the syncer needs in its host namespace: one rule of the chart's Role."""

    group: str
    resources: tuple[str, ...]
    verbs: tuple[str, ...]


@dataclass(frozen=True)
class Translation:
    """A host copy, and the settings the isolation policy stripped from it."""

    obj: Obj
    stripped: tuple[Violation, ...] = ()


@dataclass(frozen=True)
class Kind:
    name: str  # the work-queue kind, e.g. "ingresses"
    resource: Resource
    name_limit: int  # longest host name the kind allows
    # Pure: (virtual object, context, facts) -> the host copy; raises policy.Refused.
    translate: Callable[[Obj, SyncContext, Any], Translation]
    # Paths of the host copy kept equal to the translation (labels and annotations always).
    synced_fields: tuple[Path, ...]
    # (kind, name) pairs in the same namespace this object references.
    references: Callable[[Obj], Iterable[tuple[str, str]]] | None = None
    # Whether this (live) virtual object should have a host copy now; default: yes.
    wanted: Callable[[State, Obj], bool] | None = None
    # What `translate` needs to know beyond the object (read from the caches).
    facts: Callable[[State, Obj], Any] | None = None
    # Copy what the host allocated (cluster IPs, node ports) into the wanted copy.
    keep: Callable[[Obj, Obj], None] | None = None
    # Whether a patch cannot be applied in place (immutable fields): delete, then create.
    recreate_when: Callable[[Obj, Obj], bool] | None = None
    # The status the virtual object should carry, read from the host copy (None: none).
    status: Callable[[Obj], Obj | None] | None = None
    # Whether a copy of an earlier virtual object of the same name is deleted and made anew
    # (False for Services: the syncer itself recreates them, to hand over the cluster IP).
    replace_on_new_uid: bool = True
    # I/O after the copy is in sync; True when it replaced the virtual object (no status).
    after: Callable[[State, Obj, Obj], Awaitable[bool]] | None = None
    # Host permissions beyond WRITE on its own resource (subresources, other resources).
    host_rules: tuple[HostRule, ...] = ()
    # Whether the host's Events about its copies are copied onto the virtual objects.
    events: bool = False
    # Its own reconcile (state, namespace, name) -> delay to look again, for a kind whose
    # decisions are not the generic ones; the fields above then serve only what it uses.
    reconcile: Callable[[State, str, str], Awaitable[float | None]] | None = None

    def rules(self) -> tuple[HostRule, ...]:
        """Everything this kind does on the host, as Role rules."""
        return (HostRule(self.resource.group, (self.resource.plural,), WRITE),
                *self.host_rules)
