"""The label contract: every `preview-vcluster.io/*` key and every name we derive. Pure.

`up`, `down`, `list`, `gc`, `preview vcluster` and the syncer share it, spelled once here:

- **Environments.** A preview environment per (repository, pull request), `pr-<n>`, or several
  named by the pull request's apps, `pr-<n>-<app>` (the `environment` label): each a host namespace
  labelled `managed-by=preview-vcluster`, `repo`, `pr`, `environment`, with annotations
  `created-at`, `expires-at`, `head-sha`, `url`, `run-url`, `state` and `state-reason` (and
  the unsanitised repository name, since label values cannot hold `/`). The GC deletes only namespaces carrying
  `managed-by=preview-vcluster` *and* an `environment` label.
- **Synced objects.** A virtual object `<name>` in namespace `<namespace>` of virtual cluster
  `<vcluster>` becomes `<name>-x-<namespace>-x-<vcluster>` in the host namespace. When that is
  longer than the kind allows, it is cut and ends with a hash of the full name, so distinct
  (namespace, name) pairs never collide and the same pair always maps to the same host name.

Everything from a pull request (repository names, branch names) is untrusted text: it only
reaches a Kubernetes name or label through `dns_label` / `label_value`, which keep ASCII
letters, digits and `-` and add a stable hash when they had to change or cut anything.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Protocol


class PullRequestLike(Protocol):
    """What the services read of a pull request (`preview.pullrequest.PullRequest`): the
    templates, the comment and the deployments. One shape, named here, under them all."""

    @property
    def owner(self) -> str: ...
    @property
    def repo(self) -> str: ...
    @property
    def number(self) -> int: ...
    @property
    def head_sha(self) -> str: ...
    @property
    def short_sha(self) -> str: ...
    @property
    def branch(self) -> str: ...
    @property
    def branch_slug(self) -> str: ...
    @property
    def author(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def full_name(self) -> str: ...
    @property
    def run_url(self) -> str: ...


class EnvironmentLike(Protocol):
    """What the services read of an environment (`Environment`, below)."""

    @property
    def name(self) -> str: ...
    @property
    def namespace(self) -> str: ...
    @property
    def vcluster(self) -> str: ...


PREFIX = "preview-vcluster.io/"
MANAGED_BY = f"{PREFIX}managed-by"  # "preview-vcluster" on namespaces, "syncer" on copies
MANAGED_BY_VALUE = "preview-vcluster"  # also app.kubernetes.io/part-of of the chart's objects
SYNCER_VALUE = "syncer"

# -- environments (host namespaces made by `preview up`) -----------------------------------------
REPO = f"{PREFIX}repo"  # label: owner.name, sanitised
PR = f"{PREFIX}pr"  # label: the pull request number
ENVIRONMENT = f"{PREFIX}environment"  # label: pr-<n>, also the GitHub environment
CREATED_AT = f"{PREFIX}created-at"
EXPIRES_AT = f"{PREFIX}expires-at"
HEAD_SHA = f"{PREFIX}head-sha"
URL = f"{PREFIX}url"
RUN_URL = f"{PREFIX}run-url"
REPO_FULL_NAME = f"{PREFIX}repo-full-name"  # annotation: "owner/name" exactly
# Annotations `up` keeps current: deploying (from the namespace on), then ready or failed,
# and for failed the one-sentence reason (`preview list` shows both).
STATE = f"{PREFIX}state"
STATE_REASON = f"{PREFIX}state-reason"
STATES = ("deploying", "ready", "failed")
ENVIRONMENT_VCLUSTER = "vcluster"  # name of the virtual cluster inside an environment's namespace
APP_RELEASE = "app"  # default helm release of the user's chart inside the virtual cluster
# On the environment's lock Lease (preview/lease.py): what its holder is doing (up, down, gc).
LOCK_OPERATION = f"{PREFIX}operation"

# The component the syncer's Events name (source.component, reportingComponent): diagnostics
# list them after the workload's own.
SYNCER_COMPONENT = "preview-vcluster-syncer"

# -- sleep and wake (preview/sleeping.py, preview/operations/sleep.py) ---------------------------
ASLEEP_SINCE = f"{PREFIX}asleep-since"  # namespace annotation: RFC 3339, while asleep
LAST_ACTIVITY = f"{PREFIX}last-activity"  # namespace annotation: RFC 3339
# On a workload scaled to zero by sleep (inside the virtual cluster, and the control plane's
# StatefulSet on the host): what wake restores exactly.
SLEEP_REPLICAS = f"{PREFIX}sleep-replicas"  # Deployment, StatefulSet, ReplicaSet: replicas
SLEEP_SUSPEND = f"{PREFIX}sleep-suspend"  # CronJob, Job: "true"/"false", suspend before
SLEEP_NODE_SELECTOR = f"{PREFIX}sleep-node-selector"  # DaemonSet: its nodeSelector, JSON
# Namespace annotation: the cost ledger (preview/cost/usage.py), JSON.
USAGE = f"{PREFIX}usage"
# The node label a sleeping DaemonSet selects: no node carries it, so it runs no pod.
ASLEEP_NODE_LABEL = f"{PREFIX}asleep"
# The wake page (preview/serve/wake.py): while asleep, each host Ingress of the environment
# points at Service WAKE_SERVICE (ExternalName: the platform API's wake listener), its spec
# before kept as JSON in SLEEP_INGRESS and the Ingress labelled WAKE_PAGE (found by it).
SLEEP_INGRESS = f"{PREFIX}sleep-ingress"
WAKE_PAGE = f"{PREFIX}wake-page"
WAKE_SERVICE = "preview-wake"

# -- virtual clusters (`preview vcluster`, charts/vcluster) --------------------------------------
VCLUSTER = f"{PREFIX}vcluster"  # namespace label: its virtual cluster; on copies: the owner

# -- synced host objects (the syncer) -------------------------------------------------------------
VIRTUAL_NAMESPACE = f"{PREFIX}namespace"  # label: the virtual namespace (sanitized)
VIRTUAL_NAME_ANNOTATION = f"{PREFIX}object-name"
VIRTUAL_NAMESPACE_ANNOTATION = f"{PREFIX}object-namespace"
VIRTUAL_UID_ANNOTATION = f"{PREFIX}object-uid"
# On the host Secret holding a pod's virtual ServiceAccount token: the pod's virtual name.
TOKEN_FOR_POD_ANNOTATION = f"{PREFIX}token-for-pod"
# On virtual nodes: "real" (mirrors the host node) or "fake".
NODE_LABEL = f"{PREFIX}node"

DNS_LABEL_MAX = 63  # pods' hostnames, services
DNS_SUBDOMAIN_MAX = 253  # most other kinds
_HASH_LEN = 10


def host_name(name: str, namespace: str, vcluster: str, limit: int = DNS_SUBDOMAIN_MAX) -> str:
    """The host object name of a namespaced virtual object, at most `limit` characters.

    The readable form is used only when it decodes unambiguously: with `vcluster` fixed, the
    name is whatever precedes the first `-x-`, so the name must not contain `-x-` nor end
    in `-x` (("a-x", "b") and ("a", "x-b") would otherwise both read `a-x-x-b-x-vc`).
    Otherwise the name ends with a hash of the (namespace, name) pair.
    """
    full = f"{name}-x-{namespace}-x-{vcluster}"
    if len(full) <= limit and "-x-" not in name and not name.endswith("-x"):
        return full
    digest = hashlib.sha256(f"{namespace}/{name}/{vcluster}".encode()).hexdigest()[:_HASH_LEN]
    head = full[:limit - _HASH_LEN - 1].rstrip("-.")
    return f"{head}-{digest}"


def cluster_scoped_host_name(name: str, vcluster: str, limit: int = DNS_SUBDOMAIN_MAX) -> str:
    """The host name of a cluster-scoped virtual object (e.g. a PersistentVolume)."""
    full = f"{name}-x-{vcluster}"
    if len(full) <= limit:
        return full
    digest = hashlib.sha256(full.encode()).hexdigest()[:_HASH_LEN]
    return f"{full[:limit - _HASH_LEN - 1].rstrip('-.')}-{digest}"


def label_value(value: str) -> str:
    """A label-safe form of any string (<= 63 ASCII chars, alphanumeric at both ends)."""
    if len(value) <= DNS_LABEL_MAX and _label_safe(value):
        return value
    cleaned = "".join(c if _ascii_alnum(c) or c in "-_." else "-" for c in value).strip("-_.")
    digest = hashlib.sha256(value.encode()).hexdigest()[:_HASH_LEN]
    if len(cleaned) <= DNS_LABEL_MAX and cleaned == value:
        return cleaned
    return f"{cleaned[:DNS_LABEL_MAX - _HASH_LEN - 1].rstrip('-_.')}-{digest}".lstrip("-_.")


def _ascii_alnum(c: str) -> bool:
    return c.isascii() and c.isalnum()


def _label_safe(value: str) -> bool:
    if not value:
        return True
    return (_ascii_alnum(value[0]) and _ascii_alnum(value[-1])
            and all(_ascii_alnum(c) or c in "-_." for c in value))


def ownership_labels(vcluster: str, namespace: str) -> dict[str, str]:
    """Labels that prove a host object belongs to this virtual cluster's syncer."""
    return {MANAGED_BY: SYNCER_VALUE, VCLUSTER: label_value(vcluster),
            VIRTUAL_NAMESPACE: label_value(namespace)}


