"""The platform policy file: its schema (pydantic v2), its defaults, and how it is read.

The policy is the host owner's: it decides what no pull request may (the syncer image, the
lowest Pod Security level, which isolation rules may ever be relaxed, domains, caps, chart
sources) and which `vcluster:` keys a pull request's `preview.yaml` may set at all. Without a
file the defaults below apply; they are what docs/policy.md lists. Every model forbids
unknown keys, so `podSecuirty:` fails with a suggestion instead of being ignored.
"""

from __future__ import annotations

import difflib
import fnmatch
import functools
import ipaddress
import json
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, ValidationError, field_validator, model_validator

from preview import config_files
from preview.config_schema import Duration, StrictModel, explain, is_dns_name, problem
from preview.errors import BadInput
from preview.policy import quantity
from preview.vcluster.model import chart_path

DOCS = "docs/policy.md"
HINT = f"every key of the platform policy, its default and what it protects: {DOCS}"
PodSecurityLevel = Literal["privileged", "baseline", "restricted"]
POD_SECURITY_LEVELS: tuple[PodSecurityLevel, ...] = ("privileged", "baseline", "restricted")
# github.com's; GHES serves its own at https://HOSTNAME/_services/token.
GITHUB_ACTIONS_ISSUER = "https://token.actions.githubusercontent.com"

# Keys of charts/vcluster that only the policy decides, whatever `pullRequest.vclusterKeys`
# says: each one runs code or opens a door on the host (the syncer holds a host token).
NEVER_FROM_PULL_REQUEST = (
    "syncer.image", "syncer.imagePullPolicy", "syncer.extraArgs", "syncer.env",
    "k3s.image", "k3s.extraArgs", "k3s.env", "controlPlane.imagePullSecrets",
    "isolation.ingress.allowedHosts", "isolation.ingress.deniedAnnotations",
)
# What a pull request may set in `vcluster:` unless the policy says otherwise: values that
# tighten or size its own environment, each checked against the caps below.
DEFAULT_PULL_REQUEST_KEYS = (
    "isolation.quota", "isolation.limitRange", "isolation.podSecurity", "k3s.resources",
    "syncer.resources", "sync.kinds", "sync.configs", "sync.storageClasses", "sync.allow",
)
# Chart values the policy sets through its own keys; its `vcluster:` block may not set
# them a second way.
MANAGED_ELSEWHERE = {
    "syncer.image": "syncer.image", "syncer.imagePullPolicy": "syncer.imagePullPolicy",
    "controlPlane.imagePullSecrets": "syncer.imagePullSecrets",
    "isolation.podSecurity": "podSecurity.minimum", "sync.allow": "sync.relaxable",
    "isolation.ingress.allowedHosts": "ingress.extraAllowedHosts",
    "isolation.quota": "caps.quota",
}


def _quantity(value: object) -> str:
    try:
        quantity.parse(value)
    except ValueError as e:
        raise problem(str(e), "a Kubernetes quantity, e.g. \"500m\", \"2\", 512Mi, 20Gi") \
            from None
    return str(value)


Quantity = Annotated[str, BeforeValidator(_quantity)]
Count = Annotated[int, Field(ge=0)]


class SyncerPolicy(StrictModel):
    """`syncer:` the image every control plane runs as its syncer."""

    image: str = ""  # "" = the chart's default (this project's image at its appVersion)
    image_pull_policy: Literal["Always", "IfNotPresent", "Never"] = \
        Field("IfNotPresent", alias="imagePullPolicy")
    image_pull_secrets: tuple[str, ...] = Field((), alias="imagePullSecrets")

    @field_validator("image")
    @classmethod
    def _image(cls, value: str) -> str:
        if value != value.strip() or any(c.isspace() for c in value):
            raise problem(f"{value!r} is not an image reference",
                          "e.g. ghcr.io/org/preview-syncer:0.2.0 or …@sha256:<digest>")
        return value


class PodSecurityPolicy(StrictModel):
    minimum: PodSecurityLevel = "baseline"


def _rule_names() -> tuple[str, ...]:
    # The syncer's rules are the chart's `sync.allow` enum: one list, read from the schema.
    allow = _chart_schema()["properties"]["sync"]["properties"]["allow"]
    return tuple(allow["items"]["enum"])


