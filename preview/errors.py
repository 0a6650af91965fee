"""The one error type the CLI knows how to explain."""

from __future__ import annotations


class PreviewError(Exception):
    """A failure a user can act on: a message for humans and a hint naming the fix."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\nhint: {self.hint}"
        return self.message


class BadInput(PreviewError):
    """The user's input (flags, preview.yaml, the event payload, the chart's templates, a
    namespace of the environment's name that is not ours) is wrong; nothing was created:
    exit code 2."""

    exit_code = 2


class Incomplete(PreviewError):
    """A teardown left something behind (named in the message): exit code 3."""

    exit_code = 3
