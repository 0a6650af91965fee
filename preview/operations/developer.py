"""A developer's kubeconfig of an environment's virtual cluster, made by `preview serve`.

The developer gets no host credential and not the virtual cluster's admin either: inside
the virtual cluster the API keeps one ServiceAccount per GitHub login (namespace
`kube-system`, labelled as ours), bound cluster-wide to the policy's ClusterRole (`edit` by
default), and answers with a TokenRequest of it that expires after the policy's
`developers.tokenExpiry`. Nothing is stored: the token lives in the answer only. The
kubeconfig's server is the policy's `developers.exposure` of the virtual API.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from typing import Any

from preview import naming
from preview.errors import PreviewError
from preview.kube.client import Conflict, KubeClient
from preview.kube.connection import from_kubeconfig
from preview.kube.host import HostCluster
from preview.kube.resources import SERVICEACCOUNTS, Resource
from preview.operations import kubeconfig, ownership
from preview.vcluster import connect

NAMESPACE = "kube-system"
CLUSTERROLES = Resource("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole",
                        namespaced=False)
CLUSTERROLEBINDINGS = Resource("rbac.authorization.k8s.io", "v1", "clusterrolebindings",
                               "ClusterRoleBinding", namespaced=False)
_LABELS = {naming.MANAGED_BY: naming.MANAGED_BY_VALUE}
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")


@dataclass(frozen=True)
class DeveloperAccess:
    """What the kubeconfig grants: to whom, as which ServiceAccount, until when."""

    login: str
    service_account: str  # kube-system/NAME in the virtual cluster
    cluster_role: str
    expires_at: str  # RFC 3339, the TokenRequest's expirationTimestamp
    server: str
    kubeconfig: dict[str, Any]


def account_name(login: str) -> str:
    """The ServiceAccount (and ClusterRoleBinding) name of GitHub user `login` (pure):
    `preview-developer-<login>` (GitHub logins ignore case), or `preview-dev-<hash>` when
    that is no DNS label: a prefix no login's name has, so the two never collide."""
    name = f"preview-developer-{login.lower()}"
    if len(name) <= 63 and _DNS_LABEL.fullmatch(name):
        return name
    return f"preview-dev-{hashlib.sha256(login.lower().encode()).hexdigest()[:16]}"


def token_kubeconfig(cluster_kubeconfig: dict[str, Any], token: str,
                     user: str) -> dict[str, Any]:
    """`cluster_kubeconfig` (one cluster, one context) with `token` as its only credential,
    the user entry named `user` (pure)."""
    out = {**cluster_kubeconfig}
    context_name = out["contexts"][0]["name"]
    out["users"] = [{"name": user, "user": {"token": token}}]
    out["contexts"] = [{"name": context_name,
                        "context": {**out["contexts"][0]["context"], "user": user}}]
    return out


async def server_of(host: KubeClient, env: naming.Environment, exposure: str,
                    published: dict[str, Any]) -> str:
    """The virtual API's address for `exposure` (ingress, loadbalancer or service)."""
    if exposure == "service":
        return kubeconfig.published_server(published)
    try:
        return await connect.exposed_server(host, env.vcluster, env.namespace, exposure)
    except PreviewError as e:
        raise PreviewError(
            f"{env.full_name} PR {env.pr}: the policy's developers.exposure is {exposure}, "
            f"but {e.message}",
            "make every environment expose its API that way (the policy's vcluster: block, "
            "e.g. service.type: LoadBalancer) or choose another developers.exposure "
            "(docs/platform.md)") from None


