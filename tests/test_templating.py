"""preview/templating.py: the sandbox, the documented context, PR text as data."""

from __future__ import annotations

from dataclasses import dataclass
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
    templating.check_syntax("no template", "x")


def test_runtime_error_in_template() -> None:
    with pytest.raises(PreviewError, match="the template failed: ZeroDivisionError"):
        templating.render_text("{{ 1 / 0 }}", context(), "f")


def test_non_strings_kept() -> None:
    tree = {"replicas": 2, "on": True, "none": None, "list": [1.5, "{{ pr.number }}"]}
    assert templating.render_tree(tree, context(), "v: ") == \
        {"replicas": 2, "on": True, "none": None, "list": [1.5, "42"]}


def test_variables_used() -> None:
    assert templating.variables_used("https://{{ pr.number }}.{{ domain }}") == {"pr", "domain"}
    assert templating.variables_used("plain") == set()


@pytest.mark.parametrize("source", [
    "{{ '{0.__class__}'.format(pr.branch) }}",
    "{% include '/etc/passwd' %}",
    "{% import 'os' as os %}",
])
def test_no_escape_through_format_or_loaders(source: str) -> None:
    with pytest.raises(PreviewError, match=r"^f: the template (is refused|failed)"):
        templating.render_text(source, context(), "f")