def is_owned(host_obj: dict[str, object], vcluster: str) -> bool:
    """Whether the syncer of `vcluster` may modify or delete this host object."""
    meta = host_obj.get("metadata")
    labels = (meta.get("labels") if isinstance(meta, dict) else None) or {}
    return isinstance(labels, dict) and labels.get(MANAGED_BY) == SYNCER_VALUE and \
        labels.get(VCLUSTER) == label_value(vcluster)


# -- environments ----------------------------------------------------------------------------------
_NOT_DNS = re.compile(r"[^a-z0-9-]+")
_GITHUB_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,99})$")


def dns_label(text: str, limit: int = DNS_LABEL_MAX) -> str:
    """`text` as a DNS-1123 label of at most `limit` characters (pure, stable).

    Lower-cased; anything else than ASCII letters, digits and `-` becomes `-`. When that
    changed more than the case, or the result is too long, it ends with a hash of the
    original text, so two different inputs never share a label.
    """
    lowered = text.lower()
    cleaned = _NOT_DNS.sub("-", lowered).strip("-")
    if cleaned == lowered and 0 < len(cleaned) <= limit:
        return cleaned
    digest = hashlib.sha256(text.encode()).hexdigest()[:_HASH_LEN]
    head = cleaned[:limit - _HASH_LEN - 1].strip("-")
    return f"{head}-{digest}" if head else digest


