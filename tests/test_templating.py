"""preview/templating/: the sandbox, the documented context, PR text as data, the budget."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from preview import templating
from preview.errors import PreviewError
from preview.pullrequest import PullRequest

SHA = "0123456789abcdef0123456789abcdef01234567"


@dataclass(frozen=True)
class Env:
    name: str = "pr-42"
    namespace: str = "preview-octo-org-shop-pr-42"


def context(branch: str = "feature/x", title: str = "Add checkout",
            author: str = "mona") -> dict[str, Any]:
    pr = PullRequest("octo-org", "shop", 42, SHA, branch, author, title)
    return templating.context_for(pr, Env(), domain="preview.example.com",
                                  host="pr-42-shop.preview.example.com",
                                  url="https://pr-42-shop.preview.example.com")


@pytest.mark.parametrize(("source", "expected"), [
    ("{{ pr.number }}", "42"),
    ("{{ pr.head_sha }}", SHA),
    ("{{ pr.short_sha }}", SHA[:7]),
    ("{{ pr.branch }}", "feature/x"),
    ("{{ pr.branch_slug }}", "feature-x"),
    ("{{ pr.author }}", "mona"),
    ("{{ pr.title }}", "Add checkout"),
    ("{{ repo.owner }}/{{ repo.name }}", "octo-org/shop"),
    ("{{ repo.full_name }}", "octo-org/shop"),
    ("{{ repo.slug }}", "shop"),
    ("{{ env.name }} {{ env.namespace }}", "pr-42 preview-octo-org-shop-pr-42"),
    ("{{ env.host }}", "pr-42-shop.preview.example.com"),
    ("{{ env.url }}/api", "https://pr-42-shop.preview.example.com/api"),
    ("{{ domain }}", "preview.example.com"),
    ("{{ pr.branch | upper }}", "FEATURE/X"),
    ("plain {text}", "plain {text}"),
    ("line\n", "line\n"),
    ("{{ pr.number }}\n", "42\n"),  # a value's final newline is the user's
])
def test_documented_context(source: str, expected: str) -> None:
    assert templating.render_text(source, context(), "preview.yaml: f") == expected


@pytest.mark.parametrize("branch", [
    "{{ 7*7 }}", "{% for x in y %}", "{# c #}", "feat\n  evil: true", "日本語/🚀", "<b>&</b>",
    "{{ ''.__class__.__mro__ }}",
])
def test_pr_text_renders_literally(branch: str) -> None:
    ctx = context(branch=branch, title=branch, author=branch)
    for name in ("branch", "title", "author"):
        assert templating.render_text(f"{{{{ pr.{name} }}}}", ctx, "f") == branch
    # a values tree keeps its structure: the branch is one string leaf
    rendered = templating.render_tree({"a": {"b": ["{{ pr.branch }}"]}}, ctx, "v: ")
    assert rendered == {"a": {"b": [branch]}}


@pytest.mark.parametrize("source", [
    "{{ ''.__class__.__mro__ }}",
    "{{ pr.__class__ }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ pr.items.__self__ }}",
    "{{ pr._label }}",
    "{{ 'x' * 100000000 }}",
    "{{ 10 ** 1000000 }}",
    "{{ pr.update({'number': 1}) }}",
])
def test_sandbox_refuses(source: str) -> None:
    with pytest.raises(PreviewError) as e:
        templating.render_text(source, context(), "preview.yaml: values.x")
    assert e.value.message.startswith("preview.yaml: values.x: the template is refused by the "
                                      "sandbox")
    assert "pr.number" in (e.value.hint or "")


@pytest.mark.parametrize(("source", "refusal"), [
    ("{{ 2 ** 65 }}", "exponent too large"),
    ("{{ 2 ** -65 }}", "exponent too large"),
    ("{{ 'x' * 100000000 }}", "repetition too large (more than 64 KiB, the budget of one "
                              "value)"),
    ("{{ 100000000 * [1] }}", "repetition too large (more than 64 KiB, the budget of one "
                              "value)"),
])
def test_the_sandbox_says_what_it_refused(source: str, refusal: str) -> None:
    with pytest.raises(PreviewError) as e:
        templating.render_text(source, context(), "preview.yaml: values.x")
    assert e.value.message == "preview.yaml: values.x: the template is refused by the " \
                              f"sandbox: {refusal}"


def test_exponents_up_to_64_are_computed() -> None:
    assert templating.render_text("{{ 2 ** 64 }} {{ 2 ** -64 }}", context(), "f") == \
        f"{2 ** 64} {2 ** -64}"


@pytest.mark.parametrize(("source", "name"), [
    ("{{ cycler }}", "'cycler'"),
    ("{{ range(10) }}", "'range'"),
    ("{{ lipsum() }}", "'lipsum'"),
    ("{{ environ }}", "'environ'"),
    ("{{ pr.sha }}", "'pr.sha'"),
    ("{{ env.cluster }}", "'env.cluster'"),
])
def test_nothing_outside_the_context(source: str, name: str) -> None:
    with pytest.raises(PreviewError) as e:
        templating.render_text(source, context(), "preview.yaml: values.image.tag")
    assert e.value.message == f"preview.yaml: values.image.tag: {name} is undefined"
    assert "pr.head_sha" in (e.value.hint or "") and "env.host" in (e.value.hint or "")


def test_error_names_the_leaf_path() -> None:
    tree = {"ingress": {"hosts": [{"host": "ok"}, {"host": "{{ pr.nope }}"}]}}
    with pytest.raises(PreviewError, match=r"^preview.yaml: values.ingress.hosts\[1\].host: "
                                           r"'pr.nope' is undefined"):
        templating.render_tree(tree, context(), "preview.yaml: values")


def test_syntax_error() -> None:
    with pytest.raises(PreviewError) as e:
        templating.check_syntax("{{ pr.number }", "preview.yaml: url")
    assert e.value.message.startswith("preview.yaml: url: template syntax error:")
    assert e.value.hint == "jinja2 syntax is {{ pr.number }}; for a literal '{{' write " \
        "{{ '{{' }}"
    templating.check_syntax("no template", "x")


def test_runtime_error_in_template() -> None:
    with pytest.raises(PreviewError, match="the template failed: ZeroDivisionError") as e:
        templating.render_text("{{ 1 / 0 }}", context(), "f")
    assert e.value.hint == "fix the template expression"


def test_a_syntax_error_found_when_rendering_names_the_field() -> None:
    with pytest.raises(PreviewError, match=r"^f: x: template syntax error: "):
        templating.render_text("{{ pr.number }", context(), "f: x")


def test_hints_list_the_documented_variables() -> None:
    for source, start in (("{{ pr.nope }}", "available variables: "),
                          ("{{ pr.__class__ }}", "templates may read only the documented "
                                                 "variables: ")):
        with pytest.raises(PreviewError) as e:
            templating.render_text(source, context(), "f")
        assert (e.value.hint or "").startswith(start + "pr.number, pr.head_sha, "), e.value.hint


def test_a_loop_that_prints_is_stopped_at_the_values_limit() -> None:
    # A million one-character pieces: counted as they come, not built and then measured.
    loop = "{% for a in 'x' * 1000 %}{% for b in 'x' * 1000 %}{{ b }}{% endfor %}{% endfor %}"
    with pytest.raises(PreviewError) as e:
        templating.render_text(loop, context(), "f")
    assert (e.value.message, e.value.hint) == ("f: the template renders to more than 64 KiB",
                                               "rendered values are limited to 64 KiB")


def test_non_strings_kept() -> None:
    tree = {"replicas": 2, "on": True, "none": None, "list": [1.5, "{{ pr.number }}"]}
    assert templating.render_tree(tree, context(), "v: ") == \
        {"replicas": 2, "on": True, "none": None, "list": [1.5, "42"]}


def test_variables_used() -> None:
    assert templating.variables_used("https://{{ pr.number }}.{{ domain }}") == {"pr", "domain"}
    assert templating.variables_used("plain") == set()
    assert templating.variables_used("{% for a in pr.title %}{{ a ~ domain }}{% endfor %}"
                                     "{% macro m(x) %}{{ x }}{% endmacro %}{{ m(1) }}"
                                     "{% set s = 1 %}{{ s ~ loop.index }}") == {"pr", "domain"}
    assert templating.variables_used("{{ loop }}") == {"loop"}
    # A macro's own names are not the context's (and `caller` only exists inside one).
    assert templating.variables_used("{% macro m() %}{{ caller() }}{{ varargs }}{{ kwargs }}"
                                     "{% endmacro %}") == set()
    assert templating.variables_used("{{ caller }}{{ varargs }}{{ kwargs }}") == \
        {"caller", "varargs", "kwargs"}


@pytest.mark.parametrize(("size", "text"), [
    (64 * 1024, "64 KiB"), (1 << 20, "1 MiB"), (3 << 20, "3 MiB"), (1536 * 1024, "1536 KiB"),
    (1024, "1 KiB"), (1536, "1536 bytes"), (1000, "1000 bytes"), (0, "0 bytes"),
])
def test_sizes_in_messages_read_as_people_write_them(size: int, text: str) -> None:
    assert templating.Budget(value_bytes=size).describe().startswith(
        f"templates may render {text} per value")


@pytest.mark.parametrize("source", [
    "{{ '{0.__class__}'.format(pr.branch) }}",
    "{% include '/etc/passwd' %}",
    "{% import 'os' as os %}",
])
def test_no_escape_through_format_or_loaders(source: str) -> None:
    with pytest.raises(PreviewError, match=r"^f: the template (is refused|failed)"):
        templating.render_text(source, context(), "f")


# Templates that build a huge string by each means jinja2 offers (issue 29), and the start of
# the message refusing each. Every one is refused by the budget, not by knowing the filter.
GIB = 1_000_000_000
MEMORY = "the template needs more than 64 MiB of memory to render"
OUTPUT = "the template renders to more than 64 KiB"
HOSTILE = {
    "center": (f"{{{{ 'x'|center({GIB}) }}}}", MEMORY),
    "format filter, %*s": (f"{{{{ '%*s'|format({GIB}, 'x') }}}}", MEMORY),
    "% operator, %*s": (f"{{{{ '%*s' % ({GIB}, 'x') }}}}", MEMORY),
    "% operator, width": (f"{{{{ '%{GIB}s' % 'x' }}}}", MEMORY),
    "str.format width": (f"{{{{ '{{:>{GIB}}}'.format('x') }}}}", MEMORY),
    "replace": ("{{ ('x' * 60000)|replace('x', 'y' * 60000) }}", MEMORY),
    "indent": ("{{ ('x\n' * 30000)|indent(60000, true) }}", MEMORY),
    "wordwrap": ("{{ ('x ' * 30000)|wordwrap(1, wrapstring='y' * 60000) }}", MEMORY),
    "join of a repeated list": ("{{ (['x' * 60000] * 60000)|join }}", MEMORY),
    "join with a long separator": ("{{ (['x'] * 60000)|join('y' * 60000) }}", MEMORY),
    "map center, join": (f"{{{{ (['x'] * 100)|map('center', {GIB})|join }}}}", MEMORY),
    "string of a repeated list": ("{{ (['x' * 60000] * 60000)|string }}", MEMORY),
    "tojson of a repeated list": ("{{ (['x' * 60000] * 60000)|tojson }}", MEMORY),
    "truncate with a huge end": (f"{{{{ 'x'|truncate(5, end='y'|center({GIB})) }}}}", MEMORY),
    "urlize": ("{{ ('www.example.io ' * 4000)|urlize }}", OUTPUT),
    "string multiplication": ("{{ ('x' * 65536) * 65536 }}", "the template is refused"),
    "~ in nested loops": ("{% for a in 'x' * 60000 %}{% for b in 'x' * 60000 %}"
                          "{{ a ~ b ~ a }}{% endfor %}{% endfor %}", OUTPUT),
    "for loop printing": ("{% for a in 'x' * 65536 %}{{ 'y' * 65536 }}{% endfor %}", OUTPUT),
    "range loop": (f"{{% for i in range({GIB}) %}}x{{% endfor %}}", "'range' is undefined"),
    "nested macros": ("{% macro a(s) %}{{ s ~ s ~ s ~ s }}{% endmacro %}"
                      "{% macro b(s) %}{{ a(a(a(s))) }}{% endmacro %}"
                      "{{ b(b(b(b('x' * 1000)))) }}", MEMORY),
    "doubling recursion": ("{% macro f(s) %}{{ f(s ~ s) }}{% endmacro %}{{ f('x' * 1000) }}",
                           MEMORY),
    "endless recursion": ("{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}",
                          "the template failed: RecursionError"),
    "big integer power": ("{{ (((9 ** 64) ** 64) ** 64) ** 64 }}", "the template did not finish "
                          "rendering in time"),
    "busy loop": ("{% for a in 'x' * 65536 %}{% for b in 'x' * 65536 %}{% endfor %}"
                  "{% endfor %}", "the template did not finish rendering in time"),
}
MIB = 1 << 20
# Renders one template in a fresh interpreter, so its peak RSS and its worker's are its own.
_PROBE = """
import dataclasses, json, resource, sys, time
from preview import templating
from preview.errors import PreviewError
from preview.pullrequest import PullRequest

