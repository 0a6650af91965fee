"""A pull request's files as one upload: what the action packs and the API unpacks.

The bundle is a gzip'd tar of the files `preview up` reads from the checkout —
`preview.yaml`, its values files, a local chart directory, a health check's CA file —
under their paths relative to the repository. It comes from a pull request, so the API
unpacks it as hostile input: into a private directory of its own, member by member,
refusing (400) absolute paths, `..`, hard links, links leaving the bundle, devices and
FIFOs, and (413) more bytes, files or expansion than the policy's limits — counted while
decompressing, so a gzip bomb is stopped after the limit, not after the disk is full.
Nothing is ever written outside the directory.
"""

from __future__ import annotations

import io
import os
import stat
import tarfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO

from preview.config import PreviewConfig
from preview.errors import BadInput
from preview.policy import Policy

CHUNK = 64 * 1024


@dataclass(frozen=True)
class Limits:
    """What one bundle may hold (the platform policy's `bundles:`)."""

    max_bytes: int = 10 * 1024 * 1024  # the upload itself, compressed
    max_expanded_bytes: int = 100 * 1024 * 1024  # all files together, uncompressed
    max_files: int = 5000  # members, directories included
    max_ratio: int = 100  # expanded / compressed


def limits_of(policy: Policy) -> Limits:
    """The policy's `bundles:` as `unpack` takes them."""
    b = policy.bundles
    return Limits(b.max_bytes, b.max_expanded_bytes, b.max_files, b.max_ratio)


class BundleRefused(BadInput):
    """The upload is not a bundle the API accepts; `status` is the HTTP answer (400/413)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message, "the bundle holds preview.yaml, its values files and a "
                                  "local chart: regular files and directories of the "
                                  "repository (docs/platform.md)")
        self.status = status


def files_of(loaded: PreviewConfig) -> list[Path]:
    """What `preview up` reads of the checkout for `loaded`: the file, its values files, a
    local chart, a health check's CA file."""
    found = [loaded.source] if loaded.source is not None else []
    found += [values.path for values in loaded.values_files]
    if loaded.chart is not None and loaded.chart.path is not None:
        found.append(loaded.chart.path)
    if loaded.health_check is not None and loaded.health_check.ca_file is not None:
        found.append(loaded.health_check.ca_file)
    return found


def pack(root: Path, paths: Iterable[Path]) -> bytes:
    """The files and directories `paths` (inside `root`) as a bundle, paths relative to
    `root`; links are packed as the files they point to inside `root`, never followed out."""
    buffer = io.BytesIO()
    root = root.resolve()
    seen: set[str] = set()
    with tarfile.open(fileobj=buffer, mode="w:gz", format=tarfile.PAX_FORMAT) as archive:
        for path in paths:
            for file in _files(path.resolve(), root):
                name = file.relative_to(root).as_posix()
                if name in seen:
                    continue
                seen.add(name)
                info = tarfile.TarInfo(name)
                info.size = file.stat().st_size
                info.mode = 0o644
                with file.open("rb") as handle:
                    archive.addfile(info, handle)
    return buffer.getvalue()


def _files(path: Path, root: Path) -> list[Path]:
    if not path.is_relative_to(root):
        raise BadInput(f"{path} is outside the repository {root}: it cannot be uploaded",
                       "name files of the repository only")
    if path.is_file():
        return [path]
    found = []
    for directory, _, names in os.walk(path, followlinks=False):
        for name in sorted(names):
            file = Path(directory, name).resolve()
            if file.is_file() and file.is_relative_to(root):
                found.append(file)
    return sorted(found)


def unpack(data: bytes, dest: Path, limits: Limits = Limits()) -> list[str]:
    """Extract the bundle `data` into the empty directory `dest`; the member names.
    BundleRefused (nothing outside `dest` written) on anything but plain files, directories
    and links that stay inside."""
    if len(data) > limits.max_bytes:
        raise BundleRefused(f"the bundle is {len(data)} bytes; the limit is "
                            f"{limits.max_bytes}", 413)
    dest = dest.resolve()
    expanded_cap = min(limits.max_expanded_bytes, max(len(data), 1) * limits.max_ratio)
    expanded = 0
    names: list[str] = []
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r|gz") as archive:
            for member in archive:
                names.append(member.name)
                if len(names) > limits.max_files:
                    raise BundleRefused(f"the bundle holds more than {limits.max_files} "
                                        "files", 413)
                target = _place(dest, member)
                if member.isdir():
                    target.mkdir(exist_ok=True)
                elif member.issym():
                    _link(dest, target, member)
                elif member.isreg():
                    source = archive.extractfile(member)
                    if source is None:
                        raise BundleRefused(f"{member.name}: unreadable member")
                    expanded = _write(target, source, expanded, expanded_cap, limits, len(data))
                else:
                    kind = "a hard link" if member.islnk() else "not a regular file"
                    raise BundleRefused(f"{member.name}: {kind}; a bundle holds only files, "
                                        "directories and links inside it")
    except (tarfile.TarError, EOFError, OSError, UnicodeDecodeError) as e:
        raise BundleRefused(f"not a gzip'd tar archive: {e}") from None
    return names


def _place(dest: Path, member: tarfile.TarInfo) -> Path:
    """Where `member` goes: inside `dest`, through real directories only."""
    name = PurePosixPath(member.name)
    if not member.name or name.is_absolute() or ".." in name.parts or "\\" in member.name:
        raise BundleRefused(f"{member.name!r}: an absolute path or '..' leaves the bundle")
    parts = [p for p in name.parts if p not in ("", ".")]
    if not parts:
        if member.isdir():
            return dest
        raise BundleRefused(f"{member.name!r}: not a file name")
    current = dest
    for part in parts[:-1]:
        current = current / part
        try:
            mode = os.lstat(current).st_mode
        except FileNotFoundError:
            current.mkdir()
            continue
        if not stat.S_ISDIR(mode):
            raise BundleRefused(f"{member.name}: {current.relative_to(dest)} is not a "
                                "directory (a link cannot be a member's parent)")
    target = current / parts[-1]
    if os.path.lexists(target) and not (member.isdir() and target.is_dir()
                                        and not target.is_symlink()):
        raise BundleRefused(f"{member.name}: twice in the bundle")
    return target


def _link(dest: Path, target: Path, member: tarfile.TarInfo) -> None:
    pointed = PurePosixPath(member.linkname)
    resolved = Path(os.path.normpath(target.parent / pointed)) if not pointed.is_absolute() \
        else Path(str(pointed))
    if pointed.is_absolute() or not resolved.is_relative_to(dest):
        raise BundleRefused(f"{member.name}: a link to {member.linkname}, outside the bundle")
    os.symlink(member.linkname, target)


def _write(target: Path, source: IO[bytes], expanded: int, cap: int,
           limits: Limits, compressed: int) -> int:
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "wb") as out:
        while True:
            chunk = source.read(CHUNK)
            if not chunk:
                return expanded
            expanded += len(chunk)
            if expanded > cap:
                what = ("expands to more than " + (
                    f"{limits.max_expanded_bytes} bytes"
                    if cap == limits.max_expanded_bytes
                    else f"{limits.max_ratio} times its {compressed} bytes"))
                raise BundleRefused(f"the bundle {what}", 413)
            out.write(chunk)