def check_repository(owner: str, repo: str) -> None:
    """Raise ValueError unless `owner/repo` is a name GitHub could have given."""
    for what, value in (("owner", owner), ("repository name", repo)):
        if not _GITHUB_NAME.fullmatch(value) or value in (".", ".."):
            raise ValueError(f"{what} {value!r} is not a GitHub name (letters, digits, '.', "
                             "'_' and '-')")


@dataclass(frozen=True)
class Environment:
    """The names of one preview environment: (repository, pull request) → host objects."""

    owner: str
    repo: str
    pr: int
    name: str  # pr-<n>[-<app>]: the `environment` label, the GitHub environment, the vcluster
    namespace: str  # the host namespace holding the virtual cluster
    vcluster: str  # the virtual cluster's name (charts/vcluster release) in that namespace
    repo_label: str  # value of the `repo` label: owner.name, lower-cased and label-safe

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.repo}"


APP_MAX = 20  # an environment's own name: pr-<n>-<app> must stay readable in every name
_APP = re.compile(r"[a-z](?:[a-z0-9-]*[a-z0-9])?")


def check_app(app: str) -> str:
    """`app` if it can name a second environment of a pull request; ValueError otherwise."""
    if len(app) > APP_MAX or not _APP.fullmatch(app):
        raise ValueError(f"environment name {app!r} is not a lower-case DNS label of at most "
                         f"{APP_MAX} characters starting with a letter (e.g. api, web)")
    return app


def environment_for(owner: str, repo: str, pr: int, app: str = "") -> Environment:
    """The environment of pull request `pr` of `owner/repo` (pure; ValueError on bad input).

    `app` names one of several environments of the pull request (a monorepo's `api` and
    `web`): `pr-<n>-<app>`, each with its own namespace, virtual cluster, URL and GitHub
    environment; without it the pull request's one environment is `pr-<n>`.
    """
    check_repository(owner, repo)
    if pr < 1:
        raise ValueError(f"pull request number {pr} is not positive")
    name = f"pr-{pr}-{check_app(app)}" if app else f"pr-{pr}"
    suffix = f"-{name}"
    # The PR number always survives the cut: `…-pr-<n>` stays readable in `kubectl get ns`.
    stem = dns_label(f"preview-{owner}-{repo}", DNS_LABEL_MAX - len(suffix))
    return Environment(owner=owner, repo=repo, pr=pr, name=name, namespace=stem + suffix,
                       vcluster=name, repo_label=repo_label(owner, repo))


def app_of(environment: str, pr: int) -> str:
    """The `app` an environment's name carries (`pr-7-api` → `api`; `pr-7` → "") (pure)."""
    return environment.removeprefix(f"pr-{pr}-") if environment.startswith(f"pr-{pr}-") else ""


