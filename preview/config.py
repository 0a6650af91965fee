"""`preview.yaml` and its command-line flags -> a validated, immutable config; then rendered.

`load` reads the file (default `./preview.yaml` when present), validates it (config_schema),
applies the flags (which win), reads the values files it names and checks every template's
syntax: all before anything touches a cluster. `render` fills the templates for one pull
request and environment (pure, no I/O) and merges values as helm would, the file's first
and the flags' last: valuesFiles < values < set < --values < --set.

A pull request controls `preview.yaml`, so the paths it names (chart, values files) must stay
inside its repository, symlinks resolved: otherwise `valuesFiles: [~/.kube/config]` would hand
the runner's credentials to the PR's app. Paths given as flags come from the workflow and are
trusted.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError

from preview import config_files, durations, helm, policy, templating
from preview.config_files import DOCS_HINT
from preview.config_overrides import OVERRIDES, ConfigOverrides, flag_of
from preview.config_schema import (
    DEFAULT_URL,
    ChartModel,
    FileModel,
    TimeoutsModel,
    explain,
    is_dns_name,
)
from preview.errors import BadInput, PreviewError
from preview.naming import EnvironmentLike
from preview.pullrequest import PullRequest
from preview.vcluster import vclusterconfig

DEFAULT_FILE = "preview.yaml"
__all__ = ["OVERRIDES", "ConfigOverrides"]  # the flags' table, re-exported for callers
# The overridable fields that are plain values of the file's model (validated by it as flags).
_SCALARS = ("release", "namespace", "url", "domain", "ttl")
Timeouts = TimeoutsModel  # the file's model is the config
_TOP_LEVEL = {"pr", "repo", "env", "domain"}
# A trial render at load finds `{{ pr.sha }}` before any cluster is contacted.
_SAMPLE_PR = PullRequest(owner="octo-org", repo="app", number=1, head_sha="0" * 40,
                         branch="main", author="octocat", title="sample")


@dataclass(frozen=True)
class _SampleEnvironment:
    name: str = "pr-1"
    namespace: str = "preview-octo-org-app-pr-1"
    vcluster: str = "vc-pr-1"


class ConfigError(BadInput):
    """preview.yaml or its flags are invalid: one line per problem in `problems`."""

    def __init__(self, problems: list[str], hint: str = DOCS_HINT) -> None:
        super().__init__("\n".join(problems), hint)
        self.problems = tuple(problems)


@dataclass(frozen=True)
class Chart:
    """The app's chart: a local directory/archive, a repository chart, or an OCI reference."""

    kind: str  # "path" | "repo" | "oci"
    path: Path | None = None
    repo: str | None = None
    name: str | None = None
    version: str | None = None
    oci: str | None = None

    @property
    def ref(self) -> str:
        """What `helm install RELEASE <ref>` takes (with `--repo repo` for kind "repo")."""
        return str(self.path) if self.kind == "path" else self.oci or self.name or ""


@dataclass(frozen=True)
class ValuesFile:
    """A values file, read and parsed (its strings still templates)."""

    path: Path
    label: str  # how errors name it
    values: dict[str, Any]
    flag: bool = False  # given as --values (merged after everything from preview.yaml)


@dataclass(frozen=True)
class Assignment:
    """One `KEY=VALUE` of `set:` or `--set`; `origin` names it in errors."""

    text: str
    origin: str

    @property
    def flag(self) -> bool:
        return self.origin.startswith("--")


@dataclass(frozen=True)
class HealthCheck:
    """`healthCheck:` resolved: its CA file found inside the repository."""

    path: str = "/"
    expect_status: tuple[int, int] = (200, 399)
    ca_file: Path | None = None  # trusted besides the system's CAs
    verify_tls: bool = True