class Env:
    name = "pr-42"
    namespace = "preview-octo-org-shop-pr-42"

pr = PullRequest("octo-org", "shop", 42, "0" * 40, "feature/x", "mona", "Add checkout")
context = templating.context_for(pr, Env(), domain="preview.example.com")
budget = dataclasses.replace(templating.DEFAULT_BUDGET, seconds_per_file=float(sys.argv[2]))
started, cpu = time.monotonic(), time.process_time()
try:
    templating.check_syntax(sys.argv[1], "preview.yaml: values.x")  # as config.load does
    templating.variables_used(sys.argv[1])
    templating.render_text(sys.argv[1], context, "preview.yaml: values.x", budget)
    error = None
except PreviewError as e:
    error = e.message
worker = resource.getrusage(resource.RUSAGE_CHILDREN)
# VmHWM, not RUSAGE_SELF: the latter counts the test process's image from before exec
with open("/proc/self/status") as status:
    peak = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
print(json.dumps({
    "error": error, "seconds": time.monotonic() - started,
    "cpu": time.process_time() - cpu + worker.ru_utime + worker.ru_stime, "rss": peak * 1024,
    "worker_rss": worker.ru_maxrss * 1024}))
"""


# Renders in a process whose event loop handles SIGUSR1, then signals its forked worker: the
# worker's signal must not reach the caller's loop (nor be written anywhere else).
_SIGNALLED = """
import asyncio, os, signal
from preview import templating
from preview.pullrequest import PullRequest

