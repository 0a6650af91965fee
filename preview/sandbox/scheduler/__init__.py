"""kube-scheduler for the host sandbox: binds pending pods to nodes, through the API."""
