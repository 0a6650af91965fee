"""The "etcd": object storage with one resourceVersion counter, its event history and list
pagination."""
