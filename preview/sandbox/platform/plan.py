"""How the sandbox stands in for the platform API's pod: pure decisions, no I/O.

The Deployment of `charts/preview-platform` (pod labels `app.kubernetes.io/name=
preview-platform`, `app.kubernetes.io/component=api`) runs one container whose command line
is `preview serve …` (the syncer image's `preview`, its entrypoint `preview syncer`
replaced by `command: [preview]`). `runtime.py` runs it as `python -m preview serve …` with
`--listen` moved to a free loopback port that serves the container port it named: pods
share the loopback interface here, so two APIs cannot both listen on 8080.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

LABELS = {"app.kubernetes.io/name": "preview-platform",
          "app.kubernetes.io/component": "api"}
# The image's ENTRYPOINT (Dockerfile); the chart replaces it with `command: [preview]`.
ENTRYPOINT = ("preview", "syncer")
DEFAULT_LISTEN = "0.0.0.0:8080"  # `preview serve --listen`'s default


def runs_serve(command: Sequence[str]) -> bool:
    """Whether a container's command line (entrypoint resolved) is `preview serve …`."""
    return len(command) >= 2 and command[0].rsplit("/", 1)[-1] == "preview" \
        and command[1] == "serve"


def is_platform_api(pod: dict[str, Any]) -> bool:
    """Whether `pod` is the platform API's pod this runtime can run: the chart's labels and
    every container running `preview serve` (args already expanded or not: the words
    `preview serve` are never a `$(VAR)`)."""
    meta = pod.get("metadata") or {}
    labels = meta.get("labels") or {}
    containers = (pod.get("spec") or {}).get("containers") or []
    return all(labels.get(k) == v for k, v in LABELS.items()) and bool(containers) and all(
        runs_serve([str(a) for a in [*(c.get("command") or ENTRYPOINT), *(c.get("args") or [])]])
        for c in containers)


def serve_argv(command: Sequence[str], port: int) -> tuple[list[str], int]:
    """The container's `preview serve …` run locally, listening on 127.0.0.1:`port`; and
    the container port its `--listen` asked for (8080 when absent, serve's default)."""
    if not runs_serve(command):
        raise ValueError("the platform API's container must run `preview serve …`, not "
                         f"{' '.join(command) or '(no command)'}")
    out = [sys.executable, "-m", "preview"]
    listen = DEFAULT_LISTEN
    i = 1
    while i < len(command):
        arg = command[i]
        if arg == "--listen" and i + 1 < len(command):
            listen = command[i + 1]
            i += 2
            continue
        if arg.startswith("--listen="):
            listen = arg.partition("=")[2]
        else:
            out.append(arg)
        i += 1
    _, _, asked = listen.rpartition(":")
    if not asked.isdigit():
        raise ValueError(f"--listen {listen!r}: expected HOST:PORT")
    return [*out, f"--listen=127.0.0.1:{port}"], int(asked)
