"""Every call to the `helm` binary, through pyhelm3: one place, one error type.

Helm's own message (schema violations, render errors, API refusals) is what the user needs;
it is carried in the `PreviewError` with a hint about where it came from.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pyhelm3
import yaml
from pyhelm3 import errors as helm_errors

from preview.errors import PreviewError
from preview.tools import find_tool

log = logging.getLogger(__name__)


def _client(kubeconfig: Path | None, context: str | None = None) -> pyhelm3.Client:
    return pyhelm3.Client(executable=str(find_tool("helm")), kubeconfig=kubeconfig,
                          kubecontext=context)


def _error(action: str, release: str, e: helm_errors.Error) -> PreviewError:
    message = e.stderr.decode(errors="replace").strip().removeprefix("Error: ")
    return PreviewError(f"helm could not {action} {release}: {message}",
                        "fix the values or chart named in the message and run again")


async def render(chart: Path, release: str, namespace: str,
                 values: dict[str, Any]) -> list[dict[str, Any]]:
    """`helm template`: the manifests the chart makes from `values` (validated by its schema)."""
    client = _client(None)
    try:
        loaded = await client.get_chart(chart)
        rendered = await client.template_resources(loaded, release, values, namespace=namespace)
    except helm_errors.Error as e:
        raise _error("render", release, e) from e
    return [r for r in rendered if r]


async def install_or_upgrade(kubeconfig: Path | None, context: str | None, chart: Path,
                             release: str, namespace: str, values: dict[str, Any],
                             timeout: str = "5m") -> int:
    """`helm upgrade --install` (no --wait: callers wait with progress). Returns the revision."""
    client = _client(kubeconfig, context)
    try:
        loaded = await client.get_chart(chart)
        revision = await client.install_or_upgrade_release(
            release, loaded, values, namespace=namespace, create_namespace=False,
            timeout=timeout)
    except helm_errors.Error as e:
        raise _error("install", release, e) from e
    return int(revision.revision)


async def uninstall(kubeconfig: Path | None, context: str | None, release: str,
                    namespace: str, timeout: str = "5m") -> bool:
    """`helm uninstall --wait`; False when there was no such release."""
    client = _client(kubeconfig, context)
    try:
        # pyhelm3's uninstall treats a missing release as success: ask first.
        await client.get_current_revision(release, namespace=namespace)
        await client.uninstall_release(release, namespace=namespace, wait=True, timeout=timeout)
    except helm_errors.ReleaseNotFoundError:
        return False
    except helm_errors.Error as e:
        if "not found" in e.stderr.decode(errors="replace").lower():
            return False
        raise _error("uninstall", release, e) from e
    return True



async def releases(kubeconfig: Path | None, context: str | None = None) -> list[tuple[str, str]]:
    """(name, namespace) of every release in every namespace, whatever its status."""
    client = _client(kubeconfig, context)
    try:
        found = await client.list_releases(
            all_namespaces=True, include_deployed=True, include_failed=True,
            include_pending=True, include_uninstalling=True)
    except helm_errors.Error as e:
        raise _error("list releases in", "the cluster", e) from e
    return [(release.name, release.namespace) for release in found]


async def deployed_values(kubeconfig: Path | None, context: str | None, chart: Path,
                          release: str, namespace: str) -> dict[str, Any] | None:
    """The user-supplied values of `release` when its current revision is deployed from this
    chart's name and version; None when it is absent, pending, failed or another chart."""
    client = _client(kubeconfig, context)
    try:
        current = await client.get_current_revision(release, namespace=namespace)
        if current.status != pyhelm3.ReleaseRevisionStatus.DEPLOYED:
            return None
        loaded = await client.get_chart(chart)
        metadata = await current.chart_metadata()
        if (metadata.name, metadata.version) != (loaded.metadata.name, loaded.metadata.version):
            return None
        return dict(await current.values() or {})
    except helm_errors.ReleaseNotFoundError:
        return None
    except helm_errors.Error as e:
        raise _error("read", release, e) from e

def load_values_file(path: Path) -> dict[str, Any]:
    """A `-f values.yaml` file, as a mapping (with an error naming the file otherwise)."""
    try:
        loaded = yaml.safe_load(path.read_text())
    except OSError as e:
        raise PreviewError(f"cannot read values file {path}: {e.strerror}") from e
    except yaml.YAMLError as e:
        raise PreviewError(f"values file {path} is not valid YAML: {e}") from e
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise PreviewError(f"values file {path} must hold a mapping at the top level, not "
                           f"{type(loaded).__name__}")
    return loaded


def set_value(values: dict[str, Any], assignment: str) -> None:
    """Apply one `--set a.b=c` (helm's syntax for the common cases: dotted keys, scalars)."""
    key, sep, raw = assignment.partition("=")
    if not sep or not key:
        raise PreviewError(f"--set {assignment!r} is not KEY=VALUE",
                           "use dotted keys, e.g. --set isolation.quota.pods=50")
    parsed: Any = yaml.safe_load(raw) if raw else ""
    if isinstance(parsed, dict | list) or raw.strip() == "~":
        parsed = raw  # helm's --set takes these literally
    # `null` stays None: as with helm, it removes the chart's default for that key.
    target = values
    parts = key.split(".")
    for part in parts[:-1]:
        child = target.setdefault(part, {})
        if not isinstance(child, dict):
            raise PreviewError(f"--set {key}: {part} is not a mapping in the values so far")
        target = child
    target[parts[-1]] = parsed
