"""Logs the garbage collector's long passes of every Python process started with this
directory on PYTHONPATH (Python imports `sitecustomize` at start-up), to find stalls.

    PYTHONPATH=bench/gc_probe GC_PROBE_DIR=/tmp/gc .venv/bin/python bench/syncer.py --scale 0

writes /tmp/gc/gc-PID.log per process (the benchmark, both sandboxes, the syncer): its
command line, then one line per full pass and per pass over 10 ms — CLOCK_MONOTONIC at its
end (the same clock in every process, so passes line up with the benchmark's timestamps),
generation, wall and CPU milliseconds, objects collected, objects frozen before it. How
issue 26 found what bounded bench/syncer.py's steady p99 (BENCHMARKS.md). Not a test
fixture, not production: nothing imports it.
"""

from __future__ import annotations

import gc
import os
import sys
import time
from typing import Any

_DIR = os.environ.get("GC_PROBE_DIR")
if _DIR:
    _log = open(os.path.join(_DIR, f"gc-{os.getpid()}.log"), "a", buffering=1)  # noqa: SIM115
    _log.write(f"argv {' '.join(sys.argv)[:200]}\n")
    _started = [0.0, 0.0]

    def _probe(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            _started[:] = [time.monotonic(), time.thread_time()]
            return
        wall = time.monotonic() - _started[0]
        cpu = time.thread_time() - _started[1]
        if wall > 0.01 or info["generation"] == 2:
            _log.write(f"{time.monotonic():.3f} gen{info['generation']} {wall * 1000:.1f}ms "
                       f"cpu={cpu * 1000:.1f}ms collected={info['collected']} "
                       f"frozen={gc.get_freeze_count()}\n")

    gc.callbacks.insert(0, _probe)
