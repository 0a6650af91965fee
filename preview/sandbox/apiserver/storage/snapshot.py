"""The store kept on disk across restarts, as k3s keeps its SQLite database in --data-dir.

Only the virtual flavour (the k3s stand-in) is given a data directory. Its state is written
once, when the server stops (SIGTERM from the kubelet, which waits its stop timeout before
SIGKILL), and read back when it starts again: a control plane scaled to zero and back (a
sleeping preview environment) finds its objects, as k3s does on a persistent volume.

Differences from k3s, on purpose: writes are not durable one by one (a SIGKILL loses what
changed since the last start), and the watch history starts empty after a restart, so a
watch from an older resourceVersion is answered 410 Gone and relists, as after a compaction.
The service-account signing key is kept with the objects (k3s keeps it in
`server/tls/service.key`), and the admin's token in `server/token` (as k3s keeps its own),
so the kubeconfig the syncer published and tokens issued before a restart still work.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from preview.sandbox.apiserver.storage.store import Store

FORMAT = 1


def path_in(data_dir: Path) -> Path:
    """Where the snapshot lives under a data directory (k3s: server/db/state.db)."""
    return data_dir / "server" / "db" / "state.json"


def dump(store: Store, signing_key: bytes) -> dict[str, Any]:
    """The store as JSON-ready data (pure)."""
    objects = [[group, resource, obj] for group, resource in store.storages()
               for obj in store.list((group, resource))]
    return {"format": FORMAT, "rv": store.rv, "signingKey": signing_key.hex(),
            "objects": objects}


def restore(store: Store, data: dict[str, Any]) -> bytes:
    """Fill an empty store from `dump`'s data; the signing key it held."""
    if data.get("format") != FORMAT:
        raise ValueError(f"unknown snapshot format {data.get('format')!r}")
    for group, resource, obj in data.get("objects") or []:
        store.load((str(group), str(resource)), obj)
    store.restart_at(int(data.get("rv") or 0))
    return bytes.fromhex(str(data.get("signingKey") or ""))


def save(store: Store, signing_key: bytes, path: Path) -> None:
    """Write the snapshot atomically (a reader never sees half a file), owner-only."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_suffix(".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as file:
        json.dump(dump(store, signing_key), file)
    os.replace(temporary, path)


def load(store: Store, path: Path) -> bytes | None:
    """Read a snapshot into `store` when there is one; its signing key (None: none there)."""
    if not path.exists():
        return None
    return restore(store, json.loads(path.read_text()))


def admin_token(data_dir: Path, fresh: str) -> str:
    """The admin token kept in `data_dir/server/token`: `fresh`, written there on first
    start; what is there afterwards."""
    path = data_dir / "server" / "token"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(fresh)
    return fresh
