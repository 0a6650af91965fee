"""Several kubeconfig files read as one, the way kubectl reads `KUBECONFIG=a:b:c`.

client-go's loading rules (`clientcmd.ClientConfigLoadingRules.Load`, documented in
"Organizing Cluster Access Using kubeconfig Files"):

- empty entries of the list are ignored, duplicates read once, missing files skipped;
- the first file to set a map key (a cluster, user or context name) wins, whole: entries of
  the same name in later files are discarded, never merged field by field;
- the first file to set `current-context` (or `preferences`) wins;
- relative paths in an entry (certificate-authority, client-certificate, client-key,
  tokenFile, an exec command that contains a slash) are resolved against the directory of
  the file that names them, so the merged document only holds absolute paths.

Pure apart from reading the files; no credentials are interpreted here.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import yaml

from preview.errors import PreviewError

_SECTIONS = {"clusters": "cluster", "users": "user", "contexts": "context"}
# client-go's GetClusterFileReferences / GetAuthInfoFileReferences.
_FILE_FIELDS = {"cluster": ("certificate-authority",),
                "user": ("client-certificate", "client-key", "tokenFile")}


def split_env(value: str) -> list[Path]:
    """The files named by a KUBECONFIG value, in order, without empties or duplicates."""
    seen: list[Path] = []
    for part in value.split(os.pathsep):
        if part and Path(part) not in seen:
            seen.append(Path(part))
    return seen


def merged_kubeconfig(paths: Sequence[str | os.PathLike[str]],
                      must_exist: bool = False) -> dict[str, Any]:
    """One kubeconfig document from `paths`, merged by kubectl's rules (see module doc).

    Missing files are skipped unless `must_exist` (kubectl's `--kubeconfig` must exist);
    a file that is not a YAML mapping is an error naming it.
    """
    documents: list[tuple[Path, dict[str, Any]]] = []
    for raw in dict.fromkeys(Path(p) for p in paths if str(p)):
        try:
            text = raw.read_text()
        except FileNotFoundError:
            if must_exist:
                raise PreviewError(f"kubeconfig {raw} does not exist",
                                   "pass --kubeconfig or set KUBECONFIG to a kubeconfig "
                                   "file") from None
            continue
        except OSError as e:
            raise PreviewError(f"cannot read kubeconfig {raw}: {e.strerror}") from None
        try:
            loaded = yaml.safe_load(text) or {}
        except yaml.YAMLError as e:
            raise PreviewError(f"kubeconfig {raw} is not valid YAML: {e}") from None
        if not isinstance(loaded, dict):
            raise PreviewError(f"kubeconfig {raw} is not a kubeconfig (a YAML mapping)")
        documents.append((raw, loaded))
    return merge_documents(documents)


def merge_documents(documents: Iterable[tuple[Path, dict[str, Any]]]) -> dict[str, Any]:
    """The merge itself over already-loaded documents, each with the file it came from."""
    merged: dict[str, Any] = {"apiVersion": "v1", "kind": "Config"}
    named: dict[str, dict[str, dict[str, Any]]] = {section: {} for section in _SECTIONS}
    for path, doc in documents:
        base = path.absolute().parent
        for key in ("current-context", "preferences"):
            if key not in merged and doc.get(key):
                merged[key] = copy.deepcopy(doc[key])
        for section, field in _SECTIONS.items():
            for entry in doc.get(section) or []:
                if not isinstance(entry, dict) or not entry.get("name"):
                    continue
                if entry["name"] not in named[section]:
                    named[section][entry["name"]] = _resolved(entry, field, base)
    for section in _SECTIONS:
        merged[section] = list(named[section].values())
    return merged


def _resolved(entry: dict[str, Any], field: str, base: Path) -> dict[str, Any]:
    out = copy.deepcopy(entry)
    body = out.get(field)
    if not isinstance(body, dict):
        return out
    for key in _FILE_FIELDS.get(field, ()):
        if body.get(key):
            body[key] = _absolute(str(body[key]), base)
    exec_ = body.get("exec") if field == "user" else None
    # Only a command given as a path is resolved; a bare name is looked up on PATH.
    if isinstance(exec_, dict) and os.sep in str(exec_.get("command") or ""):
        exec_["command"] = _absolute(str(exec_["command"]), base)
    return out


def _absolute(value: str, base: Path) -> str:
    expanded = Path(value)
    return str(expanded if expanded.is_absolute() else base / expanded)
