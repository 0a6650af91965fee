"""The options of the registry's verbs, as query strings and `DeleteOptions` bodies carry them.

Plain data below `registry` and `deletion`, so that both (and request parsing) name them
without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class WriteOptions:
    dry_run: bool = False
    field_manager: str = ""
    force: bool = False
    field_validation: str = "Warn"  # Ignore | Warn | Strict: what unknown fields cost


@dataclass(frozen=True)
class ListOptions:
    label_selector: str = ""
    field_selector: str = ""
    limit: int = 0
    continue_token: str = ""


@dataclass(frozen=True)
class DeleteOptions:
    propagation: str | None = None  # Foreground | Background | Orphan
    grace_period: int | None = None
    uid: str | None = None
    resource_version: str | None = None
    dry_run: bool = False