async def developer_kubeconfig(host: HostCluster, env: naming.Environment, login: str,
                               cluster_role: str, expiry_s: int,
                               exposure: str) -> DeveloperAccess:
    """Ensure `login`'s ServiceAccount and binding in `env`'s virtual cluster and return a
    kubeconfig holding a fresh token of it that expires in `expiry_s` seconds."""
    name = account_name(login)
    async with host.client("preview-serve") as kube:
        if await ownership.find(kube, env) is None:
            raise NotFoundEnvironment(env)
        published = await connect.published_kubeconfig(kube, env.vcluster, env.namespace)
        server = await server_of(kube, env, exposure, published)
        async with connect.connect(kube, env.vcluster, env.namespace) as path, \
                KubeClient(from_kubeconfig(path), "preview-serve") as virtual:
            if await virtual.get(CLUSTERROLES, None, cluster_role) is None:
                raise PreviewError(f"the virtual cluster of {env.full_name} PR {env.pr} has no "
                                   f"ClusterRole {cluster_role}",
                                   "set the policy's developers.clusterRole to one every "
                                   "virtual cluster has (edit, view, admin)")
            await _ensure(virtual, SERVICEACCOUNTS, NAMESPACE, {
                "apiVersion": "v1", "kind": "ServiceAccount",
                "metadata": {"name": name, "namespace": NAMESPACE, "labels": _LABELS,
                             "annotations": {"preview-vcluster.io/github-login": login}}})
            await _ensure_binding(virtual, name, cluster_role)
            answer = await virtual.request(
                "POST", SERVICEACCOUNTS.path(NAMESPACE, name, "token"),
                {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                 "spec": {"expirationSeconds": expiry_s}})
    status = answer.get("status") or {}
    token, expires = str(status.get("token") or ""), str(status.get("expirationTimestamp") or "")
    if not token:
        raise PreviewError("the virtual cluster answered a TokenRequest without a token")
    cluster = connect.elsewhere(published, server, env.name)
    document = token_kubeconfig(cluster, token, f"{login}@{env.name}")
    return DeveloperAccess(login, f"{NAMESPACE}/{name}", cluster_role, expires, server, document)


class NotFoundEnvironment(PreviewError):
    """The pull request has no environment to get a kubeconfig of."""

    def __init__(self, env: naming.Environment) -> None:
        super().__init__(f"{env.full_name} PR {env.pr} has no environment",
                         "it is created when the pull request's workflow runs")


def ours(obj: dict[str, Any]) -> bool:
    """Whether an object of the virtual cluster carries our label (pure): one made by the
    pull request's chart under our name is not, and is never changed or used."""
    labels = (obj.get("metadata") or {}).get("labels") or {}
    return isinstance(labels, dict) and labels.get(naming.MANAGED_BY) == naming.MANAGED_BY_VALUE


def _refuse_foreign(obj: dict[str, Any]) -> None:
    meta = obj.get("metadata") or {}
    where = f"{meta.get('namespace')}/" if meta.get("namespace") else ""
    raise PreviewError(f"{obj.get('kind', 'an object')} {where}{meta.get('name')} in the virtual "
                       "cluster is not preview-vcluster's (made by the app's chart?): no "
                       "kubeconfig is given through it",
                       "remove or rename that object in the virtual cluster")


async def _ensure(kube: KubeClient, res: Resource, namespace: str | None,
                  body: dict[str, Any]) -> None:
    live = await kube.get(res, namespace, body["metadata"]["name"])
    if live is None:
        with contextlib.suppress(Conflict):  # a concurrent request made it: fine
            await kube.create(res, namespace, body)
        live = await kube.get(res, namespace, body["metadata"]["name"])
    if live is not None and not ours(live):
        _refuse_foreign(live)


async def _ensure_binding(kube: KubeClient, name: str, cluster_role: str) -> None:
    body = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": name, "labels": _LABELS},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                        "name": cluster_role},
            "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": NAMESPACE}]}
    live = await kube.get(CLUSTERROLEBINDINGS, None, name)
    if live is not None and not ours(live):
        _refuse_foreign(live)
    if live is not None and (live.get("roleRef") != body["roleRef"]
                             or live.get("subjects") != body["subjects"]):
        # roleRef cannot change (the API refuses it): a policy that names another role
        # replaces our binding (as does one whose subjects someone changed).
        await kube.delete(CLUSTERROLEBINDINGS, None, name, uid=live["metadata"]["uid"])
        live = None
    if live is None:
        await _ensure(kube, CLUSTERROLEBINDINGS, None, body)


def expires_in(expires_at: str, now: dt.datetime | None = None) -> float:
    """Seconds until an RFC 3339 `expires_at` (pure)."""
    moment = dt.datetime.strptime(expires_at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    return (moment - (now or dt.datetime.now(dt.UTC))).total_seconds()
