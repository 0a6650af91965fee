"""Which host namespace is an environment's, and the proof that it is ours to touch.

A namespace is touched only when it carries the label contract of `preview.naming`
(`managed-by=preview-vcluster`, an `environment` label) *and* its `repo`/`pr` labels name
the environment asked for: a namespace of the same name made by someone else is refused.
"""

from __future__ import annotations

from typing import Any

from preview import naming
from preview.errors import BadInput
from preview.kube.client import KubeClient
from preview.kube.resources import NAMESPACES


def check_owned(namespace: dict[str, Any], env: naming.Environment) -> None:
    """Raise BadInput unless `namespace` is the host namespace of `env` (pure)."""
    name = env.namespace
    if not naming.is_environment(namespace):
        raise BadInput(f"namespace {name} exists but is not a preview environment (it lacks "
                       f"the labels {naming.MANAGED_BY}={naming.MANAGED_BY_VALUE} and "
                       f"{naming.ENVIRONMENT}): preview-vcluster will not touch it",
                       f"it was not made by `preview up`; remove it yourself "
                       f"(`kubectl delete namespace {name}`) if it should not be there")
    labels = namespace["metadata"].get("labels") or {}
    if labels.get(naming.REPO) != env.repo_label or labels.get(naming.PR) != str(env.pr):
        raise BadInput(f"namespace {name} holds the environment of {labels.get(naming.REPO)!r} "
                       f"PR {labels.get(naming.PR)!r}, not of {env.full_name} PR {env.pr}",
                       "`preview list` shows which namespace holds which environment")


async def find(kube: KubeClient, env: naming.Environment) -> dict[str, Any] | None:
    """The host namespace of `env` (None when absent); BadInput when it is not ours."""
    namespace = await kube.get(NAMESPACES, None, env.namespace)
    if namespace is not None:
        check_owned(namespace, env)
    return namespace
