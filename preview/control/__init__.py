"""The controller toolkit: one informer and one work queue, after client-go's.

Used by the syncer (`preview/syncer/`) and by the emulator's controllers
(`preview/sandbox/controllers/`), both reading through `preview/kube/listwatch.py`, the
project's client adapted to `ListWatcher`. It knows no client, no resource and no user, so
it imports nothing of the project but itself (it is the layer under `preview.kube`).
"""

from preview.control.informer import (
    Expired,
    Handler,
    Informer,
    Key,
    ListWatcher,
    key_of,
)
from preview.control.queue import TokenBucket, WorkQueue

__all__ = ["Expired", "Handler", "Informer", "Key", "ListWatcher", "TokenBucket", "WorkQueue",
           "key_of"]