class SyncPolicy(StrictModel):
    """`sync:` which isolation rules a `preview.yaml` may relax with `vcluster.sync.allow`."""

    relaxable: tuple[str, ...] = ()

    @field_validator("relaxable")
    @classmethod
    def _rules(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        rules = _rule_names()
        for rule in value:
            if rule not in rules:
                close = difflib.get_close_matches(rule, rules, n=1, cutoff=0.5)
                raise problem(f"{rule!r} is not an isolation rule",
                              (f"did you mean {close[0]!r}? " if close else "")
                              + "rules: " + ", ".join(rules))
        return value


class IngressPolicy(StrictModel):
    domains: tuple[str, ...] = ()  # () = any host (set it on a shared cluster)
    extra_allowed_hosts: tuple[str, ...] = Field((), alias="extraAllowedHosts")

    @field_validator("domains")
    @classmethod
    def _domains(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for domain in value:
            if not is_dns_name(domain):
                raise problem(f"{domain!r} is not a DNS domain", "e.g. preview.example.com")
        return value


class ComputeCaps(StrictModel):
    cpu: Quantity
    memory: Quantity


class RequestCaps(StrictModel):
    cpu: Quantity = "10"
    memory: Quantity = "20Gi"
    storage: Quantity = "50Gi"


class LimitCaps(StrictModel):
    cpu: Quantity = "40"
    memory: Quantity = "40Gi"


class QuotaCaps(StrictModel):
    """`caps.quota`: the most an environment's ResourceQuota may grant (the chart's
    defaults); what the policy sets here becomes every environment's quota."""

    pods: Count = 50
    services: Count = 20
    persistent_volume_claims: Count = Field(10, alias="persistentVolumeClaims")
    load_balancers: Count = Field(2, alias="loadBalancers")
    node_ports: Count = Field(4, alias="nodePorts")
    requests: RequestCaps = RequestCaps.model_validate({})
    limits: LimitCaps = LimitCaps.model_validate({})


class EnvironmentCaps(StrictModel):
    per_repository: Annotated[int, Field(ge=1)] | None = Field(None, alias="perRepository")
    total: Annotated[int, Field(ge=1)] | None = None


class Caps(StrictModel):
    ttl: Duration = 30 * 86400
    timeout: Duration = 30 * 60
    environments: EnvironmentCaps = EnvironmentCaps.model_validate({})
    quota: QuotaCaps = QuotaCaps.model_validate({})
    limit_range: ComputeCaps = Field(ComputeCaps.model_validate({"cpu": "4", "memory": "8Gi"}), alias="limitRange")
    control_plane: ComputeCaps = Field(ComputeCaps.model_validate({"cpu": "2", "memory": "2Gi"}), alias="controlPlane")


class ChartSources(StrictModel):
    local: bool = True  # a chart directory of the repository itself
    oci: tuple[str, ...] = ("*",)  # patterns of oci:// references
    repositories: tuple[str, ...] = ("*",)  # patterns of chart repository URLs


class PullRequestPolicy(StrictModel):
    vcluster_keys: tuple[str, ...] = Field(DEFAULT_PULL_REQUEST_KEYS, alias="vclusterKeys")
    storage_classes: tuple[str, ...] = Field((), alias="storageClasses")

    @field_validator("vcluster_keys")
    @classmethod
    def _keys(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        known = chart_value_paths()
        for key in value:
            never = next((n for n in NEVER_FROM_PULL_REQUEST
                          if key == n or key.startswith(n + ".") or n.startswith(key + ".")),
                         None)
            if never:
                raise problem(f"{key!r} would let a pull request set {never}, which only "
                              "the policy decides", "drop it; set the value in the policy")
            if key not in known:
                close = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.6)
                raise problem(f"{key!r} is not a value of charts/vcluster",
                              (f"did you mean {close[0]!r}? " if close else "")
                              + "see docs/vcluster-chart.md")
        return value


class TemplateBudget(StrictModel):
    """`templates:` what rendering one pull request's templates may cost."""

    value_bytes: Annotated[int, Field(ge=1)] = Field(64 * 1024, alias="valueBytes")
    file_bytes: Annotated[int, Field(ge=1)] = Field(1024 * 1024, alias="fileBytes")
    seconds_per_file: Annotated[float, Field(gt=0, le=60)] = Field(2.0, alias="secondsPerFile")


class BundleLimits(StrictModel):
    """`bundles:` what one upload to `preview serve` may hold."""

    max_bytes: Annotated[int, Field(ge=1)] = Field(10 * 1024 * 1024, alias="maxBytes")
    max_expanded_bytes: Annotated[int, Field(ge=1)] = Field(100 * 1024 * 1024,
                                                            alias="maxExpandedBytes")
    max_files: Annotated[int, Field(ge=1)] = Field(5000, alias="maxFiles")
    max_ratio: Annotated[int, Field(ge=1)] = Field(100, alias="maxExpansionRatio")


class ApiPolicy(StrictModel):
    """`api:` who may log in to `preview serve` (API mode) with a GitHub Actions OIDC token."""

    issuer: str = GITHUB_ACTIONS_ISSUER
    audience: str = ""  # "" = not configured: `preview serve` has none to accept
    allowed_events: tuple[str, ...] = Field(("pull_request",), alias="allowedEvents")
    # fnmatch patterns of `job_workflow_ref` (owner/repo/path@ref); () = any workflow
    job_workflow_refs: tuple[str, ...] = Field((), alias="jobWorkflowRefs")

    @field_validator("issuer")
    @classmethod
    def _issuer(cls, value: str) -> str:
        # Tokens name their issuer exactly (no trailing slash on GitHub's); the keys come
        # from its discovery document, which only HTTPS may carry.
        if not value.startswith("https://") or value.endswith("/") or any(
                c.isspace() for c in value):
            raise problem(f"{value!r} is not an issuer URL",
                          f"https://… without a trailing slash, e.g. {GITHUB_ACTIONS_ISSUER} "
                          "or https://HOSTNAME/_services/token on GHES")
        return value

    @field_validator("audience")
    @classmethod
    def _audience(cls, value: str) -> str:
        if value != value.strip() or any(c.isspace() for c in value):
            raise problem(f"{value!r} is not an audience",
                          "one word or URL, e.g. the API's own URL")
        return value

    @field_validator("job_workflow_refs")
    @classmethod
    def _refs(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for ref in value:
            if ref.count("/") < 2 or "@" not in ref:
                raise problem(f"{ref!r} is not a job_workflow_ref",
                              "owner/repo/.github/workflows/FILE.yml@REF, e.g. "
                              "octo-org/platform/.github/workflows/preview.yml@refs/tags/v1")
        return value


GitHubPermission = Literal["read", "triage", "write", "maintain", "admin"]
# GitHub's repository roles, weakest first (docs.github.com, "Repository roles for an
# organization"); `GET /repos/{owner}/{repo}` names the caller's as `permissions` flags.
GITHUB_PERMISSIONS: tuple[GitHubPermission, ...] = ("read", "triage", "write", "maintain",
                                                     "admin")
MIN_TOKEN_EXPIRY = 10 * 60  # the API server refuses a TokenRequest under 10 minutes
MAX_TOKEN_EXPIRY = 8 * 3600


class DeveloperPolicy(StrictModel):
    """`developers:` who gets a kubeconfig of an environment's virtual cluster from
    `preview serve` (`preview kubeconfig --api`), and what it holds."""

    # The least GitHub role on the repository that gets one.
    minimum_permission: GitHubPermission = Field("write", alias="minimumPermission")
    # The ServiceAccount token's lifetime (a TokenRequest inside the virtual cluster).
    token_expiry: Duration = Field(3600, alias="tokenExpiry")
    # The ClusterRole of the virtual cluster the token is bound to, cluster-wide.
    cluster_role: str = Field("edit", alias="clusterRole")
    # The virtual API's address put in the kubeconfig: charts/vcluster's Ingress (TLS
    # passthrough), its LoadBalancer Service, or the in-cluster Service (reachable from the
    # host cluster's network only).
    exposure: Literal["ingress", "loadbalancer", "service"] = "ingress"
    # GitHub's REST API that says who a token is; "" = the one of api.issuer (api.github.com,
    # or https://HOSTNAME/api/v3 for a GHES issuer).
    github_api_url: str = Field("", alias="githubApiUrl")

    @field_validator("token_expiry")
    @classmethod
    def _expiry(cls, value: int) -> int:
        if not MIN_TOKEN_EXPIRY <= value <= MAX_TOKEN_EXPIRY:
            raise problem(f"{value}s is outside 10m..8h",
                          "a duration from 10m (the API server's shortest TokenRequest) to 8h, "
                          "e.g. 1h")
        return value

    @field_validator("cluster_role")
    @classmethod
    def _role(cls, value: str) -> str:
        if not value or "/" in value or any(c.isspace() for c in value):
            raise problem(f"{value!r} is not a ClusterRole name", "e.g. edit, view, admin")
        return value

    @field_validator("github_api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        loopback = value.startswith(("http://127.0.0.1:", "http://localhost:"))
        if value and (not (value.startswith("https://") or loopback) or value.endswith("/")
                      or any(c.isspace() for c in value)):
            raise problem(f"{value!r} is not GitHub's REST API URL",
                          "https://… without a trailing slash: https://api.github.com, or "
                          "https://HOSTNAME/api/v3 on GHES")
        return value


class CostPolicy(StrictModel):
    """`cost:` the prices `preview cost` multiplies requests x time by (docs/cost.md)."""

    currency: str = Field("USD", min_length=1, max_length=8)
    cpu_hour: float = Field(0.0, ge=0, alias="cpuHour")
    memory_gib_hour: float = Field(0.0, ge=0, alias="memoryGiBHour")
    storage_gib_month: float = Field(0.0, ge=0, alias="storageGiBMonth")


class WakePagePolicy(StrictModel):
    """`wakePage:` where a sleeping environment's URL sends its requests: the platform API's
    wake listener (`preview serve --wake-listen`), named as the host's ingress controller
    reaches it (docs/sleep.md)."""

    # A DNS name the ingress controller resolves, e.g. the platform chart's Service
    # NAME.NAMESPACE.svc.cluster.local; or an IP address.
    service: str = Field(min_length=1, max_length=253)
    port: int = Field(8081, ge=1, le=65535)

    @field_validator("service")
    @classmethod
    def _service(cls, value: str) -> str:
        try:
            ipaddress.ip_address(value)
            return value
        except ValueError:
            pass
        if not is_dns_name(value.rstrip(".")):
            raise problem(f"{value!r} is neither a DNS name nor an IP address",
                          "e.g. preview-platform.preview-system.svc.cluster.local")
        return value


class Policy(StrictModel):
    """The whole platform policy."""

    repositories: tuple[str, ...] = ("*",)  # owner/name patterns that may have previews
    syncer: SyncerPolicy = SyncerPolicy.model_validate({})
    pod_security: PodSecurityPolicy = Field(PodSecurityPolicy.model_validate({}),
                                            alias="podSecurity")
    sync: SyncPolicy = SyncPolicy.model_validate({})
    ingress: IngressPolicy = IngressPolicy.model_validate({})
    caps: Caps = Caps.model_validate({})
    charts: ChartSources = ChartSources.model_validate({})
    pull_request: PullRequestPolicy = Field(PullRequestPolicy.model_validate({}),
                                            alias="pullRequest")
    templates: TemplateBudget = TemplateBudget.model_validate({})
    bundles: BundleLimits = BundleLimits.model_validate({})
    vcluster: dict[str, Any] = {}  # charts/vcluster values every environment gets (they win)
    api: ApiPolicy = ApiPolicy.model_validate({})
    developers: DeveloperPolicy = DeveloperPolicy.model_validate({})
    cost: CostPolicy = CostPolicy.model_validate({})
    # `preview sleep --idle`: an environment without activity (a push, a kubeconfig handed
    # out, a wake) for this long sleeps, unless its namespace carries `keepAwakeLabel`
    # (docs/sleep.md). None: never by itself. Deleting is `caps.ttl`'s (deleteAfter).
    sleep_after: Duration | None = Field(2 * 3600, alias="sleepAfter")
    keep_awake_label: str = Field("keep-awake", min_length=1, max_length=63,
                                  alias="keepAwakeLabel")
    # While asleep, the environment's URL answers with the wake page served there (None:
    # the URL answers as the ingress controller does for a backend without pods).
    wake_page: WakePagePolicy | None = Field(None, alias="wakePage")

    @model_validator(mode="after")
    def _vcluster(self) -> Policy:
        from preview.vcluster.values import flatten

        for key in flatten(self.vcluster):
            for value, own in MANAGED_ELSEWHERE.items():
                if key == value or key.startswith(value + "."):
                    raise problem(f"vcluster.{key} is set by the policy's own key {own}",
                                  f"set {own} instead")
        return self

    def allows_repository(self, full_name: str) -> bool:
        return any(fnmatch.fnmatchcase(full_name.lower(), pattern.lower())
                   for pattern in self.repositories)


DEFAULT = Policy.model_validate({})


def load(path: Path | None) -> Policy:
    """The policy in `path`, or the defaults when None."""
    if path is None:
        return DEFAULT
    if not path.is_file():
        raise BadInput(f"{path}: no such policy file",
                       "pass --policy PATH of the platform's policy (or unset PREVIEW_POLICY)")
    return parse(config_files.read_yaml(path, str(path)), str(path))


def parse(raw: dict[str, Any], label: str) -> Policy:
    """The policy from its parsed YAML; errors name `label` and each field."""
    try:
        return Policy.model_validate(raw)
    except ValidationError as e:
        raise PolicyError([f"{label}: {line}" for line in explain(e, Policy, DOCS)]) from None


class PolicyError(BadInput):
    """The policy file is invalid: one line per problem in `problems`."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems), HINT)
        self.problems = tuple(problems)


@functools.cache
def _chart_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads((chart_path() / "values.schema.json").read_text())
    return schema


@functools.cache
def chart_value_paths() -> frozenset[str]:
    """Every dotted path charts/vcluster's schema declares (mappings and their leaves)."""
    schema = _chart_schema()
    defs = schema.get("$defs") or {}
    found: set[str] = set()

    def walk(node: dict[str, Any], prefix: str, seen: frozenset[str]) -> None:
        ref = node.get("$ref", "")
        if ref.startswith("#/$defs/"):
            name = ref.removeprefix("#/$defs/")
            if name in seen:
                return
            node, seen = defs.get(name) or {}, seen | {name}
        for key, child in (node.get("properties") or {}).items():
            path = f"{prefix}{key}"
            found.add(path)
            walk(child, f"{path}.", seen)

    walk(schema, "", frozenset())
    return frozenset(found)
