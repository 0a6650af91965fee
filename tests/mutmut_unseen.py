"""`./dev mutants`, second pass: the tests mutmut cannot see reaching a function.

mutmut picks the tests of a mutant by recording, during one run of the suite, which tests
call which function. A call in another process is not recorded: the templating worker
(forked, or a fresh interpreter: preview/templating/process.py) and the real syncer that
tests/syncer/test_server.py runs as a subprocess. Their mutants would be "no tests", or
tested only by the one test that happened to import the module. This adds to mutmut's
stats (mutants/mutmut-stats.json) the tests that do reach them, and prints the patterns of
the mutants to run again with those tests.

    python -m tests.mutmut_unseen PATTERN...   (the patterns of the first pass)
"""

from __future__ import annotations

import fnmatch
import json
import sys
from pathlib import Path

STATS = Path("mutants/mutmut-stats.json")
_WORKER_STARTED = "preview.templating.process.xǁRendererǁ_start"

# function (mutmut's mangled name) -> whose tests reach it: another function, or a test file.
UNSEEN = {
    # Every templating test for the worker's signals: the one that signals a worker does so
    # from a fresh interpreter of its own, which mutmut does not see start a worker either.
    "preview.templating.process.x__quiet_signals": "tests/test_templating.py::",
    **{f"preview.templating.{name}": _WORKER_STARTED for name in (
        "process.x_serve", "process.x_main", "process.x__limit", "process.x__lower",
        "jinja.x_sandbox", "jinja.x_render_string",
        "jinja.xǁ_Sandboxǁcall_binop", "jinja.x_size_text", "jinja.x__available",
        "jinja.x__syntax_error")},
    # The kubelet API behind the real syncer of tests/syncer/test_server.py would be
    # "preview.syncer.server.x_…": _SUBPROCESS_SYNCER, but that test's sandboxes and syncer,
    # run in mutmut's own process, are children its os.wait() takes for a mutant's (a
    # KeyError), and its fork server misreports killed mutants as survivors: TESTING.md.
}


def main(patterns: list[str]) -> None:
    stats = json.loads(STATS.read_text())
    tests = stats["tests_by_mangled_function_name"]
    known = stats["duration_by_test"]
    again = []
    for function, reached_by in UNSEEN.items():
        if not any(fnmatch.fnmatch(f"{function}__mutmut_1", p) for p in patterns):
            continue
        extra = tests.get(reached_by, []) if not reached_by.endswith("::") else \
            [test for test in known if test.startswith(reached_by)]
        tests[function] = sorted({*tests.get(function, []), *extra})
        again.append(f"{function}__mutmut_*")
    STATS.write_text(json.dumps(stats, indent=4))
    print(" ".join(again))


if __name__ == "__main__":
    main(sys.argv[1:])