@dataclass(frozen=True)
class PreviewConfig:
    """preview.yaml with the flags applied: `spec`, the file's own model (release, url, ttl,
    timeouts…; strings in values, set and url are templates), and what loading resolved from
    it — the chart, the values files read, the `set` items with their origin, the CA file."""

    source: Path | None  # the file, None when only flags
    spec: FileModel  # the file's fields, the flags' values in place of the file's
    chart: Chart | None
    values_files: tuple[ValuesFile, ...] = ()
    set_values: tuple[Assignment, ...] = ()  # the file's `set`, then --set
    url_scheme_auto: bool = True  # no url given: http(s) follows the Ingress's TLS section
    health_check: HealthCheck | None = HealthCheck()  # None: `healthCheck: false`
    origins: Mapping[str, str] = field(default_factory=dict)  # field -> "preview.yaml" | "--url"

    @property
    def base(self) -> Path:
        """The directory preview.yaml's paths are relative to (the current one without it)."""
        return self.source.parent if self.source else Path.cwd()

    def where(self, name: str) -> str:
        """How errors name a field: "preview.yaml: url" or "--url"."""
        origin = self.origins.get(name, DEFAULT_FILE)
        return origin if origin.startswith("--") else f"{origin}: {name}"

    def require_chart(self) -> Chart:
        if self.chart is None:
            raise BadInput("no chart to deploy",
                               "set chart: in preview.yaml or pass --chart PATH")
        return self.chart


@dataclass(frozen=True)
class RenderedConfig:
    """Everything templated for one environment, ready for helm and the vcluster chart."""

    config: PreviewConfig
    url: str
    host: str
    values: dict[str, Any]  # valuesFiles < values < set < --values < --set
    vcluster_values: dict[str, Any]  # our defaults < vcluster:
    policy: policy.Policy = policy.DEFAULT  # what it was checked against

    @property
    def chart(self) -> Chart:
        return self.config.require_chart()

    @property
    def base(self) -> Path:
        return self.config.base

    @property
    def release(self) -> str:
        return self.config.spec.release

    @property
    def namespace(self) -> str:
        return self.config.spec.namespace

    @property
    def labels(self) -> dict[str, str]:
        return dict(self.config.spec.labels)

    @property
    def ttl_seconds(self) -> int:
        return self.config.spec.ttl

    @property
    def timeouts(self) -> Timeouts:
        return self.config.spec.timeouts

    @property
    def readiness_kinds(self) -> tuple[str, ...]:
        return tuple(self.config.spec.readiness.kinds)

    @property
    def health_check(self) -> HealthCheck | None:
        return self.config.health_check

    @property
    def url_scheme_auto(self) -> bool:
        return self.config.url_scheme_auto