class Env:
    name = "pr-42"
    namespace = "preview-octo-org-shop-pr-42"

pr = PullRequest("octo-org", "shop", 42, "0" * 40, "feature/x", "mona", "Add checkout")
context = templating.context_for(pr, Env(), domain="preview.example.com")

async def main():
    got, arrived = [], asyncio.Event()

    def handler():
        got.append("SIGUSR1")
        arrived.set()

    asyncio.get_running_loop().add_signal_handler(signal.SIGUSR1, handler)
    with templating.Renderer() as renderer:
        renderer.text("{{ pr.number }}", context, "a")
        with open(f"/proc/{os.getpid()}/task/{os.getpid()}/children") as children:
            [worker] = children.read().split()
        os.kill(int(worker), signal.SIGUSR1)
        assert renderer.text("{{ pr.number }}", context, "a") == "42"  # it got the signal
        os.kill(os.getpid(), signal.SIGUSR1)  # now the caller's own
        await arrived.wait()
        await asyncio.sleep(0)
    print(got)

asyncio.run(main())
"""


def test_a_signal_to_the_worker_is_not_the_callers() -> None:
    result = subprocess.run([sys.executable, "-c", _SIGNALLED], capture_output=True,
                            text=True, timeout=60, cwd=Path(__file__).parents[1])
    assert (result.returncode, result.stdout) == (0, "['SIGUSR1']\n"), result.stderr


def probe(source: str, seconds_per_file: float = templating.DEFAULT_BUDGET.seconds_per_file
          ) -> dict[str, Any]:
    """Render `source` in a fresh interpreter: the error, wall and CPU seconds (its own and
    its worker's), peak RSS of it and of its worker (bytes)."""
    result = subprocess.run([sys.executable, "-c", _PROBE, source, str(seconds_per_file)],
                            capture_output=True, text=True, timeout=90,
                            cwd=Path(__file__).parents[1])
    assert result.returncode == 0, result.stderr
    measured: dict[str, Any] = json.loads(result.stdout)
    return measured


@pytest.mark.parametrize(("source", "message"), HOSTILE.values(), ids=HOSTILE.keys())
def test_a_huge_string_is_refused_within_the_budget(source: str, message: str) -> None:
    # The size limits refuse the others long before any clock: given ample wall time here, a
    # busy machine (whose clock runs while the worker waits for a core) cannot make the time
    # limit the one that answers. CPU seconds, not wall: what the template cost.
    in_time = "in time" in message
    measured = probe(source, templating.DEFAULT_BUDGET.seconds_per_file if in_time else 30.0)
    assert (measured["error"] or "").startswith(f"preview.yaml: values.x: {message}"), measured
    # a busy loop (or a power) runs for its 2 s: anything else stops well before
    assert measured["cpu"] < (2.5 if in_time else 2.0), measured
    assert measured["rss"] < 200 * MIB and measured["worker_rss"] < 200 * MIB, measured


def test_a_normal_template_costs_little() -> None:
    measured = probe("{{ pr.branch_slug }}-{{ pr.short_sha }}")
    assert measured["error"] is None
    assert measured["cpu"] < 0.5, measured


def test_a_file_shares_its_time_and_size() -> None:
    budget = templating.Budget(value_bytes=100, file_bytes=150, seconds_per_file=0.3)
    with templating.Renderer(budget) as renderer:
        assert renderer.text("{{ 'x' * 100 }}", context(), "a.yaml: one") == "x" * 100
        assert renderer.text("{{ 'x' * 100 }}", context(), "b.yaml: one") == "x" * 100
        with pytest.raises(PreviewError, match=r"^a.yaml: two: a.yaml's templates render to "
                                               r"more than 150 bytes together"):
            renderer.text("{{ 'x' * 100 }}", context(), "a.yaml: two")
    with templating.Renderer(budget) as renderer, \
            pytest.raises(PreviewError, match=r"^--set x: the template renders to more than "
                                              r"100 bytes"):
        renderer.text("{{ 'é' * 60 }}", context(), "--set x")  # 120 bytes of UTF-8
    with templating.Renderer(budget) as renderer, \
            pytest.raises(PreviewError, match=r"^a.yaml: two: the template did not finish "
                                              r"rendering in time \(a.yaml's templates may "
                                              r"take 0.3 s together\)"):
        loop = "{% for a in 'x' * 99 %}"  # repetition is within the value's limit
        renderer.text(loop * 4 + "{% endfor %}" * 4, context(), "a.yaml: two")


def test_a_files_size_is_counted_in_bytes_of_utf8() -> None:
    budget = templating.Budget(value_bytes=100, file_bytes=150)
    with templating.Renderer(budget) as renderer:
        assert renderer.text("{{ 'é' * 40 }}", context(), "a.yaml: one") == "é" * 40
        with pytest.raises(PreviewError, match=r"^a.yaml: two: a.yaml's templates render to "
                                               r"more than 150 bytes together"):
            renderer.text("{{ 'é' * 40 }}", context(), "a.yaml: two")  # 160 bytes in all


def test_a_file_may_render_exactly_its_budget_and_says_so_past_it() -> None:
    budget = templating.Budget(value_bytes=100, file_bytes=200)
    with templating.Renderer(budget) as renderer:
        for field in ("one", "two"):
            renderer.text("{{ 'x' * 100 }}", context(), f"a.yaml: {field}")
        with pytest.raises(PreviewError) as caught:
            renderer.text("{{ 'x' }}", context(), "a.yaml: three")
    assert caught.value.hint == budget.describe()


@pytest.mark.parametrize("fields", [
    ("v.yaml: a: b", "v.yaml: c: d"),  # a YAML key may hold ': '
    ("--set a", "--set b c"),  # every --set flag is one file
])
def test_every_field_of_a_file_counts_against_that_file(fields: tuple[str, str]) -> None:
    budget = templating.Budget(value_bytes=100, file_bytes=150)
    with templating.Renderer(budget) as renderer:
        renderer.text("{{ 'x' * 100 }}", context(), fields[0])
        with pytest.raises(PreviewError, match="templates render to more than 150 bytes "
                                               "together"):
            renderer.text("{{ 'x' * 100 }}", context(), fields[1])


def test_the_budget_is_the_callers() -> None:
    roomy = templating.Budget(value_bytes=200_000, file_bytes=400_000)
    assert len(templating.render_text("{{ 'x' * 150000 }}", context(), "f", roomy)) == 150000
    with pytest.raises(PreviewError, match="more than 64 KiB"):
        templating.render_text("{{ 'x' * 65536 }}!", context(), "f: x")


def test_a_threaded_caller_gets_a_fresh_interpreter_with_the_same_budget() -> None:
    release = threading.Event()
    other = threading.Thread(target=release.wait)  # fork would copy its locks
    other.start()
    try:
        assert templating.render_text("{{ pr.number }}", context(), "f") == "42"
        with pytest.raises(PreviewError, match=f"^f: {MEMORY}"):
            templating.render_text(HOSTILE["center"][0], context(), "f")
    finally:
        release.set()
        other.join()


def test_a_renderer_that_cannot_start_is_an_error_not_a_wait(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # A fresh interpreter that exits at once (here: no Python at all) never says ready.
    monkeypatch.setattr(sys, "executable", "/bin/false")
    release = threading.Event()
    other = threading.Thread(target=release.wait)
    other.start()
    try:
        with pytest.raises(PreviewError) as caught:
            templating.render_text("{{ pr.number }}", context(), "f")
    finally:
        release.set()
        other.join()
    assert caught.value.message == "the template renderer did not start (exit code 1)"


def test_no_worker_for_plain_text() -> None:
    renderer = templating.Renderer()
    assert renderer.tree({"a": ["plain", 1]}, context(), "v: ") == {"a": ["plain", 1]}
    assert renderer._worker is None


def test_a_renderer_killed_before_it_starts_says_by_what(monkeypatch: pytest.MonkeyPatch,
                                                         tmp_path: Path) -> None:
    killed = tmp_path / "python"
    killed.write_text("#!/bin/sh\nkill -KILL $$\n")
    killed.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(killed))
    release = threading.Event()
    other = threading.Thread(target=release.wait)  # a fresh interpreter, not a fork
    other.start()
    try:
        with pytest.raises(PreviewError) as caught:
            templating.render_text("{{ pr.number }}", context(), "f")
    finally:
        release.set()
        other.join()
    assert caught.value.message == "the template renderer did not start (killed by SIGKILL)"


def _children() -> set[int]:
    me = os.getpid()
    with open(f"/proc/{me}/task/{me}/children") as children:
        return {int(pid) for pid in children.read().split()}


def test_a_closed_renderer_leaves_no_worker_behind_not_even_a_zombie() -> None:
    # A long-running caller (preview serve) renders for every request: each worker it
    # started must be gone, and reaped, once its renderer is closed.
    before, workers = _children(), set()
    with templating.Renderer() as renderer:
        for field in ("one", "two", "three"):
            renderer.text("{{ pr.number }}", context(), f"a.yaml: {field}")
            workers |= _children() - before
    assert workers
    assert [pid for pid in workers if Path(f"/proc/{pid}").exists()] == []


def test_a_file_that_used_its_time_gets_no_more() -> None:
    busy = "{% for a in 'x' * 65536 %}{% for b in 'x' * 65536 %}{% endfor %}{% endfor %}"
    budget = templating.Budget(seconds_per_file=0.3)
    with templating.Renderer(budget) as renderer:
        with pytest.raises(PreviewError, match=r"^a.yaml: one: the template did not finish") \
                as caught:
            renderer.text(busy, context(), "a.yaml: one")
        assert caught.value.hint == budget.describe()
        assert renderer.text("{{ pr.number }}", context(), "b.yaml: one") == "42"
        # A value that takes a moment (about 0.15 s): with no time left it cannot finish
        # (an instant one might, if its worker answers before the caller looks).
        moment = "{% for a in 'x' * 1000 %}{% for b in 'x' * 2000 %}{% endfor %}{% endfor %}"
        with pytest.raises(PreviewError, match=r"^a.yaml: two: the template did not finish "
                                               r"rendering in time \(a.yaml's templates may "
                                               r"take 0.3 s together\)"):
            renderer.text(moment, context(), "a.yaml: two")
        # The time a refused value took is added to what the file spent, not put instead.
        with pytest.raises(PreviewError, match=r"^a.yaml: three: the template did not finish"):
            renderer.text(moment, context(), "a.yaml: three")


def test_a_worker_that_died_is_named_with_how_it_ended() -> None:
    budget = templating.Budget()
    with templating.Renderer(budget) as renderer:
        before = _children()
        renderer.text("{{ pr.number }}", context(), "a.yaml: one")
        [worker] = _children() - before
        os.kill(worker, signal.SIGKILL)
        with pytest.raises(PreviewError) as caught:
            renderer.text("{{ pr.number }}", context(), "a.yaml: two")
        assert (caught.value.message, caught.value.hint) == (
            "a.yaml: two: the template exhausted its renderer (killed by SIGKILL)",
            budget.describe())
        assert renderer.text("{{ pr.number }}", context(), "a.yaml: three") == "42"  # anew
