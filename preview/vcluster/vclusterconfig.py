"""Bring your vCluster config: a vCluster values file, in either of vCluster's forms,
translated into charts/vcluster values (pure: a mapping in, a Translation out).

Which form a key is in is decided key by key, never by guessing at the whole file:
- a path charts/vcluster has is ours and passes unchanged — including paths both have with
  the same meaning (`isolation.limitRange.default.cpu`, `isolation.networkPolicy.enabled`,
  `ingress.host`, `serviceCIDR`, `syncer.*`);
- a path of vclusterkeys.RULES is vCluster's (every one is a path we do not have, a test
  checks): `sync.pods.enabled` and `isolation.resourceQuota` are vCluster ≤0.19's,
  `sync.toHost` and `policies` vCluster ≥0.20's. `sync.nodes` is the one key both spell
  alike: a word (`fake`, `real`) is ours, a mapping (`enabled: …`) vCluster ≤0.19's;
- any other key under one of vCluster's top-level keys has no equivalent and is refused with
  the reason (vclusterkeys.NO_EQUIVALENT); anything else is left to our chart's schema.
A file may mix our keys with one vCluster form, never the two vCluster forms; a key of ours
and a translated key that land on the same value are a conflict, never an override.

vCluster's `isolation.enabled: true` (≤0.19) and `policies.resourceQuota/limitRange.enabled:
true` (≥0.20) bring vCluster's defaults for what the file does not set (`defaults`, apart
from `values`, so that a platform policy can let its caps win over them).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from preview.errors import BadInput
from preview.helm import merge_values
from preview.vcluster.vclusterkeys import (
    CURRENT,
    DEFAULTS,
    LEGACY,
    NO_EQUIVALENT,
    NOT_CARRIED,
    QUOTA_KEYS,
    RULES,
    SKIP,
    Path,
    Refused,
    Rule,
)

OURS = "charts/vcluster values"
HINT = "docs/vcluster-chart.md, \"From vCluster\", has every vCluster key and ours"

# charts/vcluster's top-level keys no vCluster key shares a meaning with, and, for the three
# top-level keys both have, our keys below them (tests/vcluster/test_vclusterconfig.py holds
# both against values.schema.json).
OURS_TOP = frozenset({"serviceCIDR", "clusterDomain", "tlsSANs", "k3s", "syncer", "persistence",
                      "service", "ingress", "dns", "oidc", "global"})
OURS_SHARED = {
    "sync": frozenset({"kinds", "configs", "nodes", "allow", "extraLabels", "nodeSelector",
                       "tolerations", "storageClasses"}),
    "isolation": frozenset({"ingress", "pods", "podSecurity", "quota", "limitRange",
                            "networkPolicy"}),
    "controlPlane": frozenset({"priorityClassName", "nodeSelector", "tolerations", "affinity",
                               "podAnnotations", "imagePullSecrets",
                               "terminationGracePeriodSeconds", "podSecurityContext"}),
}


@dataclass(frozen=True)
class Translation:
    """A values file in our terms: its own keys and the translated ones (`values`), the
    vCluster defaults it switched on where it set nothing (`defaults`), and one line per
    vCluster key saying what became of it (`from → to`)."""

    form: str  # OURS, vclusterkeys.LEGACY or vclusterkeys.CURRENT
    values: dict[str, Any]
    defaults: dict[str, Any]
    lines: tuple[str, ...]

    sources: tuple[tuple[str, str], ...] = ()  # (our dotted key, the vCluster key it was)

    @property
    def merged(self) -> dict[str, Any]:
        """What the file asks for: its values and the defaults it switched on (which never
        share a key with them)."""
        return merge_values(self.values, self.defaults)


class Untranslatable(BadInput):
    """vCluster keys with no equivalent, or conflicting with ours: one line per key."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems), HINT)
        self.problems = tuple(problems)


def translate(values: Mapping[str, Any], where: str = "") -> Translation:
    """`values` (ours, vCluster ≤0.19's or vCluster ≥0.20's, mixed with ours) in our keys.
    Raises Untranslatable naming every key that cannot be translated (`where: ` first)."""
    return _Translator().run(values, f"{where}: " if where else "")