def load(path: Path | None, overrides: ConfigOverrides | None = None, *,
         cwd: Path | None = None, root: Path | None = None,
         budget: templating.Budget = templating.DEFAULT_BUDGET) -> PreviewConfig:
    """The config from `path` (default ./preview.yaml when present) and the flags (they win).
    The trial render runs under `budget`, as `render` does.

    `root` is the repository the pull request's files may come from (default: the git
    work tree holding the file); an uploaded bundle names its own directory."""
    cwd = cwd or Path.cwd()
    overrides = overrides or ConfigOverrides()
    if path is None:
        found = cwd / DEFAULT_FILE
        source, label = (found, DEFAULT_FILE) if found.is_file() else (None, DEFAULT_FILE)
    else:
        source, label = (path if path.is_absolute() else cwd / path), str(path)
        if not source.is_file():
            raise BadInput(f"{label}: no such file", "pass --config PATH of your preview.yaml")
        source = config_files.confined(source, label, str(path))
    raw = config_files.read_yaml(source, label) if source else {}
    try:
        model = FileModel.model_validate(raw)
    except ValidationError as e:
        raise ConfigError([f"{label}: {line}" for line in explain(e)]) from None
    flags = _validated_flags(overrides)
    base = source.parent if source else cwd
    if root is not None:  # an upload: even the file's own path is the pull request's
        root = root.resolve()
        if source is not None and not source.resolve().is_relative_to(root):
            raise BadInput(f"{label}: outside the uploaded repository",
                           "name the preview.yaml inside the bundle")
    else:
        root = config_files.repository_root(base)
    origins = {name: label for name in ("chart", "values", "vcluster", *_SCALARS, "timeouts")}
    origins.update({override.field: override.flag for override in overrides.given()})

    chart: Chart | None
    if overrides.chart is not None:  # replaces the file's chart, which need not exist then
        chart = _flag_chart(overrides.chart, overrides.chart_version, cwd)
    else:
        chart = _file_chart(model.chart, base, root, label)
    if overrides.chart is None and overrides.chart_version is not None:
        if chart is None or chart.kind == "path":
            raise BadInput(f"{flag_of('chart_version')}: only a repo or oci chart has a version",
                               "drop --chart-version, or name a repo/oci chart")
        chart = Chart(chart.kind, chart.path, chart.repo, chart.name, overrides.chart_version,
                      chart.oci)

    values_files = tuple(
        _values_file(base / name, f"{label}: valuesFiles[{i}]", name, root)
        for i, name in enumerate(model.values_files)) + tuple(
        _values_file(cwd / name, "--values", str(name), None, flag=True)
        for name in overrides.values_files)
    assignments = tuple(Assignment(text, f"{label}: set[{i}]")
                        for i, text in enumerate(model.set)) + \
        tuple(Assignment(text, f"--set {text.partition('=')[0]}") for text in flags.set)
    update = {name: getattr(flags, name) for name in _SCALARS if name in flags.model_fields_set}
    if overrides.timeout is not None:
        seconds = _flag_duration(flag_of("timeout"), overrides.timeout)
        update["timeouts"] = Timeouts(vcluster=seconds, deploy=seconds, health=seconds)
    spec = model.model_copy(update=update)  # each value validated by the same model
    health = model.health_check
    ca_file = None
    if health.ca_file is not None:
        ca_file = _values_file_path(base / health.ca_file, f"{label}: healthCheck.caFile",
                                    health.ca_file, root)
    config = PreviewConfig(
        source=source, spec=spec, chart=chart, values_files=values_files,
        set_values=assignments,
        url_scheme_auto="url" not in model.model_fields_set | flags.model_fields_set,
        health_check=HealthCheck(health.path, health.expect_status, ca_file,
                                 health.tls == "verify") if health.enabled else None,
        origins=origins)
    _check_templates(config)
    # Undefined attributes and templates over budget, before any cluster; the policy judges
    # the real render only.
    render(config, _SAMPLE_PR, _SampleEnvironment(), None, budget=budget)
    return config


def render(config: PreviewConfig, pr: PullRequest, env: EnvironmentLike,
           rules: policy.Policy | None = policy.DEFAULT, *,
           budget: templating.Budget | None = None) -> RenderedConfig:
    """The config's templates filled for one pull request and environment, judged by the
    platform policy `rules` (pure). Everything the policy refuses is one line of one
    ConfigError, raised before anything is created; None skips the policy (a trial render).
    The templates render in one renderer process under `budget` (templating.Renderer),
    by default the policy's `templates:`."""
    budget = budget or template_budget(rules or policy.DEFAULT)
    with templating.Renderer(budget) as renderer:
        return _render(config, pr, env, rules, renderer)


def template_budget(rules: policy.Policy) -> templating.Budget:
    """The platform policy's `templates:` as the renderer takes it."""
    limits = rules.templates
    return templating.Budget(value_bytes=limits.value_bytes, file_bytes=limits.file_bytes,
                             seconds_per_file=limits.seconds_per_file)


