"""Errors the reconcile speaks to the work queue with."""

from __future__ import annotations


class TerminalError(Exception):
    """Retrying cannot help (as controller-runtime's `reconcile.TerminalError`): the worker
    logs it, counts it and forgets the key; the next change of the object brings it back.

    Whoever raises it has already told the tenant (an Event on the virtual object).
    `reason` labels the error metric.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
