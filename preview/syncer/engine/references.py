"""Which virtual objects reference which: kept from the virtual informers' events.

Pods reference ConfigMaps, Secrets and claims; Ingresses their TLS Secrets and backend
Services. With `sync.configs: referenced` a ConfigMap or Secret is copied to the host only
while something references it; a change of references queues both the old and the new
targets, so copies appear and go as they are needed. Lookups are O(1): the syncer never scans
every pod to answer "is this Secret used?".
"""

from __future__ import annotations

from collections.abc import Iterable

Key = tuple[str, str, str]  # (kind, namespace, name) in the virtual cluster


class References:
    def __init__(self) -> None:
        self._out: dict[Key, frozenset[Key]] = {}
        self._in: dict[Key, set[Key]] = {}

    def update(self, referrer: Key, targets: Iterable[Key]) -> set[Key]:
        """Record what `referrer` references now; returns the targets whose referrers
        changed (to be reconciled)."""
        new = frozenset(targets)
        old = self._out.get(referrer, frozenset())
        if new == old:
            return set()
        for target in old - new:
            referrers = self._in.get(target)
            if referrers is not None:
                referrers.discard(referrer)
                if not referrers:
                    del self._in[target]
        for target in new - old:
            self._in.setdefault(target, set()).add(referrer)
        if new:
            self._out[referrer] = new
        else:
            self._out.pop(referrer, None)
        return set(old ^ new)

    def remove(self, referrer: Key) -> set[Key]:
        return self.update(referrer, ())

    def referenced(self, target: Key) -> bool:
        return bool(self._in.get(target))

    def referrers(self, target: Key) -> set[Key]:
        return set(self._in.get(target, ()))
