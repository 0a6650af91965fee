"""Warnings an answer carries, as the real server sends them (`k8s.io/apiserver/pkg/warning`).

Code deep in a request (the registry dropping an unknown field) adds a warning to the
request it serves, as Go code adds one to the request's context; the endpoint sends each
as one `Warning: 299 - "<text>"` header (RFC 7234's code and agent as Kubernetes writes
them), and kubectl prints it as `Warning: <text>`. Outside a request, adding is a no-op.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from contextvars import ContextVar

_current: ContextVar[list[str] | None] = ContextVar("sandbox_warnings", default=None)


@contextlib.contextmanager
def recording() -> Iterator[list[str]]:
    """Collect the warnings added while serving one request (a task: aiohttp runs each
    request in its own)."""
    found: list[str] = []
    token = _current.set(found)
    try:
        yield found
    finally:
        _current.reset(token)


def add(text: str) -> None:
    """Warn the client of the request being served; the same text is sent once."""
    found = _current.get()
    if found is not None and text not in found:
        found.append(text)


def header(text: str) -> str:
    """The `Warning` header's value: code 299, agent `-`, the text quoted."""
    return "299 - " + json.dumps(text, ensure_ascii=False)
