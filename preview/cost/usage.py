"""What an environment used: its host pods' requests x their lifetime, and its claims' size x
theirs. Pure: pods and claims as the API returns them, and the clock, in; numbers out.

Usage is counted in core-seconds, GiB-seconds (memory) and GiB-seconds (storage), from
*requests* (what the scheduler reserves, what a node's capacity is bought for), not from
what the processes used. A pod counts from its `status.startTime` (else its creation) to
its end: its `deletionTimestamp`, or the last container's `finishedAt` once it Succeeded or
Failed, else `now`. A claim counts from its creation to its deletion (else `now`).

A pod that is gone is no longer in any list, so what is known of it is kept as a `Ledger`
on the environment's namespace (`naming.USAGE`): every pass that records (`accumulate`:
sleep, the GC's pass, `preview cost --record`) closes the intervals of the pods and claims
that went since the last pass — counted until that last pass, when they were last seen —
and keeps the open ones. So the figure is a lower bound: a pod that went between two
passes loses at most the time between them, and a pod that lived and went entirely between
two passes is not counted. A sleeping environment has no pod: sleep is not counted.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from preview.policy import quantity

GIB = Decimal(2**30)
FORMAT = 1


@dataclass(frozen=True)
class Usage:
    """Requests x time: core-seconds, memory GiB-seconds, storage GiB-seconds."""

    cpu: float = 0.0
    memory: float = 0.0
    storage: float = 0.0

    def __add__(self, other: Usage) -> Usage:
        return Usage(self.cpu + other.cpu, self.memory + other.memory,
                     self.storage + other.storage)

    @property
    def cpu_hours(self) -> float:
        return self.cpu / 3600

    @property
    def memory_gib_hours(self) -> float:
        return self.memory / 3600

    @property
    def storage_gib_hours(self) -> float:
        return self.storage / 3600


@dataclass(frozen=True)
class Interval:
    """One pod's or claim's requests over its lifetime (`end` None: still there)."""

    uid: str
    start: float  # epoch seconds
    end: float | None
    cpu: float = 0.0  # cores
    memory: float = 0.0  # GiB
    storage: float = 0.0  # GiB

    def usage(self, until: float) -> Usage:
        seconds = max((self.end if self.end is not None else until) - self.start, 0.0)
        return Usage(self.cpu * seconds, self.memory * seconds, self.storage * seconds)


@dataclass(frozen=True)
class Ledger:
    """What a namespace remembers between passes: usage of what is gone, the open intervals
    last seen, and when that was (`at`, epoch seconds; 0 before the first pass)."""

    closed: Usage = Usage()
    open: dict[str, Interval] = field(default_factory=dict)
    at: float = 0.0
    # Counted already though still listed (a Succeeded pod stays until deleted): not twice.
    ended: frozenset[str] = frozenset()


def _epoch(stamp: object) -> float | None:
    if not isinstance(stamp, str) or not stamp:
        return None
    return dt.datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def _requests(container: dict[str, Any], name: str) -> Decimal:
    value = ((container.get("resources") or {}).get("requests") or {}).get(name)
    try:
        return quantity.parse(value) if value is not None else Decimal(0)
    except ValueError:
        return Decimal(0)


def pod_requests(pod: dict[str, Any]) -> tuple[float, float]:
    """(cores, GiB) a pod requests: its containers' sum, or its largest init container's
    when that is more (the scheduler's effective request), plus its overhead."""
    spec = pod.get("spec") or {}
    totals = []
    for name in ("cpu", "memory"):
        running = sum((_requests(c, name) for c in spec.get("containers") or []), Decimal(0))
        init = max((_requests(c, name) for c in spec.get("initContainers") or []),
                   default=Decimal(0))
        overhead = (spec.get("overhead") or {}).get(name)
        extra = quantity.parse(overhead) if overhead is not None else Decimal(0)
        totals.append(max(running, init) + extra)
    return float(totals[0]), float(totals[1] / GIB)


def pod_interval(pod: dict[str, Any]) -> Interval | None:
    """The interval of a pod that has started (None: not scheduled and started yet)."""
    meta, status = pod.get("metadata") or {}, pod.get("status") or {}
    start = _epoch(status.get("startTime"))
    if start is None:
        return None
    end = _epoch(meta.get("deletionTimestamp"))
    if end is None and status.get("phase") in ("Succeeded", "Failed"):
        finished = [_epoch((s.get("state") or {}).get("terminated", {}).get("finishedAt"))
                    for s in status.get("containerStatuses") or []]
        known = [f for f in finished if f is not None]
        end = max(known) if known else None
    cpu, memory = pod_requests(pod)
    return Interval(str(meta.get("uid", "")), start, end, cpu=cpu, memory=memory)


def claim_interval(claim: dict[str, Any]) -> Interval | None:
    """The interval of a PersistentVolumeClaim: its requested (else bound) size."""
    meta = claim.get("metadata") or {}
    start = _epoch(meta.get("creationTimestamp"))
    if start is None:
        return None
    spec, status = claim.get("spec") or {}, claim.get("status") or {}
    size = ((spec.get("resources") or {}).get("requests") or {}).get("storage") or \
        (status.get("capacity") or {}).get("storage")
    try:
        storage = float(quantity.parse(size) / GIB) if size is not None else 0.0
    except ValueError:
        storage = 0.0
    return Interval(str(meta.get("uid", "")), start, _epoch(meta.get("deletionTimestamp")),
                    storage=storage)


def intervals(pods: list[dict[str, Any]], claims: list[dict[str, Any]]) -> list[Interval]:
    found = [pod_interval(p) for p in pods] + [claim_interval(c) for c in claims]
    return [i for i in found if i is not None]


def accumulate(ledger: Ledger, current: list[Interval], now: float) -> Ledger:
    """The ledger after a pass at `now` that sees `current`: what went since the last pass
    closed at that pass, ended intervals closed at their end, the rest kept open."""
    seen = {i.uid for i in current}
    closed = ledger.closed
    for uid, interval in ledger.open.items():
        if uid not in seen:  # gone since the last pass: counted until then
            closed += interval.usage(min(ledger.at, now))
    still: dict[str, Interval] = {}
    ended = set()
    for interval in current:
        if interval.end is not None and interval.end <= now:
            ended.add(interval.uid)
            if interval.uid not in ledger.ended:
                closed += interval.usage(now)
        else:
            still[interval.uid] = replace(interval, end=None)
    return Ledger(closed, still, now, frozenset(ended))


def total(ledger: Ledger, current: list[Interval], now: float) -> Usage:
    """Usage so far: the ledger's closed intervals, its open ones that went (until the last
    pass), and what is there now (until `now`) — without writing anything."""
    after = accumulate(ledger, current, now)
    return after.closed + sum((i.usage(now) for i in after.open.values()), Usage())


def dump(ledger: Ledger) -> str:
    """The ledger as the namespace annotation's JSON (compact)."""
    return json.dumps({
        "v": FORMAT, "at": ledger.at,
        "closed": [ledger.closed.cpu, ledger.closed.memory, ledger.closed.storage],
        "open": {uid: [i.start, i.cpu, i.memory, i.storage] for uid, i in ledger.open.items()},
        "ended": sorted(ledger.ended),
    }, separators=(",", ":"))


def load(text: str | None) -> Ledger:
    """A ledger from the annotation; an empty one when absent or unreadable (a hand-edited
    annotation loses the history, it does not fail the pass)."""
    if not text:
        return Ledger()
    try:
        data = json.loads(text)
        if data.get("v") != FORMAT:
            return Ledger()
        cpu, memory, storage = (float(x) for x in data["closed"])
        opened = {str(uid): Interval(str(uid), float(v[0]), None, float(v[1]), float(v[2]),
                                     float(v[3])) for uid, v in data["open"].items()}
        return Ledger(Usage(cpu, memory, storage), opened, float(data["at"]),
                      frozenset(str(uid) for uid in data.get("ended") or ()))
    except (ValueError, TypeError, KeyError, AttributeError, IndexError):
        return Ledger()