def repo_label(owner: str, repo: str) -> str:
    """The `repo` label value of `owner/repo` (GitHub names are case-insensitive)."""
    return label_value(f"{owner}.{repo}".lower())


def namespace_labels(env: Environment, extra: dict[str, str] | None = None) -> dict[str, str]:
    """Labels of an environment's host namespace; `extra` (cost attribution) cannot override
    the contract's own keys."""
    return {**(extra or {}), MANAGED_BY: MANAGED_BY_VALUE, REPO: env.repo_label,
            PR: str(env.pr), ENVIRONMENT: env.name, VCLUSTER: env.vcluster}


def namespace_annotations(env: Environment, *, created_at: str, expires_at: str,
                          head_sha: str, url: str | None, run_url: str = "") -> dict[str, str]:
    """Annotations of an environment's host namespace (timestamps as RFC 3339, UTC); the URL
    is left out when None (`up` writes it once its deploy has found it)."""
    notes = {CREATED_AT: created_at, EXPIRES_AT: expires_at, HEAD_SHA: head_sha, URL: url,
             RUN_URL: run_url, REPO_FULL_NAME: env.full_name}
    return {key: value for key, value in notes.items() if value is not None}


def environment_selector(owner: str | None = None, repo: str | None = None) -> str:
    """Label selector of every managed environment (of one repository when given)."""
    selector = f"{MANAGED_BY}={MANAGED_BY_VALUE},{ENVIRONMENT}"
    if owner is not None and repo is not None:
        selector += f",{REPO}={repo_label(owner, repo)}"
    return selector


def is_environment(namespace: dict[str, object]) -> bool:
    """Whether a host namespace is a preview environment `up` made (ours to delete)."""
    meta = namespace.get("metadata")
    labels = (meta.get("labels") if isinstance(meta, dict) else None) or {}
    return isinstance(labels, dict) and labels.get(MANAGED_BY) == MANAGED_BY_VALUE and \
        bool(labels.get(ENVIRONMENT))


@dataclass(frozen=True)
class EnvironmentRecord:
    """An environment as read back from its host namespace (what `list` and `gc` see)."""

    namespace: str
    repo: str  # owner/name ("" when the annotation is missing)
    pr: int  # 0 when the label is missing or not a number
    environment: str
    vcluster: str
    head_sha: str
    url: str
    run_url: str
    created_at: str  # RFC 3339; the namespace's creationTimestamp when the annotation is missing
    expires_at: str  # RFC 3339, "" when unknown
    terminating: bool
    labels: dict[str, str]
    state: str = ""  # deploying | ready | failed, as `up` left it ("" before it recorded one)
    state_reason: str = ""
    asleep_since: str = ""  # RFC 3339 while `preview sleep` holds it asleep, else ""
    last_activity: str = ""  # RFC 3339, "" when never recorded


def state_annotations(state: str, reason: str = "") -> dict[str, str]:
    """The annotations recording what `up` left the environment in (pure)."""
    assert state in STATES, state
    return {STATE: state, STATE_REASON: reason[:200] if state == "failed" else ""}


def read_environment(namespace: dict[str, object]) -> EnvironmentRecord | None:
    """The environment a host namespace holds, or None when it is not one of ours."""
    if not is_environment(namespace):
        return None
    meta = namespace["metadata"]
    assert isinstance(meta, dict)
    labels: dict[str, str] = dict(meta.get("labels") or {})
    notes: dict[str, str] = dict(meta.get("annotations") or {})
    pr = labels.get(PR, "")
    return EnvironmentRecord(
        namespace=str(meta.get("name", "")), repo=notes.get(REPO_FULL_NAME, ""),
        pr=int(pr) if pr.isdigit() else 0, environment=labels.get(ENVIRONMENT, ""),
        vcluster=labels.get(VCLUSTER, ""), head_sha=notes.get(HEAD_SHA, ""),
        url=notes.get(URL, ""), run_url=notes.get(RUN_URL, ""),
        created_at=notes.get(CREATED_AT) or str(meta.get("creationTimestamp", "")),
        expires_at=notes.get(EXPIRES_AT, ""),
        terminating=bool(meta.get("deletionTimestamp")), labels=labels,
        state=notes.get(STATE, "") if notes.get(STATE, "") in STATES else "",
        state_reason=notes.get(STATE_REASON, ""),
        asleep_since=notes.get(ASLEEP_SINCE, ""), last_activity=notes.get(LAST_ACTIVITY, ""))
