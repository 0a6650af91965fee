"""The jinja2 sandbox a template renders in, and the rendering of one string.

jinja2's immutable sandbox (no attribute starting with `_`, no mutation of the context, no
globals such as `cycler` or `range`), with `StrictUndefined` (a misspelt variable is an error,
not an empty string) and only the context's variables. Output is checked as it is produced, so
a loop that prints is stopped at the value's limit; a single huge string (`center`, `%`
formatting, `replace`…) is stopped by the renderer process's memory limit (`process.py`),
which holds whatever the template does.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping
from typing import Any

import jinja2
from jinja2 import StrictUndefined, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import missing

from preview.errors import BadInput

# Repetition longer than this (`{{ 'x' * 10**9 }}`) is refused before it is built; the value
# limit of the budget bounds everything else.
MAX_REPEAT = 64 * 1024
_MARKERS = ("{{", "{%", "{#")


class Namespace(dict[str, Any]):
    """A group of variables (`pr`, `repo`, `env`) that knows its name, for error messages."""

    __slots__ = ("_label",)

    def __init__(self, label: str, values: Mapping[str, Any]) -> None:
        super().__init__(values)
        self._label = label  # unreachable from templates: the sandbox refuses `_` attributes


class _Undefined(StrictUndefined):
    """StrictUndefined whose message names the variable as the user wrote it: 'pr.sha'."""

    __slots__ = ()

    @property
    def _undefined_message(self) -> str:
        if self._undefined_hint:
            return self._undefined_hint
        if self._undefined_obj is missing:
            return f"{self._undefined_name!r} is undefined"
        if isinstance(self._undefined_obj, Namespace):
            return f"'{self._undefined_obj._label}.{self._undefined_name}' is undefined"
        return str(super()._undefined_message)


class _Sandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox, with repetition (`*`, `**`) bounded so output stays small."""

    intercepted_binops = frozenset({"*", "**"})
    max_repeat = MAX_REPEAT

    def call_binop(self, context: Any, op: str, left: Any, right: Any) -> Any:
        if op == "**" and isinstance(right, int) and abs(right) > 64:
            raise jinja2.sandbox.SecurityError("exponent too large")
        if op == "*":
            for seq, times in ((left, right), (right, left)):
                if isinstance(seq, str | list | tuple) and isinstance(times, int) and \
                        len(seq) * times > self.max_repeat:
                    raise jinja2.sandbox.SecurityError(
                        f"repetition too large (more than {size_text(self.max_repeat)}, the "
                        "budget of one value)")
        return {"*": operator.mul, "**": operator.pow}[op](left, right)


def sandbox(max_repeat: int = MAX_REPEAT) -> jinja2.Environment:
    """A fresh sandboxed environment; repetition beyond `max_repeat` items is refused."""
    env = _Sandbox(undefined=_Undefined, autoescape=False, keep_trailing_newline=True)
    env.max_repeat = max_repeat
    env.globals.clear()  # range, dict, lipsum, cycler, joiner, namespace: not documented context
    return env


_PARSER = sandbox()  # parses only (syntax, names used): stateless, safe to share


def is_template(text: str) -> bool:
    """Whether `text` holds jinja2 syntax (plain strings are used as they are)."""
    return any(marker in text for marker in _MARKERS)


def check_syntax(text: str, where: str) -> None:
    """Raise BadInput naming `where` when `text` is not a valid template."""
    if not is_template(text):
        return
    try:
        _PARSER.parse(text)
    except jinja2.TemplateSyntaxError as e:
        raise _syntax_error(where, e) from None


def variables_used(text: str) -> set[str]:
    """Top-level names a template reads from its context (`{{ domain }}` -> {"domain"}), not
    the ones it sets itself (loop variables, macros, `{% set %}`); {} for plain text.

    From the syntax tree only: compiling (as jinja2.meta does) evaluates constant expressions,
    `{{ 'x'|center(10**9) }}` included, and this runs outside the renderer's budget.
    """
    if not is_template(text):
        return set()
    try:
        tree = _PARSER.parse(text)
    except jinja2.TemplateSyntaxError:
        return set()
    names = list(tree.find_all(nodes.Name))
    own = {node.name for node in names if node.ctx in ("store", "param")}
    own |= {node.name for node in tree.find_all(nodes.Macro)}
    if any(True for _ in tree.find_all(nodes.For)):
        own.add("loop")
    if any(True for _ in tree.find_all(nodes.Macro)):
        own |= {"caller", "varargs", "kwargs"}
    return {node.name for node in names if node.ctx == "load"} - own


class _TooLong(Exception):
    pass


def render_string(env: jinja2.Environment, text: str, context: Mapping[str, Any], where: str,
                  limit: int) -> str:
    """`text` rendered in `env`, at most `limit` bytes of UTF-8 counted as output is produced;
    BadInput naming `where` (file: field) on failure."""
    try:
        pieces: list[str] = []
        size = 0
        for piece in env.from_string(text).generate(context):
            size += len(piece) if piece.isascii() else \
                len(piece.encode("utf-8", "surrogatepass"))
            if size > limit:
                raise _TooLong
            pieces.append(piece)
        return "".join(pieces)
    except _TooLong:
        raise BadInput(f"{where}: the template renders to more than {size_text(limit)}",
                       f"rendered values are limited to {size_text(limit)}") from None
    except MemoryError:
        raise  # the renderer process names its budget (process.py)
    except jinja2.TemplateSyntaxError as e:
        raise _syntax_error(where, e) from None
    except jinja2.sandbox.SecurityError as e:
        raise BadInput(f"{where}: the template is refused by the sandbox: {e}",
                       "templates may read only the documented variables: "
                       + ", ".join(_available(context))) from None
    except jinja2.UndefinedError as e:
        raise BadInput(f"{where}: {e}",
                       "available variables: " + ", ".join(_available(context))) from None
    except Exception as e:  # a template's own error ({{ 1/0 }}) is user input
        raise BadInput(f"{where}: the template failed: {type(e).__name__}: {e}",
                       "fix the template expression") from None


def size_text(n: int) -> str:
    """A size for people: 65536 -> '64 KiB'."""
    for unit, scale in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale and n % scale == 0:
            return f"{n // scale} {unit}"
    return f"{n} bytes"


def _available(context: Mapping[str, Any]) -> list[str]:
    names: list[str] = []
    for key, value in context.items():
        if isinstance(value, Mapping):
            names.extend(f"{key}.{sub}" for sub in value)
        else:
            names.append(key)
    return names


def _syntax_error(where: str, e: jinja2.TemplateSyntaxError) -> BadInput:
    return BadInput(f"{where}: template syntax error: {e.message}",
                    "jinja2 syntax is {{ pr.number }}; for a literal '{{' write {{ '{{' }}")
