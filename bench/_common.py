"""What the benchmarks share: sandbox API servers and the syncer as processes of their own
(started, waited for, always stopped), `preview` commands timed, and the report.

Each process is `python -m preview …`, as a user runs it, so a benchmark measures the real
processes and never imports the sandbox.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


@contextlib.contextmanager
def process(*args: str, stop_timeout: float = 10, **popen: Any) -> Iterator[subprocess.Popen[Any]]:
    """`preview ARGS…` running for the duration of the block; SIGTERM (then SIGKILL) after."""
    proc = subprocess.Popen([sys.executable, "-m", "preview", *args], **popen)
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(stop_timeout)
        except subprocess.TimeoutExpired:  # thousands of pods take a while to stop
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def apiserver(kubeconfig: Path, flavour: str = "host", nodes: int | None = None,
              stop_timeout: float = 10) -> Iterator[subprocess.Popen[str]]:
    """`preview sandbox apiserver`, once it serves (it prints one line then), writing its
    admin kubeconfig to `kubeconfig`."""
    args = ["sandbox", "apiserver", "--flavour", flavour, "--kubeconfig", str(kubeconfig)]
    if nodes is not None:
        args += ["--nodes", str(nodes)]
    with process(*args, stop_timeout=stop_timeout, stdout=subprocess.PIPE, text=True) as proc:
        assert proc.stdout is not None
        if not proc.stdout.readline():
            raise SystemExit(f"the {flavour} sandbox did not start")
        yield proc


@dataclass(frozen=True)
class RunningSyncer:
    """A started `preview syncer`: its process and where it serves its metrics."""

    proc: subprocess.Popen[Any]
    port: int

    def metric(self, name: str) -> float:
        """One unlabelled metric's current value, from its Prometheus exposition."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=5) as r:
            for line in r.read().decode().splitlines():
                if line.startswith(name + " "):
                    return float(line.split()[1])
        raise KeyError(name)


@contextlib.contextmanager
def syncer(name: str, host_namespace: str, host_kubeconfig: Path, virtual_kubeconfig: Path,
           *flags: str, **popen: Any) -> Iterator[RunningSyncer]:
    """`preview syncer` between two sandboxes, once it reports ready; if it exits before,
    the benchmark stops with its output. Without a `stdout` of the caller's, its output goes
    to a temporary file (kept for that message)."""
    port = free_port()
    with contextlib.ExitStack() as stack:
        if "stdout" not in popen:
            popen.update(stdout=stack.enter_context(tempfile.TemporaryFile()),
                         stderr=subprocess.STDOUT)
        proc = stack.enter_context(process(
            "syncer", "--name", name, "--host-namespace", host_namespace,
            "--host-kubeconfig", str(host_kubeconfig),
            "--virtual-kubeconfig", str(virtual_kubeconfig), "--port", str(port),
            *flags, stop_timeout=15, **popen))

        def ready() -> bool:
            if proc.poll() is not None:
                raise SystemExit(f"the syncer exited ({proc.returncode}) before it was ready"
                                 f"{_tail(popen.get('stdout'))}")
            return answers(f"http://127.0.0.1:{port}/readyz")

        until(ready, 60, 0.1)
        yield RunningSyncer(proc, port)


def proc_stats(pid: int) -> tuple[float, float]:
    """(RSS MiB, user+system CPU seconds) of a process, from /proc."""
    rss = 0.0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1]) / 1024
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return rss, (int(fields[11]) + int(fields[12])) / ticks


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def until(predicate: Callable[[], Any], timeout: float = 300,
          interval: float = 0.005) -> None:
    """Poll `predicate` until it holds; a benchmark that times out stops."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit("timed out")
        time.sleep(interval)


def timed(*args: str) -> tuple[float, str]:
    """Run `preview ARGS…` to completion: (seconds, its stdout); if it fails, the benchmark
    stops with its stderr."""
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "preview", *args],
                          capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"`preview {' '.join(args)}` failed ({done.returncode}):\n"
                         f"{done.stderr.strip() or done.stdout.strip()}")
    return time.monotonic() - started, done.stdout


def header() -> dict[str, Any]:
    """The first fields of every result: when and on what it was measured."""
    return {"date": time.strftime("%Y-%m-%d"),
            "machine": f"{platform.machine()} {os.cpu_count()} cores, "
                       f"Python {platform.python_version()}"}


def report(result: dict[str, Any], output: str = "json") -> None:
    """One JSON line (`-o json`, what BENCHMARKS.md records) or a right-aligned table."""
    if output == "json":
        print(json.dumps(result))
        return
    width = max(map(len, result))
    for key, value in result.items():
        print(f"{key:>{width}}: {value}")


def _tail(out: Any, lines: int = 40) -> str:
    """The last lines a process wrote to `out` (a file it was given), for an error message."""
    try:
        if hasattr(out, "seek") and out.readable():
            out.flush()
            out.seek(0)
            text = out.read()
        elif isinstance(getattr(out, "name", None), str):
            out.flush()
            text = Path(out.name).read_bytes()
        else:
            return " (its output was not kept)"
    except OSError:
        return ""
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    return ":\n" + "\n".join(text.rstrip().splitlines()[-lines:])


def answers(url: str) -> bool:
    """Whether `url` answers 2xx/3xx within a second."""
    try:
        with urllib.request.urlopen(url, timeout=1):
            return True
    except OSError:
        return False
