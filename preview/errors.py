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
    """The user's input is wrong (preview.yaml, flags, the PR context, the chart's templates):
    nothing was created. The CLI exits with code 2."""

    exit_code = 2


class Incomplete(PreviewError):
    """A teardown left something behind (named in the message). The CLI exits with code 3."""

    exit_code = 3
