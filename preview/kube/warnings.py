"""What an API server warns about in an answer (`Warning: 299 - "<text>"` headers).

The server warns of what it accepted but a user should change: a field it dropped as
unknown, a deprecated API version. client-go logs each; so do we, once per text per client,
so a long-running syncer repeats none of them every reconcile.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable

log = logging.getLogger(__name__)
# RFC 7234: warn-code SP warn-agent SP warn-text [SP warn-date]; the text is a quoted-string.
_WARNING = re.compile(r'\s*\d{3}\s+\S+\s+"((?:[^"\\]|\\.)*)"')
_REMEMBERED = 1000  # distinct texts a client remembers having logged


def text_of(header: str) -> str | None:
    """The text of one `Warning` header value, unquoted; None if it is not one."""
    m = _WARNING.match(header)
    if m is None:
        return None
    try:
        text = json.loads(f'"{m.group(1)}"')
    except ValueError:  # a Go escape JSON does not know (\x41): keep it as sent
        return m.group(1)
    return text if isinstance(text, str) else None


class WarningLog:
    """Logs each distinct warning once (the first `_REMEMBERED` texts; later ones always)."""

    def __init__(self, server: str) -> None:
        self.server = server
        self._seen: set[str] = set()

    def log(self, headers: Iterable[str], method: str, path: str) -> None:
        for header in headers:
            text = text_of(header)
            if text is None or text in self._seen:
                continue
            if len(self._seen) < _REMEMBERED:
                self._seen.add(text)
            log.warning("%s warns of %s %s: %s", self.server, method, path, text)
