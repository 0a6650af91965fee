"""Virtual clusters on demand: install `charts/vcluster` into a host namespace, hand out a
kubeconfig, take it away again without leaving anything behind.

`create`, `delete` (lifecycle.py), `list_vclusters` (listing.py) and `connect` (connect.py)
are plain async functions over a host `KubeClient`; they report progress through a callback
and never print.
"""
