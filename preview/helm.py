"""Every call to the `helm` binary, through pyhelm3: one place, one error type.

Helm's own message (schema violations, render errors, API refusals) is what the user needs;
it is carried in the `PreviewError` with a hint about where it came from.
"""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyhelm3
import yaml
from pyhelm3 import errors as helm_errors
from tenacity import (
    AsyncRetrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from preview.errors import PreviewError
from preview.tools import find_tool

log = logging.getLogger(__name__)


def _client(kubeconfig: Path | None, context: str | None = None) -> pyhelm3.Client:
    return pyhelm3.Client(executable=str(find_tool("helm")), kubeconfig=kubeconfig,
                          kubecontext=context)


def _command(kubeconfig: Path | None, context: str | None = None) -> pyhelm3.Command:
    """The raw `helm` invocation, for calls that need no typed result (and no `helm version`
    run, which constructing a `Client` does)."""
    return pyhelm3.Command(executable=str(find_tool("helm")), kubeconfig=kubeconfig,
                           kubecontext=context)


def _error(action: str, release: str, e: helm_errors.Error) -> PreviewError:
    message = e.stderr.decode(errors="replace").strip().removeprefix("Error: ")
    if transient(message):
        return Unreachable(f"helm could not {action} {release}: {message}",
                           "the cluster's API did not answer in time; run again (a busy "
                           "machine or network)")
    return PreviewError(f"helm could not {action} {release}: {message}",
                        "fix the values or chart named in the message and run again")


class Unreachable(PreviewError):
    """helm did not get an answer from the cluster (a transient failure: `transient`)."""


class ReleaseBusy(PreviewError):
    """helm refused to install or upgrade because another client has the release: it is
    mid-operation, or was installed since we looked. helm wrote nothing of ours."""


# helm's words when it refuses before writing a revision (pkg/action/install.go, upgrade.go).
_BUSY = ("another operation (install/upgrade/rollback) is in progress",
         "cannot re-use a name that is still in use")


# client-go's words when a request never got an answer: the API server was not reached, or
# too slowly (helm's TLS handshake times out after 10 s, as the first request to a fresh
# virtual cluster through a busy port-forward can). Worth asking again; any other answer
# (refused, invalid, not found) is the same the second time.
_TRANSIENT = ("TLS handshake timeout", "connection refused", "connection reset by peer",
              "i/o timeout", "unexpected EOF", "http2: client connection lost",
              "Client.Timeout exceeded", "the server is currently unable to handle the request")
ATTEMPTS = 4  # of a read-only call: three retries, 1-8 s apart (jittered), then its error
_READ_BACKOFF = wait_exponential_jitter(initial=1.0, max=8.0, jitter=0.5)


def transient(stderr: str) -> bool:
    """Whether helm's `stderr` says the cluster was not reached, rather than answered (pure)."""
    return any(words in stderr for words in _TRANSIENT)


def _is_transient(e: BaseException) -> bool:
    return isinstance(e, helm_errors.Error) and transient(e.stderr.decode(errors="replace"))


async def _read(call: Callable[[], Awaitable[Any]], what: str) -> Any:
    """Run a read-only helm call, again on a transient failure (bounded): it changes nothing,
    so asking twice is safe. Writes are not retried here: a half-applied install is
    `preview.deploy.release.recover`'s, on the next run."""
    async for attempt in AsyncRetrying(stop=stop_after_attempt(ATTEMPTS), wait=_READ_BACKOFF,
                                       retry=retry_if_exception(_is_transient), reraise=True):
        with attempt:
            if attempt.retry_state.attempt_number > 1:
                log.warning("helm %s: attempt %d of %d after a transient failure", what,
                            attempt.retry_state.attempt_number, ATTEMPTS)
            return await call()
    raise AssertionError("unreachable: tenacity reraises the last failure")


def _not_found(e: helm_errors.Error) -> bool:
    """No such release: pyhelm3 raises ReleaseNotFoundError only for the messages it knows;
    other commands (`helm get values`, `helm uninstall`) just say "not found"."""
    return isinstance(e, helm_errors.ReleaseNotFoundError) or \
        "not found" in e.stderr.decode(errors="replace").lower()


async def render(chart: Path | str, release: str, namespace: str, values: dict[str, Any],
                 repo: str | None = None, version: str | None = None) -> list[dict[str, Any]]:
    """`helm template`: the manifests the chart makes from `values` (validated by its schema).

    `chart` is a local path, an `oci://` reference or (with `repo`) a chart name; helm fetches
    remote charts itself.
    """
    client = _client(None)
    try:
        loaded = await client.get_chart(chart, repo=repo, version=version)
        rendered = await client.template_resources(loaded, release, values, namespace=namespace)
    except helm_errors.Error as e:
        raise _error("render", release, e) from e
    return [r for r in rendered if r]


@dataclass(frozen=True)
class Revision:
    """One line of `helm history`."""

    number: int
    status: str  # deployed | superseded | failed | pending-install | pending-upgrade | …
    chart: str  # NAME-VERSION
    description: str


@dataclass(frozen=True)
class Helm:
    """helm bound to one cluster: every call that reaches a cluster goes through one, so its
    kubeconfig and context are given once (`HostCluster.helm`, `VirtualCluster.helm`)."""

    kubeconfig: Path | None = None  # --kubeconfig; None: $KUBECONFIG
    context: str | None = None  # --kube-context; None: the current context

    def _client(self) -> pyhelm3.Client:
        return _client(self.kubeconfig, self.context)

    def _command(self) -> pyhelm3.Command:
        return _command(self.kubeconfig, self.context)

    async def install_or_upgrade(self, chart: Path | str, release: str, namespace: str,
                                 values: dict[str, Any], timeout: str = "5m", *,
                                 repo: str | None = None, version: str | None = None,
                                 create_namespace: bool = False) -> int:
        """`helm upgrade --install` (no --wait: callers wait with progress). Returns the
        revision; `ReleaseBusy` when another client holds the release."""
        client = self._client()
        try:
            loaded = await client.get_chart(chart, repo=repo, version=version)
            revision = await client.install_or_upgrade_release(
                release, loaded, values, namespace=namespace, create_namespace=create_namespace,
                timeout=timeout)
        except helm_errors.Error as e:
            error = _error("install", release, e)
            if any(words in error.message for words in _BUSY):
                raise ReleaseBusy(error.message, "another run is installing or upgrading it: "
                                                 "wait for it, then run again") from e
            raise error from e
        return int(revision.revision)

    async def history(self, release: str, namespace: str) -> list[Revision]:
        """`helm history`, oldest first; [] when there is no such release."""
        command = self._command()
        try:
            rows = await _read(lambda: command.history(release, namespace=namespace),
                               f"history {release}")
        except helm_errors.ReleaseNotFoundError:
            return []
        except helm_errors.Error as e:
            raise _error("read the history of", release, e) from e
        return [Revision(int(r["revision"]), str(r["status"]), str(r.get("chart", "")),
                         str(r.get("description", ""))) for r in rows]

    async def deployed(self, release: str, namespace: str) -> dict[str, Any] | None:
        """The current revision as `helm status -o json` has it (manifest, config, info), or
        None."""
        command = self._command()
        try:
            status: dict[str, Any] = await _read(
                lambda: command.status(release, namespace=namespace), f"status {release}")
        except helm_errors.ReleaseNotFoundError:
            return None
        except helm_errors.Error as e:
            raise _error("read the status of", release, e) from e
        (status.get("info") or {}).pop("resources", None)  # live objects: large, not needed
        return status

    async def dry_run_upgrade(self, chart: Path | str, release: str, namespace: str,
                              values: dict[str, Any], *,
                              repo: str | None = None, version: str | None = None
                              ) -> dict[str, Any]:
        """`helm upgrade --install --dry-run=server`: the release an upgrade would make (manifest,
        chart), rendered exactly as the real upgrade renders it (cluster capabilities, lookups)."""
        command = self._command()
        args: list[Any] = ["upgrade", release, chart, "--install", "--dry-run=server",
                           "--output", "json", "--values", "-", "--namespace", namespace]
        if repo:
            args += ["--repo", repo]
        if version:
            args += ["--version", version]
        try:
            out = await _read(lambda: command.run(args, json.dumps(values).encode()),
                              f"upgrade --dry-run {release}")
        except helm_errors.Error as e:
            raise _error("render", release, e) from e
        # helm may print registry lines ("Pulled: …") before the JSON.
        result: dict[str, Any] = json.loads(out[out.index(b"{"):])
        return result

    async def rollback(self, release: str, namespace: str, revision: int,
                       timeout: str = "5m") -> None:
        """`helm rollback RELEASE REVISION` (no --wait)."""
        command = self._command()
        try:
            await command.rollback(release, revision, namespace=namespace, timeout=timeout)
        except helm_errors.Error as e:
            raise _error(f"roll back to revision {revision}", release, e) from e

    async def uninstall(self, release: str, namespace: str, timeout: str = "5m") -> bool:
        """`helm uninstall --wait`; False when there was no such release."""
        client = self._client()
        try:
            # pyhelm3's uninstall treats a missing release as success: ask first.
            await client.get_current_revision(release, namespace=namespace)
            await client.uninstall_release(release, namespace=namespace, wait=True, timeout=timeout)
        except helm_errors.Error as e:
            if _not_found(e):
                return False
            raise _error("uninstall", release, e) from e
        return True

    async def releases(self, namespace: str | None = None) -> list[dict[str, Any]]:
        """`helm list` in `namespace` (every namespace when None), deployed, failed and pending
        alike: dicts with name, namespace, revision, status, chart, app_version."""
        client = self._client()
        try:
            found = await _read(lambda: client.list_release_definitions(
                all_namespaces=namespace is None, namespace=namespace, include_deployed=True,
                include_failed=True, include_pending=True), "list")
        except helm_errors.Error as e:
            raise _error("list releases in", namespace or "all namespaces", e) from e
        return [dict(r) for r in found]

    async def release_values(self, release: str, namespace: str) -> dict[str, Any] | None:
        """`helm get values`: the values a user gave the installed release; None if none such."""
        # The Command layer: one `helm get values` (the Client's way costs a `helm status`).
        command = self._command()
        try:
            return dict(await _read(lambda: command.get_values(release, namespace=namespace),
                                    f"get values {release}") or {})
        except helm_errors.Error as e:
            if _not_found(e):
                return None
            raise _error("read the values of", release, e) from e

    async def chart_metadata(self, release: str, namespace: str) -> dict[str, Any]:
        """The Chart.yaml metadata of the installed release (name, version, annotations…)."""
        # The Command layer: one `helm get all --template` (the Client's way adds a status).
        command = self._command()
        try:
            return dict(await _read(
                lambda: command.get_chart_metadata(release, namespace=namespace),
                f"get all {release}") or {})
        except helm_errors.Error as e:
            raise _error("read the chart of", release, e) from e


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


def merge_values(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """helm's merge of values (`-f a.yaml -f b.yaml`): mappings merge key by key, anything
    else replaces; a new dict that shares nothing with either input."""
    merged = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge_values(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


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
