"""Operations: `up`, `down`, `list`, `kubeconfig` and the sandbox demo.

Each is a plain async function over explicit inputs (a `HostCluster`, the rendered config,
the pull request, a progress callback) returning a result from `preview.results` or a row
type of its own. They orchestrate the services (naming, vcluster, deploy) and own the
failure story; they never print and never import `preview.sandbox`.
"""
