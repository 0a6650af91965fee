"""Plain data of the GC: what the host holds, the settings, decisions and their outcomes."""

from __future__ import annotations

from dataclasses import dataclass

from preview.naming import EnvironmentRecord

DELETE = "delete"
KEEP = "keep"


@dataclass(frozen=True)
class HostEnvironment:
    """One environment as the host shows it: its namespace record and its health."""

    record: EnvironmentRecord
    uid: str  # the namespace's uid: a deletion is preconditioned on it
    vcluster: str  # "ready", "missing" or "not ready (0/1 replicas)"
    deletion_started: str = ""  # RFC 3339 deletionTimestamp when Terminating

    @property
    def ready(self) -> bool:
        return self.vcluster == "ready"


@dataclass(frozen=True)
class Settings:
    """The rules' knobs."""

    grace_seconds: int = 3600  # younger environments are kept unless their TTL expired
    keep_labels: tuple[str, ...] = ("preview:keep",)
    github: str = ""  # "" when GitHub was asked; else why not ("no GitHub token")
    # The platform policy's caps (None: none): the longest TTL, environments per repository.
    max_ttl_seconds: int | None = None
    per_repository: int | None = None


@dataclass(frozen=True)
class Decision:
    """What the GC decided for one environment, and why (`rule` is a stable short code)."""

    environment: HostEnvironment
    action: str  # DELETE | KEEP
    rule: str
    reason: str
    age_seconds: int
    pr_state: str = ""  # rule pr-closed: merged | closed | missing, as GitHub said

    @property
    def namespace(self) -> str:
        return self.environment.record.namespace

    @property
    def repo(self) -> str:
        return self.environment.record.repo

    @property
    def pr(self) -> int:
        return self.environment.record.pr


@dataclass(frozen=True)
class Outcome:
    """What happened to one decision: kept, deleted, would-delete, refused, skipped (another
    run holds the environment) or failed."""

    decision: Decision
    outcome: str  # kept | deleted | would delete | not deleted | skipped | failed
    detail: str = ""  # why it failed or was skipped / warnings of the GitHub report


@dataclass(frozen=True)
class GcResult:
    """A whole run: every outcome, the refusal when the safety limit stopped it, notes."""

    outcomes: tuple[Outcome, ...]
    dry_run: bool
    refused: str = ""  # why nothing was deleted although deletions were planned
    notes: tuple[str, ...] = ()  # e.g. "no GitHub token: PR state unknown"
    github_requests: int = 0

    @property
    def failed(self) -> tuple[Outcome, ...]:
        return tuple(o for o in self.outcomes if o.outcome == "failed")

    @property
    def exit_code(self) -> int:
        return 1 if self.failed or self.refused else 0