def within(translation: Translation,
           refused: Callable[[dict[str, Any]], list[str]] | None) -> dict[str, Any]:
    """What the file asks for under a platform policy (`refused`: its judgement of some
    values): its own values, all of them, for the policy to judge; and of the vCluster
    defaults it switched on, those the policy would not refuse. Where it would (a default
    above a cap, a key a pull request may not set), the policy's caps and our chart's
    defaults hold instead: the file did not write that value."""
    values = merge_values({}, translation.values)
    for path, value in _leaves(translation.defaults):
        one: dict[str, Any] = {}
        _put(one, path, value)
        if refused is None or not refused(one):
            _put(values, path, value)
    return values


def explain(problems: list[str], translation: Translation) -> list[str]:
    """The policy's problems with a translated key name the vCluster key it was written as."""
    out = []
    for line in problems:
        origin = next((source for key, source in translation.sources
                       if f"vcluster.{key}:" in line), None)
        out.append(f"{line} (written as vCluster's {origin})" if origin else line)
    return out


def dotted(path: Path) -> str:
    return ".".join(path)


class _Translator:
    def __init__(self) -> None:
        self.ours: dict[Path, Any] = {}
        self.out: dict[Path, tuple[Any, str]] = {}
        self.defaults: dict[Path, Any] = {}
        self.lines: list[str] = []
        self.problems: list[str] = []
        self.forms: dict[str, str] = {}
        self.groups: dict[str, dict[Path, Any]] = {}

    def run(self, values: Mapping[str, Any], prefix: str) -> Translation:
        refused: set[str] = set()
        pending: list[tuple[Rule, Path, Any, list[str]]] = []
        for path, value in _leaves(values):
            found = _match(path)
            if found:
                rule, bound = found
                self.forms.setdefault(rule.form, dotted(path))
                if rule.group:
                    self.groups.setdefault(rule.group, {})[path] = value
                else:
                    pending.append((rule, path, value, bound))
            elif _ours(path):
                self.ours[path] = value
            elif (no := _no_equivalent(path)) is not None:
                depth, form, why = no
                if form:
                    self.forms.setdefault(form, dotted(path))
                key = dotted(path[:depth + 1])
                if key not in refused:
                    refused.add(key)
                    self.problems.append(f"{key}: vCluster's key has no equivalent in "
                                         f"charts/vcluster: {why}")
            else:
                self.ours[path] = value  # not vCluster's either: our schema judges it
        for rule, path, value, bound in pending:  # after the loop: ours are all known
            self._apply(rule, path, value, bound)
        self._groups()
        if LEGACY in self.forms and CURRENT in self.forms:
            self.problems.insert(0, f"{self.forms[LEGACY]} is vCluster ≤0.19's and "
                                    f"{self.forms[CURRENT]} vCluster ≥0.20's: a file is in "
                                    "one of vCluster's forms (`vcluster convert config` "
                                    "moves a ≤0.19 file to ≥0.20)")
        if self.problems:
            raise Untranslatable([prefix + p for p in self.problems])
        form = CURRENT if CURRENT in self.forms else LEGACY if LEGACY in self.forms else OURS
        values_out: dict[str, Any] = {}
        for path, value in self.ours.items():
            _put(values_out, path, value)
        for path, (value, _) in self.out.items():
            _put(values_out, path, value)
        defaults: dict[str, Any] = {}
        for path, value in self.defaults.items():
            _put(defaults, path, value)
        sources = tuple((dotted(path), source) for path, (_, source) in self.out.items())
        return Translation(form, values_out, defaults, tuple(self.lines), sources)

    # --- one key -------------------------------------------------------------------------

    def _apply(self, rule: Rule, path: Path, value: Any, bound: list[str]) -> None:
        source = dotted(path)
        if rule.to is None:
            if any(_same(value, k) for k in rule.keep):
                self.lines.append(f"{source} → (nothing to set: {rule.why})")
            else:
                self.problems.append(f"{source}: {_show(value)} has no equivalent in "
                                     f"charts/vcluster: {rule.why}")
            return
        try:
            converted = rule.convert(value) if rule.convert else value
        except Refused as e:
            self.problems.append(f"{source}: {e}")
            return
        if converted is SKIP:
            self.lines.append(f"{source} → (nothing to set: {rule.why})")
            return
        target = _fill(rule.to, bound)
        self.emit(target, converted, source, show=rule.convert is not None
                  and not _same(converted, value))

    def emit(self, target: Path, value: Any, source: str, show: bool = False,
             note: str = "") -> None:
        if isinstance(value, dict) and value:  # e.g. a selector string's labels
            for key, item in value.items():
                self.emit((*target, key), item, source, show, note)
            return
        key = dotted(target)
        if (mine := self._ours_at(target)) is not None:
            self.problems.append(f"{source} (vCluster's) and {mine} (ours) both set {key}: "
                                 "keep one")
            return
        if target in self.out and not _same(self.out[target][0], value):
            other = self.out[target][1]
            self.problems.append(f"{other} and {source} both set {key} "
                                 f"({_show(self.out[target][0])}, {_show(value)}): keep one")
            return
        self.out[target] = (value, source)
        self.lines.append(f"{source} → {key}" + (f": {_show(value)}" if show else "") + note)

    def _ours_at(self, target: Path) -> str | None:
        """Our key that sets `target`, it or a mapping above or below it."""
        for path, value in self.ours.items():
            n = min(len(path), len(target))
            if path[:n] != target[:n]:
                continue
            if len(path) < len(target) and isinstance(value, dict) and not value:
                continue  # an empty mapping above sets nothing
            return dotted(path)
        return None

    def _set(self, target: Path) -> Any:
        """The value `target` has from the file (ours or translated), None if unset."""
        if target in self.ours:
            return self.ours[target]
        return self.out[target][0] if target in self.out else None

    # --- keys translated together ---------------------------------------------------------

    def _groups(self) -> None:
        groups = self.groups
        for path, value in groups.get("quotaKey", {}).items():
            name = path[-1]
            if name not in QUOTA_KEYS:
                self.problems.append(
                    f"{dotted(path)}: charts/vcluster's quota has no {name!r} (it counts "
                    f"{', '.join(sorted(QUOTA_KEYS))})")
                continue
            key, convert = QUOTA_KEYS[name]
            try:
                self.emit(("isolation", "quota", *key), convert(value), dotted(path))
            except Refused as e:
                self.problems.append(f"{dotted(path)}: {e}")
        if configs := groups.get("configs"):
            self._configs(configs)
        if nodes := groups.get("nodes"):
            self._nodes(nodes)
        if persistence := groups.get("persistence"):
            for path, value in persistence.items():
                if value == "auto":
                    self.lines.append(f"{dotted(path)} → (nothing to set: auto; k3s's "
                                      "SQLite is on an emptyDir unless persistence.enabled)")
                else:
                    self._bool_to(path, value, ("persistence", "enabled"))
        switched: list[tuple[str, str]] = []  # (policy, the key that switched it on)
        for path, value in groups.get("isolation", {}).items():
            if value is True:
                switched += [(p, dotted(path)) for p in
                             ("quota", "limitRange", "networkPolicy", "podSecurity")]
            elif value is False:
                self.lines.append(f"{dotted(path)} → (nothing to set: charts/vcluster's "
                                  "quota, LimitRange and NetworkPolicy are on unless "
                                  "isolation.<each>.enabled is false)")
            else:
                self.problems.append(f"{dotted(path)}: {_show(value)} is not true or false")
        for group, ours in (("quota", "quota"), ("limitRange", "limitRange")):
            for path, value in groups.get(group, {}).items():
                other = "limitRange" if group == "quota" else "resourceQuota"
                if value == "auto":
                    self.lines.append(f"{dotted(path)} → (nothing to set: auto; charts/"
                                      f"vcluster's isolation.{ours} is on unless disabled, "
                                      f"whatever policies.{other} says)")
                elif self._bool_to(path, value, ("isolation", ours, "enabled")):
                    switched.append((ours, dotted(path)))
        self._defaults(switched)

    def _bool_to(self, path: Path, value: Any, target: Path) -> bool:
        try:
            flag = value if isinstance(value, bool) else {"true": True, "false": False}[value]
        except (KeyError, TypeError):
            self.problems.append(f"{dotted(path)}: {_show(value)} is not true or false")
            return False
        self.emit(target, flag, dotted(path))
        return flag

    def _configs(self, given: dict[Path, Any]) -> None:
        sources = ", ".join(dotted(p) for p in given)
        if any(not isinstance(v, bool) for v in given.values()):
            self.problems.append(f"{sources}: true or false")
            return
        if all(given.values()) and len(given) == 2:
            self.emit(("sync", "configs"), "all", sources, show=True)
        elif not any(given.values()):
            self.emit(("sync", "configs"), "referenced", sources, show=True)
        else:
            self.problems.append(
                f"{sources}: charts/vcluster's sync.configs takes every ConfigMap and every "
                "Secret together (all) or the ones synced pods reference: `all` for one "
                "kind and not the other has no equivalent (set both, or neither)")

    def _nodes(self, given: dict[Path, Any]) -> None:
        sources = ", ".join(dotted(p) for p in given)
        if any(not isinstance(v, bool) for v in given.values()):
            self.problems.append(f"{sources}: true or false")
            return
        real = given.get(("sync", "nodes", "enabled"),
                         given.get(("sync", "fromHost", "nodes", "enabled")))
        fake = given.get(("sync", "fake-nodes", "enabled"))
        if real is True:  # vCluster: fake-nodes is ignored when nodes are synced
            self.emit(("sync", "nodes"), "real", sources, show=True)
        elif fake is False:
            self.problems.append(f"{sources}: a virtual cluster without nodes has no "
                                 "equivalent; its nodes are fake or real (sync.nodes)")
        else:
            self.emit(("sync", "nodes"), "fake", sources, show=True)

    def _defaults(self, switched: list[tuple[str, str]]) -> None:
        done: set[str] = set()
        for policy, source in switched:
            if policy in done:
                continue
            done.add(policy)
            if policy in ("quota", "limitRange") and \
                    self._set(("isolation", policy, "enabled")) is False:
                continue
            for target, value in DEFAULTS[policy].items():
                if self._set(target) is not None or self._ours_at(target) is not None:
                    continue
                self.defaults[target] = value
                self.lines.append(f"{source}: true → {dotted(target)}: {_show(value)} "
                                  "(vCluster's default)")
            if policy in NOT_CARRIED:
                self.lines.append(f"{source}: true → (vCluster's default "
                                  f"{NOT_CARRIED[policy]} not carried: no equivalent)")


