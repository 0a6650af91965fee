"""jinja2 templates in `preview.yaml`, rendered in a sandbox over a fixed, documented context.

`preview.yaml`, its values files and everything in a pull request are untrusted: a PR can
change them. So templates render in jinja2's immutable sandbox (no attribute starting with `_`,
no mutation of the context, no globals such as `cycler` or `range`), with `StrictUndefined` (a
misspelt variable is an error, not an empty string), and with only the variables listed in
`VARIABLES`: nothing from the process environment or the file system is reachable.

PR text (branch names, titles, authors) is *data*: it enters as a context value and is never
compiled, so a branch named `{{ 7*7 }}` renders as exactly that text. Values files are parsed
as YAML first and each string leaf is rendered on its own, so a rendered value can never add
YAML structure (a branch name holding `"\\n  evil: true"` stays one string).
"""

from __future__ import annotations

import hashlib
import operator
import unicodedata
from collections.abc import Mapping
from typing import Any, Protocol

import jinja2
from jinja2 import StrictUndefined, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import missing

from preview.errors import BadInput

# The documented context (docs/config.md), in the order the hint lists it.
VARIABLES = (
    "pr.number", "pr.head_sha", "pr.short_sha", "pr.branch", "pr.branch_slug", "pr.author",
    "pr.title", "repo.owner", "repo.name", "repo.full_name", "repo.slug", "env.name",
    "env.namespace", "env.host", "env.url", "domain",
)
# A rendered string longer than this is a mistake or an attack (`{{ 'x' * 10**9 }}`).
MAX_OUTPUT = 64 * 1024
_MARKERS = ("{{", "{%", "{#")


class PullRequestLike(Protocol):
    """What templates read of `preview.pullrequest.PullRequest` (which imports `slug` from
    here, so this module names the shape rather than the class)."""

    @property
    def owner(self) -> str: ...

    @property
    def repo(self) -> str: ...

    @property
    def number(self) -> int: ...

    @property
    def head_sha(self) -> str: ...

    @property
    def short_sha(self) -> str: ...

    @property
    def branch(self) -> str: ...

    @property
    def branch_slug(self) -> str: ...

    @property
    def author(self) -> str: ...

    @property
    def title(self) -> str: ...

    @property
    def full_name(self) -> str: ...


class EnvironmentLike(Protocol):
    """What templates read of `preview.naming.Environment`."""

    @property
    def name(self) -> str: ...

    @property
    def namespace(self) -> str: ...


class _Namespace(dict[str, Any]):
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
        if isinstance(self._undefined_obj, _Namespace):
            return f"'{self._undefined_obj._label}.{self._undefined_name}' is undefined"
        return str(super()._undefined_message)


class _Sandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox, with repetition (`*`, `**`) bounded so output stays small."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, op: str, left: Any, right: Any) -> Any:
        if op == "**" and isinstance(right, int) and abs(right) > 64:
            raise jinja2.sandbox.SecurityError("exponent too large")
        if op == "*":
            for seq, times in ((left, right), (right, left)):
                if isinstance(seq, str | list | tuple) and isinstance(times, int) and \
                        len(seq) * times > MAX_OUTPUT:
                    raise jinja2.sandbox.SecurityError("repetition too large")
        return {"*": operator.mul, "**": operator.pow}[op](left, right)


def _sandbox() -> _Sandbox:
    env = _Sandbox(undefined=_Undefined, autoescape=False, keep_trailing_newline=True)
    env.globals.clear()  # range, dict, lipsum, cycler, joiner, namespace: not documented context
    return env


_ENV = _sandbox()  # immutable and stateless between renders: safe to share


def is_template(text: str) -> bool:
    """Whether `text` holds jinja2 syntax (plain strings are used as they are)."""
    return any(marker in text for marker in _MARKERS)


def check_syntax(text: str, where: str) -> None:
    """Raise BadInput naming `where` when `text` is not a valid template."""
    if not is_template(text):
        return
    try:
        _ENV.parse(text)
    except jinja2.TemplateSyntaxError as e:
        raise _syntax_error(where, e) from None


