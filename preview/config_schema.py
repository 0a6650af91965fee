"""The shape of `preview.yaml` (pydantic v2) and its validation errors as one line per problem.

`preview.config` loads the file and builds the immutable `PreviewConfig`; this module only
says what is valid and how to explain what is not. Every model forbids unknown keys, so a
typo (`tll: 3d`) fails with a suggestion instead of being silently ignored.
"""

from __future__ import annotations

import difflib
import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from preview import durations

DEFAULT_URL = "https://{{ env.name }}-{{ repo.slug }}.{{ domain }}"  # env.name: pr-<n>[-<app>]
DEFAULT_TTL = 7 * 86400
ReadinessKind = Literal["Deployment", "StatefulSet", "DaemonSet", "Job"]
READINESS_KINDS: tuple[ReadinessKind, ...] = ("Deployment", "StatefulSet", "DaemonSet", "Job")
RESERVED_PREFIXES = ("preview-vcluster.io/",)
RESERVED_DOMAINS = ("kubernetes.io", "k8s.io")

_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_LABEL_NAME = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?")


def problem(message: str, fix: str) -> PydanticCustomError:
    """A validation error that carries its fix (shown after the message)."""
    return PydanticCustomError("preview", "{problem}", {"problem": message, "fix": fix})


def _duration(value: object) -> int:
    try:
        return durations.parse_duration(value)
    except ValueError as e:
        raise problem(str(e), durations.HINT) from None


Duration = Annotated[int, BeforeValidator(_duration)]


def is_dns_name(host: str) -> bool:
    """Whether `host` is a DNS-1123 subdomain (lower-case labels of <= 63, <= 253 in all)."""
    return 0 < len(host) <= 253 and all(
        len(part) <= 63 and _DNS_LABEL.fullmatch(part) for part in host.split("."))


def label_problem(key: str, value: str) -> str | None:
    """Why `key: value` cannot be a Kubernetes label of ours, or None when it can."""
    prefix, sep, name = key.rpartition("/")
    if any(key.startswith(p) for p in RESERVED_PREFIXES):
        return f"label key {key!r} uses the reserved prefix {RESERVED_PREFIXES[0]}"
    if sep and (not is_dns_name(prefix) or
                any(prefix == d or prefix.endswith("." + d) for d in RESERVED_DOMAINS)):
        return f"label key {key!r}: prefix {prefix!r} is not a DNS name of yours"
    if len(name) > 63 or not _LABEL_NAME.fullmatch(name):
        return f"label key {key!r} is not a label name"
    if len(value) > 63 or (value and not _LABEL_NAME.fullmatch(value)):
        return f"label {key}: value {value!r} is not a label value"
    return None


