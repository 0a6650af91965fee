"""A whole sandbox cluster: what it is made of (`ServerConfig`), and the kubeconfig files that
reach it."""