# --- paths -----------------------------------------------------------------------------------

def _leaves(values: Mapping[str, Any], prefix: Path = ()) -> list[tuple[Path, Any]]:
    """Key paths to leaf values; an empty mapping is a leaf."""
    out: list[tuple[Path, Any]] = []
    for key, value in values.items():
        path = (*prefix, str(key))
        if isinstance(value, Mapping) and value:
            out += _leaves(value, path)
        else:
            out.append((path, value))
    return out


def _match(path: Path) -> tuple[Rule, list[str]] | None:
    for rule in RULES:
        bound = _bind(rule.pattern, path)
        if bound is not None:
            return rule, bound
    return None


def _bind(pattern: Path, path: Path) -> list[str] | None:
    """The keys `*` and `**` stand for, or None when `path` is not `pattern`'s."""
    if pattern and pattern[-1] == "**":
        head = pattern[:-1]
        if len(path) <= len(head):
            return None
        bound = _bind(head, path[:len(head)])
        return None if bound is None else [*bound, *path[len(head):]]
    if len(pattern) != len(path):
        return None
    bound = []
    for want, got in zip(pattern, path, strict=True):
        if want == "*":
            bound.append(got)
        elif want != got:
            return None
    return bound


def _fill(target: Path, bound: list[str]) -> Path:
    out: list[str] = []
    rest = iter(bound)
    for key in target:
        if key == "*":
            out.append(next(rest))
        elif key == "**":
            out += list(rest)
        else:
            out.append(key)
    return tuple(out)


def _ours(path: Path) -> bool:
    if path[0] in OURS_TOP:
        return True
    children = OURS_SHARED.get(path[0])
    if children is None or len(path) < 2 or path[1] not in children:
        return False
    return not (path[:2] == ("sync", "nodes") and len(path) > 2)  # a mapping: vCluster's


def _no_equivalent(path: Path) -> tuple[int, str, str] | None:
    """(depth of the refused key, form, why) for a vCluster key with no equivalent."""
    for prefix, form, why in NO_EQUIVALENT:
        if path[:len(prefix)] == prefix:
            return min(len(prefix), len(path) - 1), form, why
    return None


def _put(values: dict[str, Any], path: Path, value: Any) -> None:
    node = values
    for key in path[:-1]:
        child = node.get(key)
        if not isinstance(child, dict):
            child = node[key] = {}
        node = child
    node[path[-1]] = value


def _same(a: Any, b: Any) -> bool:
    """Equal and of one type (so that 0 is not False)."""
    return type(a) is type(b) and a == b


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if value is None:
        return "null"
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return str(value)
