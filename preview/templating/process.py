"""Templates render in a worker process, under a budget that holds whatever a template does.

jinja2 offers many ways to build a huge string in one step (`'x'|center(10**9)`,
`'%*s'|format(10**9, 'x')`, `replace`, `indent`, `wordwrap`, `join`…), and checking a result's
length once it exists is too late: one such template took 3.9 GB and 15 s before its refusal
(issue 29). So a `Renderer` renders in a worker process whose address space is limited
(RLIMIT_AS: its size at start plus `Budget.memory_bytes`), and gives each file's templates
`Budget.seconds_per_file` of wall-clock time before it kills the worker. A template that needs
more fails in the worker (MemoryError) or is killed; the error names the field either way, and
nothing depends on knowing which filter or operator built the string. Output is also counted
as it is produced (jinja.render_string), so a loop that prints stops at the value's limit.

One worker serves a whole `config.render` (a few dozen strings): it is forked (about 3 ms);
when this process runs other threads, whose locks fork would copy in whatever state they are
in, it is a fresh interpreter instead (about 150 ms). Requests and replies are JSON over a
socket pair: nothing the worker sends is unpickled here.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import resource
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from multiprocessing import Pipe
from multiprocessing.connection import Connection
from typing import Any

from preview.errors import BadInput, PreviewError
from preview.templating import jinja

# A worker that has not said it is ready by then is broken (the budget starts after).
_START_SECONDS = 30.0
# A worker's whole life may use this many times a file's time in CPU: the parent kills it
# long before, but a worker whose parent was killed must not spin forever.
_CPU_FACTOR = 30
_READY = b"ready"


@dataclass(frozen=True)
class Budget:
    """What rendering one pull request's templates may cost (the platform policy's to change).

    A file is preview.yaml, one values file, or the --set flags.
    """

    value_bytes: int = 64 * 1024  # one rendered value, UTF-8
    file_bytes: int = 1024 * 1024  # all rendered values of one file
    seconds_per_file: float = 2.0  # wall-clock time of one file's templates
    memory_bytes: int = 64 * 1024 * 1024  # what the worker may add to its size at start

    def describe(self) -> str:
        """The budget in a sentence, for hints."""
        return (f"templates may render {jinja.size_text(self.value_bytes)} per value and "
                f"{jinja.size_text(self.file_bytes)} per file, in {self.seconds_per_file:g} s per file "
                f"and {jinja.size_text(self.memory_bytes)} of memory")


DEFAULT_BUDGET = Budget()


class Renderer:
    """Renders templates under a budget in one worker process, started at the first template
    and killed by `close` (use it as a context manager)."""

    def __init__(self, budget: Budget = DEFAULT_BUDGET) -> None:
        self.budget = budget
        self._worker: _Worker | None = None
        self._seconds: dict[str, float] = {}
        self._bytes: dict[str, int] = {}

    def __enter__(self) -> Renderer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the worker (it holds nothing worth a graceful exit)."""
        if self._worker is not None:
            self._worker.kill()
            self._worker = None

    def text(self, text: str, context: Mapping[str, Any], where: str) -> str:
        """`text` rendered with `context`; BadInput naming `where` (file: field) on failure,
        over budget included."""
        if not jinja.is_template(text):
            return text
        file = file_of(where)
        left = self.budget.seconds_per_file - self._seconds.get(file, 0.0)
        worker = self._worker or self._start()
        request = json.dumps({"text": text, "context": context, "where": where}).encode()
        started = time.monotonic()
        try:
            worker.conn.send_bytes(request)
            if not worker.conn.poll(max(left, 0.0)):
                self.close()
                raise BadInput(f"{where}: the template did not finish rendering in time "
                               f"({file}'s templates may take {self.budget.seconds_per_file:g}"
                               " s together)", self.budget.describe())
            reply = json.loads(worker.conn.recv_bytes(6 * self.budget.value_bytes + 4096))
        except (EOFError, OSError, ValueError):  # the worker died, or sent nonsense
            self._worker = None
            status = worker.kill()
            raise BadInput(f"{where}: the template exhausted its renderer ({status})",
                           self.budget.describe()) from None
        finally:
            self._seconds[file] = self._seconds.get(file, 0.0) + time.monotonic() - started
        if "error" in reply:
            raise BadInput(reply["error"], reply["hint"])
        out: str = reply["text"]
        size = _utf8_size(out)
        self._bytes[file] = total = self._bytes.get(file, 0) + size
        if size > self.budget.value_bytes:  # the worker counts too: only if it is broken
            raise BadInput(f"{where}: the template renders to more than "
                           f"{jinja.size_text(self.budget.value_bytes)}", self.budget.describe())
        if total > self.budget.file_bytes:
            raise BadInput(f"{where}: {file}'s templates render to more than "
                           f"{jinja.size_text(self.budget.file_bytes)} together",
                           self.budget.describe())
        return out

    def tree(self, value: Any, context: Mapping[str, Any], where: str) -> Any:
        """A copy of parsed YAML with every string leaf rendered; keys and non-strings kept.

        `where` is the path so far ("preview.yaml: values"); errors name the leaf, e.g.
        "preview.yaml: values.ingress.hosts[0].host".
        """
        if isinstance(value, str):
            return self.text(value, context, where)
        if isinstance(value, dict):
            return {k: self.tree(v, context, join(where, k)) for k, v in value.items()}
        if isinstance(value, list):
            return [self.tree(v, context, f"{where}[{i}]") for i, v in enumerate(value)]
        return value

    def _start(self) -> _Worker:
        ours, theirs = Pipe()  # a socket pair, both ways
        try:
            if threading.active_count() == 1:
                pid = os.fork()
                if pid == 0:  # the worker: never returns into the caller's code
                    code = 1
                    try:
                        ours.close()
                        _quiet_signals()
                        serve(theirs, self.budget)
                        code = 0
                    finally:
                        os._exit(code)
                worker = _Worker(ours, pid, None)
            else:
                popen = subprocess.Popen(
                    [sys.executable, "-c", "import sys; from preview.templating import "
                     "process; process.main(sys.argv[1:])",
                     json.dumps(asdict(self.budget)), str(theirs.fileno())],
                    pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL)
                worker = _Worker(ours, popen.pid, popen)
        finally:
            theirs.close()
        try:
            ready = ours.poll(_START_SECONDS) and ours.recv_bytes(len(_READY)) == _READY
        except (EOFError, OSError):
            ready = False
        if not ready:
            status = worker.kill()
            raise PreviewError(f"the template renderer did not start ({status})")
        self._worker = worker
        return worker


