"""The syncer's generic machinery: informers, the work queue, workers. Kinds live elsewhere."""
