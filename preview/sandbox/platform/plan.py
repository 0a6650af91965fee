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


def serve_argv(command: Sequence[str], port: int, wake_port: int
               ) -> tuple[list[str], dict[int, int]]:
    """The container's `preview serve …` run locally; and which local port serves each
    container port it listens on: `--listen` (8080 when absent, serve's default) moves to
    127.0.0.1:`port`, a `--wake-listen` (the wake page, when given) to 127.0.0.1:`wake_port`."""
    if not runs_serve(command):
        raise ValueError("the platform API's container must run `preview serve …`, not "
                         f"{' '.join(command) or '(no command)'}")
    argv, asked = _move_address(command[1:], "--listen", port)
    ports = {asked or _port("--listen", DEFAULT_LISTEN): port}
    argv, wake = _move_address(argv, "--wake-listen", wake_port)
    if wake is not None:
        ports[wake] = wake_port
    return [sys.executable, "-m", "preview", *argv], ports


def _move_address(args: Sequence[str], flag: str, port: int) -> tuple[list[str], int | None]:
    """`flag HOST:N` / `flag=HOST:N` rewritten to `flag=127.0.0.1:<port>` (at the end);
    and N, or None when the flag is absent (then `flag=…` is added only for --listen)."""
    out: list[str] = []
    asked: int | None = None
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == flag and i + 1 < len(args):
            asked = _port(flag, args[i + 1])
            i += 2
            continue
        if arg.startswith(f"{flag}="):
            asked = _port(flag, arg.partition("=")[2])
        else:
            out.append(arg)
        i += 1
    if asked is None and flag != "--listen":
        return out, None
    return [*out, f"{flag}=127.0.0.1:{port}"], asked


def _port(flag: str, address: str) -> int:
    _, _, port = address.rpartition(":")
    if not port.isdigit():
        raise ValueError(f"{flag} {address!r}: expected HOST:PORT")
    return int(port)