@dataclass
class _Worker:
    conn: Connection
    pid: int
    popen: subprocess.Popen[bytes] | None

    def kill(self) -> str:
        """Kill and reap the worker; how it ended, for messages."""
        self.conn.close()
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        if self.popen is not None:
            code = self.popen.wait()
        else:
            code = os.waitstatus_to_exitcode(os.waitpid(self.pid, 0)[1])
        return f"killed by {signal.Signals(-code).name}" if code < 0 else f"exit code {code}"


def serve(conn: Connection, budget: Budget) -> None:
    """The worker: limit this process to `budget`, then render requests until EOF."""
    _limit(budget)
    env = jinja.sandbox(max_repeat=budget.value_bytes)
    conn.send_bytes(_READY)
    while True:
        try:
            request = json.loads(conn.recv_bytes())
        except EOFError:
            return
        where = request["where"]
        context = {key: jinja.Namespace(key, value) if isinstance(value, dict) else value
                   for key, value in request["context"].items()}
        reply: dict[str, str | None]
        try:
            reply = {"text": jinja.render_string(env, request["text"], context, where,
                                                 budget.value_bytes)}
        except BadInput as e:
            reply = {"error": e.message, "hint": e.hint}
        except MemoryError:
            reply = {"error": f"{where}: the template needs more than "
                              f"{jinja.size_text(budget.memory_bytes)} of memory to render",
                     "hint": "it builds a string far larger than a value may be; "
                             + budget.describe()}
        conn.send_bytes(json.dumps(reply).encode())


def main(argv: list[str]) -> None:
    """The worker as a fresh interpreter: BUDGET_JSON FD (see Renderer._start)."""
    code = 1
    try:
        serve(Connection(int(argv[1])), Budget(**json.loads(argv[0])))
        code = 0
    finally:
        os._exit(code)


def file_of(where: str) -> str:
    """The file a field belongs to: 'values.yaml: image.tag' -> 'values.yaml';
    '--set image.tag' -> '--set'."""
    return where.split(": ", 1)[0] if ": " in where else where.split(" ", 1)[0]


def join(where: str, key: object) -> str:
    """`where` + `.key`, or `where` + `key` right after the "file: " prefix."""
    return f"{where}{key}" if where.endswith(": ") else f"{where}.{key}"


def _limit(budget: Budget) -> None:
    try:
        with open("/proc/self/statm") as statm:  # Linux: address space in pages, first
            size = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        size = None  # not Linux: the wall clock still bounds the worker
    if size is not None:
        _lower(resource.RLIMIT_AS, size + budget.memory_bytes)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    _lower(resource.RLIMIT_CPU, math.ceil(usage.ru_utime + usage.ru_stime
                                          + _CPU_FACTOR * budget.seconds_per_file))


def _lower(which: int, limit: int) -> None:
    _, hard = resource.getrlimit(which)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(which, (limit, limit))  # the hard limit too: no way back up


def _quiet_signals() -> None:
    # A forked worker shares the caller's asyncio wakeup fd: a signal it gets must not wake
    # the caller's event loop as if the caller had got it.
    with contextlib.suppress(ValueError):  # not the main thread: no wakeup fd set from here
        signal.set_wakeup_fd(-1)


def _utf8_size(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))
