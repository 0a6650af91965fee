"""jinja2 templates in `preview.yaml`, rendered in a sandbox over a fixed, documented context.

`preview.yaml`, its values files and everything in a pull request are untrusted: a PR can
change them. So templates render in jinja2's immutable sandbox (`jinja.py`: no attribute starting with `_`,
no mutation of the context, no globals such as `cycler` or `range`), with `StrictUndefined` (a
misspelt variable is an error, not an empty string), and with only the variables listed in
`VARIABLES`: nothing from the process environment or the file system is reachable.

PR text (branch names, titles, authors) is *data*: it enters as a context value and is never
compiled, so a branch named `{{ 7*7 }}` renders as exactly that text. Values files are parsed
as YAML first and each string leaf is rendered on its own, so a rendered value can never add
YAML structure (a branch name holding `"\\n  evil: true"` stays one string).

And they render under a `Budget` (`process.py`): in a worker process with limited memory and
a deadline per file, so a template that builds a huge string, by whatever means jinja2 offers,
is refused with its field named instead of taking the machine's memory.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Mapping
from typing import Any

from preview.naming import EnvironmentLike, PullRequestLike
from preview.templating.jinja import Namespace, check_syntax, is_template, variables_used
from preview.templating.process import DEFAULT_BUDGET, Budget, Renderer, file_of, join

__all__ = ["DEFAULT_BUDGET", "VARIABLES", "Budget", "EnvironmentLike", "PullRequestLike", "Renderer",
           "check_syntax", "check_tree", "context_for", "file_of", "is_template", "join",
           "render_text", "render_tree", "slug", "variables_used"]

# The documented context (docs/config.md), in the order the hint lists it.
VARIABLES = (
    "pr.number", "pr.head_sha", "pr.short_sha", "pr.branch", "pr.branch_slug", "pr.author",
    "pr.title", "repo.owner", "repo.name", "repo.full_name", "repo.slug", "env.name",
    "env.namespace", "env.host", "env.url", "domain",
)


def render_text(text: str, context: Mapping[str, Any], where: str,
                budget: Budget = DEFAULT_BUDGET) -> str:
    """`text` rendered under `budget`; BadInput naming `where` (file: field) on failure.
    One worker process per call: `Renderer` renders many strings with one."""
    if not is_template(text):
        return text
    with Renderer(budget) as renderer:
        return renderer.text(text, context, where)


def render_tree(value: Any, context: Mapping[str, Any], where: str,
                budget: Budget = DEFAULT_BUDGET) -> Any:
    """A copy of parsed YAML with every string leaf rendered under `budget` (Renderer.tree)."""
    with Renderer(budget) as renderer:
        return renderer.tree(value, context, where)


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


def context_for(pr: PullRequestLike, env: EnvironmentLike, *, domain: str | None = None,
                host: str | None = None, url: str | None = None) -> dict[str, Any]:
    """The template context of one environment (VARIABLES; `env.host`/`env.url` once known)."""
    environment: dict[str, Any] = {"name": env.name, "namespace": env.namespace}
    if host is not None:
        environment["host"] = host
    if url is not None:
        environment["url"] = url
    context: dict[str, Any] = {
        "pr": Namespace("pr", {
            "number": pr.number, "head_sha": pr.head_sha, "short_sha": pr.short_sha,
            "branch": pr.branch, "branch_slug": pr.branch_slug, "author": pr.author,
            "title": pr.title}),
        "repo": Namespace("repo", {"owner": pr.owner, "name": pr.repo,
                                    "full_name": pr.full_name, "slug": slug(pr.repo, exact=True)}),
        "env": Namespace("env", environment),
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