def _render(config: PreviewConfig, pr: PullRequest, env: EnvironmentLike,
            rules: policy.Policy | None, renderer: templating.Renderer) -> RenderedConfig:
    first = templating.context_for(pr, env, domain=config.spec.domain)
    url = renderer.text(config.spec.url, first, config.where("url")).strip()
    host = _url_host(url, config.where("url"))
    context = templating.context_for(pr, env, domain=config.spec.domain, host=host, url=url)
    values: dict[str, Any] = {}
    for flags in (False, True):  # everything from preview.yaml, then the flags: flags win
        for values_file in config.values_files:
            if values_file.flag == flags:
                values = helm.merge_values(values, renderer.tree(
                    values_file.values, context, f"{values_file.label}: "))
        if not flags:
            values = helm.merge_values(values, renderer.tree(config.spec.values, context,
                                                      config.where("values")))
        for assignment in config.set_values:
            if assignment.flag == flags:
                _apply(values, assignment, context, renderer)
    requested = renderer.tree(config.spec.vcluster, context, config.where("vcluster"))
    # vCluster's spellings become ours first: the policy judges our keys, whoever wrote them.
    translated = vclusterconfig.translate(requested, config.where("vcluster"))
    requested = vclusterconfig.within(translated, None if rules is None else
                                      functools.partial(policy.check_vcluster, rules, label=""))
    problems = [] if rules is None else _policy_problems(config, rules, pr, requested, host)
    if problems:
        raise ConfigError(vclusterconfig.explain(problems, translated), policy.model.HINT)
    rules = rules or policy.DEFAULT
    return RenderedConfig(config=config, url=url, host=host, values=values,
                          vcluster_values=policy.vcluster_values(rules, requested, host,
                                                                 config.spec.labels),
                          policy=rules)


def _policy_problems(config: PreviewConfig, rules: policy.Policy, pr: PullRequest,
                     requested: dict[str, Any], host: str) -> list[str]:
    chart = config.chart
    source = ("", "") if chart is None else \
        (chart.kind, str(chart.path) if chart.kind == "path" else chart.repo or chart.oci or "")
    timeouts = config.spec.timeouts
    return policy.check_vcluster(rules, requested, config.origins.get("vcluster", DEFAULT_FILE)) \
        + policy.check_request(
            rules, repo=pr.full_name, chart=source, ttl_seconds=config.spec.ttl,
            ttl_where=config.where("ttl"),
            timeouts={"vcluster": timeouts.vcluster, "deploy": timeouts.deploy,
                      "health": timeouts.health},
            timeout_where=config.where("timeouts"), host=host, url_where=config.where("url"))


def _validated_flags(overrides: ConfigOverrides) -> FileModel:
    given: dict[str, Any] = {name: getattr(overrides, name)
                             for name in _SCALARS if getattr(overrides, name) is not None}
    if overrides.set_values:
        given["set"] = tuple(overrides.set_values)
    try:
        return FileModel.model_validate(given)
    except ValidationError as e:
        lines = explain(e)
        raise ConfigError([_flag_line(line) for line in lines]) from None


def _flag_line(line: str) -> str:
    name, _, rest = line.partition(":")
    flag = flag_of(name.split("[")[0])
    return f"{flag}:{rest}"


def _flag_duration(flag: str, value: str) -> int:
    try:
        return durations.parse_duration(value)
    except ValueError as e:
        raise ConfigError([f"{flag}: {e} — {durations.HINT}"]) from None


def _file_chart(model: ChartModel | None, base: Path, root: Path, label: str) -> Chart | None:
    if model is None:
        return None
    if model.path is not None:
        path = config_files.inside_repository(base / model.path, root, f"{label}: chart.path",
                                              model.path)
        if not path.exists():
            raise BadInput(f"{label}: chart.path: {model.path!r} does not exist "
                               f"(relative to {base})", "paths are relative to preview.yaml")
        config_files.check_chart_tree(path, root, f"{label}: chart.path")
        return Chart("path", path=path)
    if model.repo is not None:
        return Chart("repo", repo=model.repo, name=model.name, version=model.version)
    return Chart("oci", oci=model.oci, version=model.version)


def _flag_chart(value: str, version: str | None, cwd: Path) -> Chart:
    if value.startswith("oci://"):
        return Chart("oci", oci=value, version=version)
    if "://" in value:
        raise BadInput(f"--chart: {value!r}: only a local path or an oci:// reference",
                           "a chart from a repository goes in preview.yaml (chart: repo:, name:)")
    if version is not None:
        raise BadInput("--chart-version: a local chart's version is in its Chart.yaml",
                           "drop --chart-version")
    path = Path(value) if Path(value).is_absolute() else cwd / value
    if not path.exists():
        raise BadInput(f"--chart: {value!r} does not exist", "pass the chart's directory")
    path = config_files.confined(path, "--chart", value)
    root = config_files.repository_root(path)
    if (root / ".git").exists():  # the chart's files are the pull request's
        config_files.check_chart_tree(path, root, "--chart")
    return Chart("path", path=path)


