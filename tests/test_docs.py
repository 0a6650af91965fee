"""The docs are true to the code: every flag they name exists on the command it belongs to, and
every link of the README and docs/ stays inside the repository.

Flags are read from click's own command objects (`preview.cli.main`), never from --help text.
Two readings of the docs:

- a command line (`preview up --chart X`, in a code span or a code block; in docs/vcluster.md
  also `create NAME --upgrade`, its table's shorthand) names the command, and each flag after
  it must be one of that command's;
- a doc about some commands (docs/config.md is about `preview up`'s flags, docs/gc.md about
  `preview gc`'s…): every other flag it names, in a flag table or in prose, must be one of those
  commands' — unless the code span or line names another program (`helm upgrade --install`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import click
import pytest

from preview.cli import main as cli

ROOT = Path(__file__).resolve().parents[1]
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")
CODE_SPAN = re.compile(r"`([^`]+)`")
# Programs whose flags the docs quote; a span or code line naming one is not about our CLI
# (a line that starts with `vcluster` is the upstream vcluster CLI, docs/vcluster.md compares).
OTHER_PROGRAMS = re.compile(r"(?<![\w/-])(helm|kubectl|k3s|kube-apiserver|cosign|docker|git|pip|pipx|pytest|"
                            r"curl|ingress-nginx|nginx)(?![\w-])|^vcluster\s")
# Which commands each doc documents: its flag tables and bare flags are read against these.
COMMAND_DOCS = {
    "config.md": ["up"],
    "up.md": ["up", "down", "list", "kubeconfig"],
    "gc.md": ["gc"],
    "action.md": ["action", "up", "down", "gc"],
    "vcluster.md": ["vcluster", "vcluster create", "vcluster delete", "vcluster list",
                    "vcluster connect", "vcluster convert"],
    "github.md": ["up", "down", "gc", "kubeconfig"],
    "policy.md": ["up", "gc", "syncer"],
    "syncer.md": ["syncer"],
    "platform.md": ["serve", "up", "down"],
}
SEPARATORS = re.compile(r"\s(?:\||&&|;|--\s|#)|\s--$")


def commands() -> dict[str, set[str]]:
    """Every command path ("up", "vcluster create") and its long options."""
    found: dict[str, set[str]] = {}

    def walk(command: click.Command, path: tuple[str, ...]) -> None:
        found[" ".join(path)] = {opt for param in command.params
                                 for opt in (*param.opts, *param.secondary_opts)
                                 if opt.startswith("--")} | {"--help"}
        if isinstance(command, click.Group):
            for name, sub in command.commands.items():
                walk(sub, (*path, name))

    walk(cli, ())
    return found


COMMANDS = commands()


def docs() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def snippets(text: str) -> Iterator[tuple[int, str]]:
    """(line number, text) of every code span and every line of a code block."""
    fenced = False
    for number, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        if fenced:
            yield number, line
        else:
            for span in CODE_SPAN.findall(line):
                yield number, span


def command_line(snippet: str, prefix: str = "") -> tuple[str, str] | None:
    """(command path, the rest) when the snippet is a `preview …` command line."""
    match = re.search(r"(?:^|[\s/$(])preview\s+(.*)", snippet)
    words = match.group(1) if match else (f"{prefix} {snippet}" if prefix else "")
    if not words:
        return None
    path: list[str] = []
    rest = words.split()
    while rest and " ".join([*path, rest[0]]) in COMMANDS:
        path.append(rest.pop(0))
    if not path or (not match and len(path) < 2):  # the shorthand names a subcommand
        return None
    return " ".join(path), " ".join(rest)


def flags_after(rest: str) -> list[str]:
    return FLAG.findall(SEPARATORS.split(f" {rest}", maxsplit=1)[0])


def problems(doc: Path) -> list[str]:
    text = doc.read_text()
    found = []
    owned = {flag for name in COMMAND_DOCS.get(doc.name, []) for flag in COMMANDS[name]}
    prefix = "vcluster" if doc.name == "vcluster.md" else ""
    on_command_lines: set[tuple[int, str]] = set()
    for number, snippet in snippets(text):
        parsed = command_line(snippet, prefix)
        if parsed:
            name, rest = parsed
            for flag in flags_after(rest):
                on_command_lines.add((number, flag))
                if flag not in COMMANDS[name]:
                    found.append(f"{doc.name}:{number}: preview {name} has no {flag}")
        elif OTHER_PROGRAMS.search(snippet):
            on_command_lines.update((number, flag) for flag in FLAG.findall(snippet))
    if doc.name in COMMAND_DOCS:
        for number, line in enumerate(text.splitlines(), 1):
            for flag in FLAG.findall(line):
                if (number, flag) not in on_command_lines and flag not in owned:
                    found.append(f"{doc.name}:{number}: {flag} is not a flag of "
                                 f"{' / '.join(COMMAND_DOCS[doc.name])}")
    return sorted(set(found))


@pytest.mark.parametrize("doc", docs(), ids=lambda p: p.name)
def test_every_flag_a_doc_names_exists(doc: Path) -> None:
    assert problems(doc) == []


def test_a_flag_that_does_not_exist_is_found(tmp_path: Path) -> None:
    doc = tmp_path / "config.md"
    doc.write_text("| field | flag |\n|---|---|\n| `labels` | `--labels MAP` |\n\n"
                   "Run `preview up --chart ./c --no-such-flag` or `helm upgrade --install`.\n"
                   "```\npreview gc --dry-run --force\n```\n")
    assert problems(doc) == ["config.md:3: --labels is not a flag of up",
                             "config.md:5: preview up has no --no-such-flag"]


def test_the_docs_cover_the_commands_they_claim() -> None:
    assert all(name in COMMANDS for names in COMMAND_DOCS.values() for name in names)
    assert all((ROOT / "docs" / doc).is_file() for doc in COMMAND_DOCS)


LINK = re.compile(r"\]\(([^)\s]+)\)")


@pytest.mark.parametrize("doc", docs(), ids=lambda p: p.name)
def test_links_stay_inside_the_repository(doc: Path) -> None:
    """Relative links resolve to a file of this repository (never ../shared or beyond it);
    absolute ones are to public sites, never to a file on a machine."""
    for number, line in enumerate(doc.read_text().splitlines(), 1):
        for target in LINK.findall(line):
            if re.match(r"[a-z]+://", target) or target.startswith(("#", "mailto:")):
                continue
            resolved = (doc.parent / target.split("#", 1)[0]).resolve()
            assert resolved.is_relative_to(ROOT), f"{doc.name}:{number}: {target} leaves it"
            assert resolved.exists(), f"{doc.name}:{number}: {target} does not exist"
