"""The emulated kube-apiserver: request handling, authentication and authorization, the registry
of verbs, admission, storage and wire encodings."""