def _values_file_path(path: Path, label: str, name: str, root: Path) -> Path:
    """A file preview.yaml names (a CA bundle): inside the repository, and there."""
    path = config_files.inside_repository(path, root, label, name)
    if not path.is_file():
        raise BadInput(f"{label}: {name!r} does not exist ({path})",
                       "paths in preview.yaml are relative to it")
    return path


def _values_file(path: Path, label: str, name: str | Path, root: Path | None, *,
                 flag: bool = False) -> ValuesFile:
    path = config_files.inside_repository(path, root, label, str(name)) if root is not None \
        else config_files.confined(path, label, str(name))
    if not path.is_file():
        raise BadInput(f"{label}: {str(name)!r} does not exist ({path})",
                           "paths in preview.yaml are relative to it; --values to the "
                           "current directory")
    return ValuesFile(path=path, label=str(name), values=config_files.read_yaml(path, str(name)),
                      flag=flag)


def _check_templates(config: PreviewConfig) -> None:
    """Template syntax and variable names, checked before any cluster is contacted."""
    checks: list[tuple[str, Any]] = [(config.where("url"), config.spec.url),
                                     (config.where("values"), config.spec.values),
                                     (config.where("vcluster"), config.spec.vcluster)]
    checks += [(f"{values_file.label}: ", values_file.values)
               for values_file in config.values_files]
    checks += [(a.origin, a.text.partition("=")[2]) for a in config.set_values]
    problems: list[str] = []
    for where, tree in checks:
        for path, text in _strings(tree, where):
            try:
                templating.check_syntax(text, path)
            except PreviewError as e:
                problems.append(f"{e.message} — {e.hint}")
                continue
            for name in sorted(templating.variables_used(text) - _TOP_LEVEL):
                problems.append(f"{path}: {name!r} is undefined — available variables: "
                                + ", ".join(templating.VARIABLES))
            if "domain" in templating.variables_used(text) and config.spec.domain is None:
                problems.append(f"{path}: uses {{{{ domain }}}} but no domain is set — set "
                                "domain: in preview.yaml or pass --domain")
    if problems:
        raise ConfigError(problems)


def _strings(tree: Any, where: str) -> list[tuple[str, str]]:
    if isinstance(tree, str):
        return [(where, tree)]
    if isinstance(tree, dict):
        return [s for k, v in tree.items() for s in _strings(v, templating.join(where, k))]
    if isinstance(tree, list):
        return [s for i, v in enumerate(tree) for s in _strings(v, f"{where}[{i}]")]
    return []


def _url_host(url: str, where: str) -> str:
    parts = urlsplit(url)
    fix = "the url must render to http(s)://HOST[/path] with a DNS host, e.g. " + DEFAULT_URL
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https") or parts.username or parts.password or \
            not is_dns_name(host):
        raise BadInput(f"{where}: renders to {url!r}, not an http(s) URL with a DNS host",
                           fix)
    return host


def _apply(values: dict[str, Any], assignment: Assignment, context: Mapping[str, Any],
           renderer: templating.Renderer) -> None:
    key, _, raw = assignment.text.partition("=")
    try:
        if not templating.is_template(raw):
            helm.set_value(values, assignment.text)  # helm's typing: replicas=2 is an int
            return
        # A templated value is always a string: PR text must not choose its YAML type.
        rendered = renderer.text(raw, context, assignment.origin)
        helm.set_value(values, f"{key}=")
    except PreviewError as e:
        if e.message.startswith(assignment.origin):
            raise
        raise BadInput(f"{assignment.origin}: {e.message}", e.hint) from None
    target = values
    *parents, last = key.split(".")
    for part in parents:
        target = target[part]
    target[last] = rendered
