"""Make untrusted text inert in GitHub-flavoured Markdown: the filters our templates use.

Branch names, titles, logins, pod logs and event messages come from the pull request or from
its workloads. In a comment they must not close our `<details>` or code block, add HTML,
links or images, or ping people (`@everyone`, `@org/team`). Two tools cover every place:

- `inline`: every punctuation character that could start markup becomes a numeric character
  reference: GitHub shows `&#60;img` as text and `&#96;` as a backtick that opens no code span,
  since entities are decoded after Markdown is parsed. Mentions and issue references are found
  later, in the decoded text, so `@` and `#` also get a zero-width space after them
  (`@&#8203;everyone`, as Renovate does): shown alike, linked and notified never.
- `fenced`: a code block whose fence is longer than any backtick run inside, so the content
  cannot close it; nothing in a code block is parsed (no HTML, no mentions).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import quote, urlsplit

# ASCII punctuation that can start Markdown, HTML, an entity, a mention, an autolink or math.
# Left raw: - / , ; = ? % + ^ (inert unless at the start of a line, where `inline` never is),
# so the comment's source stays readable.
_PUNCT = re.compile(r"[!\"#$&'()*.:<>@\[\\\]_`{|}~]")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")
_NEWLINES = re.compile(r"\s*[\r\n]+\s*")


def inline(value: object, limit: int = 300) -> str:
    """Untrusted text for one line of Markdown or HTML: shown literally, never interpreted."""
    text = _CONTROL.sub("", _NEWLINES.sub(" ", _ANSI.sub("", str(value)))).strip()
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return _PUNCT.sub(_reference, text)


def _reference(match: re.Match[str]) -> str:
    char = match.group()
    return f"&#{ord(char)};" + ("&#8203;" if char in "@#" else "")


def clean_line(line: str, limit: int = 400) -> str:
    """A log or event line for a code block: no terminal escapes or control characters."""
    text = _CONTROL.sub("", _ANSI.sub("", line.replace("\t", "    ").rstrip("\r\n")))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def fenced(lines: Iterable[str], info: str = "text") -> str:
    """A fenced code block that no line inside it can close."""
    body = [clean_line(line) for line in lines]
    longest = max((len(run) for line in body for run in re.findall(r"`+", line)), default=0)
    fence = "`" * max(3, longest + 1)
    return "\n".join([f"{fence}{info}", *body, fence])


def url(value: object) -> str:
    """A link target: http(s) only, characters that could end the link percent-encoded."""
    text = str(value).strip()
    if urlsplit(text).scheme not in ("http", "https"):
        return ""
    return quote(text, safe=":/?#[]@!$&*+,;=%-._~")