class StrictModel(BaseModel):
    """A frozen model that refuses unknown keys (so a typo gets a suggestion)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=False)


class ChartModel(StrictModel):
    """`chart:` one of path | repo + name (+ version) | oci (+ version)."""

    path: str | None = None
    repo: str | None = None
    name: str | None = None
    version: str | None = None
    oci: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> ChartModel:
        sources = [k for k in ("path", "repo", "oci") if getattr(self, k) is not None]
        fix = "use one of: path: ./chart | repo: URL + name: NAME | oci: oci://REGISTRY/CHART"
        if len(sources) != 1:
            raise problem("needs exactly one of path, repo, oci"
                          + (f" (got {', '.join(sources)})" if sources else ""), fix)
        if self.repo is not None:
            if not self.name:
                raise problem("repo needs name: the chart's name in that repository", fix)
            if not self.repo.startswith(("https://", "http://", "oci://")):
                raise problem(f"repo {self.repo!r} is not a URL", "e.g. https://charts.example.com")
        elif self.name is not None:
            raise problem("name goes with repo only", fix)
        if self.oci is not None and not self.oci.startswith("oci://"):
            raise problem(f"oci {self.oci!r} does not start with oci://",
                          "e.g. oci: oci://ghcr.io/org/charts/app")
        if self.path is not None and self.version is not None:
            raise problem("version goes with repo or oci, not a local path",
                          "a local chart's version is in its Chart.yaml")
        return self


class TimeoutsModel(StrictModel):
    vcluster: Duration = 300
    deploy: Duration = 300
    health: Duration = 60


class ReadinessModel(StrictModel):
    kinds: tuple[ReadinessKind, ...] = READINESS_KINDS


def _health_check(value: object) -> object:
    if value is False:
        return {"enabled": False}
    if value is True or value is None:
        return {}
    return value


def _status_range(value: object) -> object:
    return [value, value] if isinstance(value, int) and not isinstance(value, bool) else value


class HealthCheckModel(StrictModel):
    enabled: bool = True
    path: str = "/"
    expect_status: Annotated[tuple[int, int], BeforeValidator(_status_range)] = \
        Field((200, 399), alias="expectStatus")
    ca_file: str | None = Field(None, alias="caFile")  # PEM bundle, relative to preview.yaml
    tls: Literal["verify", "skip"] = "verify"

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        if not value.startswith("/") or any(c.isspace() for c in value):
            raise problem(f"{value!r} is not an absolute URL path", "e.g. path: /healthz")
        return value

    @field_validator("expect_status")
    @classmethod
    def _range(cls, value: tuple[int, int]) -> tuple[int, int]:
        low, high = value
        if not 100 <= low <= high <= 599:
            raise problem(f"{list(value)} is not a range of HTTP statuses",
                          "[lowest, highest], e.g. expectStatus: [200, 399]")
        return value


class FileModel(StrictModel):
    """The whole `preview.yaml`."""

    chart: ChartModel | None = None
    release: str = "app"
    namespace: str = "default"
    values: dict[str, Any] = {}
    values_files: tuple[str, ...] = Field((), alias="valuesFiles")
    set: tuple[str, ...] = ()
    url: str = DEFAULT_URL
    domain: str | None = None
    ttl: Duration = DEFAULT_TTL
    labels: dict[str, str] = {}
    vcluster: dict[str, Any] = {}
    timeouts: TimeoutsModel = TimeoutsModel()
    readiness: ReadinessModel = ReadinessModel()
    health_check: Annotated[HealthCheckModel, BeforeValidator(_health_check)] = \
        Field(HealthCheckModel.model_validate({}), alias="healthCheck")

    @field_validator("release", "namespace")
    @classmethod
    def _dns_label(cls, value: str, info: ValidationInfo) -> str:
        # Both are DNS-1123 labels; helm allows release names of at most 53 characters.
        what, limit = {"release": ("a helm release name", 53),
                       "namespace": ("a namespace name", 63)}[str(info.field_name)]
        if len(value) > limit or not _DNS_LABEL.fullmatch(value):
            raise problem(f"{value!r} is not {what}",
                          f"lower-case letters, digits and '-', at most {limit} characters")
        return value

    @field_validator("domain")
    @classmethod
    def _domain(cls, value: str | None) -> str | None:
        if value is not None and not is_dns_name(value):
            raise problem(f"{value!r} is not a DNS domain", "e.g. domain: preview.example.com")
        return value

    @field_validator("set")
    @classmethod
    def _set(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for item in value:
            key, sep, _ = item.partition("=")
            if not sep or not key or any(not part for part in key.split(".")):
                raise problem(f"{item!r} is not KEY=VALUE",
                              "helm --set syntax with dotted keys, e.g. "
                              "image.tag={{ pr.head_sha }}")
        return value

    @field_validator("labels")
    @classmethod
    def _labels(cls, value: dict[str, str]) -> dict[str, str]:
        for key, text in value.items():
            why = label_problem(key, text)
            if why:
                raise problem(why, "keys: [prefix/]name, values: at most 63 letters, digits, "
                                   "'-', '_', '.' (e.g. team: payments)")
        return value


def explain(e: ValidationError, root: type[BaseModel] | None = None,
            docs: str = "docs/config.md") -> list[str]:
    """One line per problem: `field: what is wrong — how to fix it`; unknown keys get the
    closest valid key of `root`'s model at that place (default: the whole preview.yaml)."""
    return [_line(error, root or FileModel, docs) for error in e.errors()]


def field_path(loc: tuple[int | str, ...]) -> str:
    """("values_files", 0) -> "valuesFiles[0]" (locations already use the file's spelling)."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _line(error: Any, root: type[BaseModel], docs: str) -> str:
    loc = tuple(error["loc"])
    kind = error["type"]
    value = error.get("input")
    shown = _short(value)
    ctx = error.get("ctx") or {}
    if kind == "preview":
        message, fix = ctx["problem"], ctx["fix"]
    elif kind == "extra_forbidden":
        key = str(loc[-1])
        valid = _keys_at(loc[:-1], root)
        close = difflib.get_close_matches(key, valid, n=1, cutoff=0.5)
        message = f"unknown key {key!r}"
        fix = (f"did you mean {close[0]!r}? " if close else "") + \
            "valid keys here: " + ", ".join(valid)
    elif kind == "string_type":
        message, fix = f"{shown} is not a string", "quote it, e.g. \"1.0\""
    elif kind in ("int_type", "int_parsing", "int_from_float"):
        message, fix = f"{shown} is not a whole number", "write a number, e.g. 200"
    elif kind in ("bool_type", "bool_parsing"):
        message, fix = f"{shown} is not true or false", "write true or false"
    elif kind == "dict_type":
        message, fix = f"{shown} is not a mapping", "write key: value pairs under it"
    elif kind in ("tuple_type", "list_type"):
        message, fix = f"{shown} is not a list", "write a YAML list, e.g. [a, b]"
    elif kind == "literal_error":
        message, fix = f"{shown} is not allowed", f"use one of: {ctx.get('expected', '')}"
    elif kind == "model_type":
        message, fix = f"{shown} is not a mapping", f"see {docs} for its keys"
    else:
        message, fix = error["msg"], f"see {docs}"
    return f"{field_path(loc) or '(top level)'}: {message} — {fix}"


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _keys_at(loc: tuple[int | str, ...], root: type[BaseModel]) -> list[str]:
    """The valid keys of the model at `loc` (e.g. ("chart",) -> path, repo, name…)."""
    model: Any = root
    for part in loc:
        if isinstance(part, int):
            continue
        field = next((f for n, f in model.model_fields.items() if (f.alias or n) == part), None)
        inner = field.annotation if field else None
        candidates = [inner, *getattr(inner, "__args__", ())]
        model = next((c for c in candidates
                      if isinstance(c, type) and issubclass(c, BaseModel)), None)
        if model is None:
            return []
    return [f.alias or n for n, f in model.model_fields.items()]
