"""Short garbage-collector pauses for processes that keep big caches: the syncer and the
sandbox's API servers.

CPython's cyclic collector walks every tracked container (every dict and list) on a full
pass, and makes one whenever the containers moved into its oldest generation since the
last full pass reach a quarter of those that survived it. An informer's cache, or an API
server's store and watch history, is hundreds of thousands to millions of such containers:
long-lived and free of cycles, yet walked again on every full pass — a stop of the whole
process that grows with the cache (0.5 to 2.4 s of the sandbox host's with ~3000 pods,
measured in `bench/syncer.py`: a steady-phase p99 of about half a second both ways, even
on a quiet machine).

`FreezeSurvivors` freezes (`gc.freeze`) what survived a full pass once that is more than
`threshold` containers. A frozen object is still freed by reference counting as soon as
nothing holds it (how a cached object dies: the cache replaces or drops it), but no pass
walks it, so a full pass costs what changed since the last freeze instead of the whole
heap. The price: a reference cycle among frozen objects that becomes garbage later is not
found by the passes. So every `rewalk_seconds` the policy unfreezes instead: the next full
pass walks everything once, reclaims such cycles, and freezes again (one long pause per
period, rather than one per quarter of growth).

The collector is the process's, so is this: the entry point of a long-running command
installs it (`preview syncer`, `preview sandbox apiserver`), never a library.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from typing import Any

# About 5 to 20 ms of walking on the machines BENCHMARKS.md names: a full pass of the rest
# stays under the syncer's 50 ms latency target.
DEFAULT_THRESHOLD = 50_000
DEFAULT_REWALK_SECONDS = 3600.0


class FreezeSurvivors:
    """The policy of the module docstring, for this process once `install`ed.

    `freezes` and `rewalks` count what it did (for logs and tests); `clock` is injectable so
    the rewalk period is tested without waiting for it.
    """

    def __init__(self, threshold: int = DEFAULT_THRESHOLD,
                 rewalk_seconds: float = DEFAULT_REWALK_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if threshold < 1 or rewalk_seconds <= 0:
            raise ValueError("FreezeSurvivors needs threshold >= 1 and rewalk_seconds > 0, "
                             f"not {threshold} and {rewalk_seconds}")
        self.threshold = threshold
        self.rewalk_seconds = rewalk_seconds
        self.clock = clock
        self.freezes = 0
        self.rewalks = 0
        self._rewalked = clock()

    def install(self) -> None:
        """Act after every full pass of this process's collector from now on."""
        if self._after_pass not in gc.callbacks:
            self._rewalked = self.clock()
            gc.callbacks.append(self._after_pass)

    def uninstall(self) -> None:
        """Stop, and hand what was frozen back to the collector's oldest generation."""
        if self._after_pass in gc.callbacks:
            gc.callbacks.remove(self._after_pass)
        gc.unfreeze()

    def _after_pass(self, phase: str, info: dict[str, Any]) -> None:
        # Called by the collector itself: at "stop" of a full pass the younger generations
        # are empty and every unreachable cycle has just been freed, so what gen2 holds is
        # exactly what is alive. Counting it copies one list of pointers (a fraction of the
        # pass just made); freezing moves the collector's lists, nothing else.
        if phase != "stop" or info.get("generation") != 2:
            return
        if self.clock() - self._rewalked >= self.rewalk_seconds:
            self._rewalked = self.clock()
            self.rewalks += 1
            gc.unfreeze()
            return
        if len(gc.get_objects(generation=2)) >= self.threshold:
            self.freezes += 1
            gc.freeze()
