"""One module per synced kind: a pure `translate` and an I/O `reconcile`."""
