"""Virtual clusters on demand: install `charts/vcluster` into a host namespace, hand out a
kubeconfig, take it away again without leaving anything behind.

`create`, `delete` (lifecycle.py), `list_vclusters` (listing.py), `resolve` (find.py: which
namespace a name means), `connect` (connect.py) and a connect `session` (session.py: the
tunnel bound to a command or to a signal) are plain async functions over the host: a
`HostCluster` for those that also run helm (so the API client and helm see the same
cluster), a `KubeClient` for those that only use the API; values across upgrades are pure
(values.py). They report progress through a
callback and never print.
"""