def variables_used(text: str) -> set[str]:
    """Top-level names a template reads (`{{ domain }}` -> {"domain"}); {} for plain text."""
    if not is_template(text):
        return set()
    try:
        tree = _ENV.parse(text)
    except jinja2.TemplateSyntaxError:
        return set()
    return {node.name for node in tree.find_all(nodes.Name) if node.ctx == "load"}


def render_text(text: str, context: Mapping[str, Any], where: str) -> str:
    """`text` rendered in the sandbox; BadInput naming `where` (file: field) on failure."""
    if not is_template(text):
        return text
    try:
        out = _ENV.from_string(text).render(context)
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
    if len(out) > MAX_OUTPUT:
        raise BadInput(f"{where}: the template renders to {len(out)} characters",
                           f"rendered values are limited to {MAX_OUTPUT} characters")
    return out


def render_tree(value: Any, context: Mapping[str, Any], where: str) -> Any:
    """A copy of parsed YAML with every string leaf rendered; keys and non-strings kept.

    `where` is the path so far ("preview.yaml: values"); errors name the leaf, e.g.
    "preview.yaml: values.ingress.hosts[0].host".
    """
    if isinstance(value, str):
        return render_text(value, context, where)
    if isinstance(value, dict):
        return {k: render_tree(v, context, join(where, k)) for k, v in value.items()}
    if isinstance(value, list):
        return [render_tree(v, context, f"{where}[{i}]") for i, v in enumerate(value)]
    return value


def check_tree(value: Any, where: str) -> None:
    """check_syntax on every string leaf of parsed YAML."""
    if isinstance(value, str):
        check_syntax(value, where)
    elif isinstance(value, dict):
        for k, v in value.items():
            check_tree(v, join(where, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            check_tree(v, f"{where}[{i}]")


def join(where: str, key: object) -> str:
    """`where` + `.key`, or `where` + `key` right after the "file: " prefix."""
    return f"{where}{key}" if where.endswith(": ") else f"{where}.{key}"


def context_for(pr: PullRequestLike, env: EnvironmentLike, *, domain: str | None = None,
                host: str | None = None, url: str | None = None) -> dict[str, Any]:
    """The template context of one environment (VARIABLES; `env.host`/`env.url` once known)."""
    environment: dict[str, Any] = {"name": env.name, "namespace": env.namespace}
    if host is not None:
        environment["host"] = host
    if url is not None:
        environment["url"] = url
    context: dict[str, Any] = {
        "pr": _Namespace("pr", {
            "number": pr.number, "head_sha": pr.head_sha, "short_sha": pr.short_sha,
            "branch": pr.branch, "branch_slug": pr.branch_slug, "author": pr.author,
            "title": pr.title}),
        "repo": _Namespace("repo", {"owner": pr.owner, "name": pr.repo,
                                    "full_name": pr.full_name, "slug": slug(pr.repo, exact=True)}),
        "env": _Namespace("env", environment),
    }
    if domain is not None:
        context["domain"] = domain
    return context


def slug(text: str, limit: int = 40, *, exact: bool = False) -> str:
    """`text` as a lower-case DNS-1123 label of at most `limit` characters (pure, stable).

    Accents are folded (`café` -> `cafe`), anything else than ASCII letters and digits becomes
    `-`. When cut, it ends with a hash of the full text; with `exact`, also when anything but
    the case changed, so two different inputs never share a slug (repository names, where
    `my_app` and `my-app` may both exist).
    """
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    cleaned = "-".join("".join(c if c.isalnum() else " " for c in folded).split())
    changed = cleaned != text.lower()
    if cleaned and len(cleaned) <= limit and not (exact and changed):
        return cleaned
    digest = hashlib.sha256(text.encode()).hexdigest()[:8]
    head = cleaned[:limit - len(digest) - 1].rstrip("-")
    return f"{head}-{digest}" if head else digest


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
