"""Values of a virtual cluster: what `create` is given, and across `create --upgrade` what is
kept and what changes (pure, but for reading the `-f` files).

An upgrade starts from the values of the installed release (`helm get values`) and lays the
newly given `-f`/`--set` over them, like `helm upgrade --reuse-values` but computed here, so
the user is told exactly which keys changed and which were kept.

A `-f` file may be a vCluster values file (either of vCluster's forms): it is translated
into our values first (vclusterconfig.py), each translated key reported through `report`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from preview import helm
from preview.vcluster import vclusterconfig

_MISSING = object()


@dataclass(frozen=True)
class Change:
    """One dotted key whose value differs between the installed and the new values."""

    key: str
    before: Any  # None when the key was not set
    after: Any  # None when the key is no longer set

    def __str__(self) -> str:
        return f"{self.key}: {_show(self.before)} -> {_show(self.after)}"


def given(values_files: Sequence[Path] = (), assignments: Sequence[str] = (),
          expose: bool = False,
          report: Callable[[str], None] | None = None) -> dict[str, Any]:
    """The values `create -f FILE… --set KEY=VALUE… [--expose]` asks for, as helm lays them:
    later files over earlier ones, each `--set` over the files, `--expose` last. A vCluster
    file is translated first (`report` gets one `FILE: from → to` line per key); the
    vCluster defaults it switches on fill only what no file set."""
    values: dict[str, Any] = {}
    for path in values_files:
        translation = load(path)
        if report is not None and translation.form != vclusterconfig.OURS:
            report(f"{path}: {translation.form}, in charts/vcluster's values:")
            for line in translation.lines:
                report(f"{path}: {line}")
        values = merge(merge(translation.defaults, values), translation.values)
    for assignment in assignments:
        helm.set_value(values, assignment)
    if expose:
        values = merge(values, {"service": {"type": "LoadBalancer"}})
    return values


def load(path: Path) -> vclusterconfig.Translation:
    """A `-f` file in our values, whichever form it is in (Untranslatable otherwise)."""
    return vclusterconfig.translate(helm.load_values_file(path), str(path))


merge = helm.merge_values  # `extra` laid over `base`, as helm lays values files


def flatten(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Dotted keys to leaf values (an empty mapping is a leaf)."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out.update(flatten(value, f"{dotted}."))
        else:
            out[dotted] = value
    return out


def changes(before: dict[str, Any], after: dict[str, Any]) -> tuple[Change, ...]:
    """Every dotted key whose value differs, sorted by key."""
    old, new = flatten(before), flatten(after)
    return tuple(Change(key, old.get(key), new.get(key))
                 for key in sorted(old.keys() | new.keys())
                 if old.get(key, _MISSING) != new.get(key, _MISSING))


def kept(installed: dict[str, Any], given: dict[str, Any]) -> tuple[str, ...]:
    """Dotted keys of the installed values that were not given again: `key=value` each."""
    given_keys = flatten(given)
    return tuple(f"{key}={_show(value)}" for key, value in sorted(flatten(installed).items())
                 if key not in given_keys and not any(
                     key.startswith(f"{g}.") for g in given_keys))


def _show(value: Any) -> str:
    if value is None:
        return "(unset)"
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)
