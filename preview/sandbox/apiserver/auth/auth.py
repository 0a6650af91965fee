"""Who is calling, and may they: bearer-token authentication, impersonation, RBAC.

Tokens: static ones (the admin kubeconfig, the emulator's own controllers) and
service-account JWTs. Authorization is the RBAC authorizer over the Roles and bindings
stored in the emulator, cached until one of them changes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from preview.sandbox.apiserver.auth import rbac
from preview.sandbox.apiserver.auth.rbac import Attributes, UserInfo
from preview.sandbox.apiserver.auth.tokens import ISSUER, TokenSigner
from preview.sandbox.apiserver.storage.store import Store
from preview.sandbox.machinery.status import StatusError, forbidden

ANONYMOUS = UserInfo("system:anonymous", ("system:unauthenticated",))
_RBAC = (("rbac.authorization.k8s.io", "roles"), ("rbac.authorization.k8s.io", "clusterroles"),
         ("rbac.authorization.k8s.io", "rolebindings"),
         ("rbac.authorization.k8s.io", "clusterrolebindings"))


def unauthorized() -> StatusError:
    return StatusError(401, "Unauthorized", "Unauthorized")


class Authenticator:
    def __init__(self, store: Store, signer: TokenSigner) -> None:
        self.store = store
        self.signer = signer
        self.static: dict[str, UserInfo] = {}

    def add_token(self, token: str, user: UserInfo) -> None:
        self.static[token] = user

    def authenticate(self, headers: Mapping[str, str],
                     client_cert: tuple[str, tuple[str, ...]] | None = None) -> UserInfo:
        """The caller: a verified client certificate (CN user, O groups) first, as the real
        server's authenticator chain orders them, then a bearer token; else anonymous."""
        if client_cert is not None:
            name, groups = client_cert
            return UserInfo(name, (*groups, "system:authenticated"))
        header = headers.get("Authorization", "")
        if not header:
            return ANONYMOUS
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise unauthorized()
        token = token.strip()
        user = self.static.get(token)
        if user is not None:
            return user
        claims = self.signer.verify(token)
        if claims is None:
            raise unauthorized()
        sa = self.store.get(("", "serviceaccounts"), claims.namespace, claims.name)
        if sa is None or sa["metadata"]["uid"] != claims.uid:
            raise unauthorized()
        if claims.secret_name:
            secret = self.store.get(("", "secrets"), claims.namespace, claims.secret_name)
            if secret is None:
                raise unauthorized()
        return UserInfo(claims.username, ("system:serviceaccounts",
                                          f"system:serviceaccounts:{claims.namespace}",
                                          "system:authenticated"), uid=claims.uid)


    def review(self, token: str, audiences: list[str]) -> dict[str, Any]:
        """The `status` of a TokenReview: who `token` is, for the `audiences` asked about.

        Service-account tokens must be meant for one of them (the API server's own audience
        when none is given); the sandbox's static tokens are valid for any.
        """
        wanted = audiences or [ISSUER]
        failed = {"user": {}, "error": "[invalid bearer token, token lookup failed]"}
        try:
            user = self.authenticate({"Authorization": f"Bearer {token}"})
        except StatusError:
            return failed
        claims = None if token in self.static else self.signer.verify(token)
        matched = wanted
        if claims is not None and claims.audiences:
            matched = [a for a in wanted if a in claims.audiences]
            if not matched:
                return {"user": {}, "error": f"[invalid bearer token, token audiences "
                        f"{json.dumps(list(claims.audiences))} is invalid for the target "
                        f"audiences {json.dumps(wanted)}]"}
        info: dict[str, Any] = {"username": user.name}
        if user.uid:
            info["uid"] = user.uid
        info["groups"] = list(user.groups)
        if user.extra:
            extra: dict[str, list[str]] = {}
            for key, value in user.extra:
                extra.setdefault(key, []).append(value)
            info["extra"] = extra
        return {"authenticated": True, "user": info, "audiences": matched}


class Authorizer:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._stamp: tuple[int, ...] = ()
        self._snapshot: tuple[Any, ...] = ()

    def decide(self, user: UserInfo, attrs: Attributes) -> rbac.Decision:
        if "system:masters" in user.groups:
            return rbac.Decision(True, "system:masters")
        roles, cluster_roles, role_bindings, cluster_role_bindings = self._rbac()
        return rbac.authorize(user, attrs, roles, cluster_roles, role_bindings,
                              cluster_role_bindings)

    def check(self, user: UserInfo, attrs: Attributes) -> None:
        if not self.decide(user, attrs).allowed:
            raise forbidden(rbac.forbidden_message(user, attrs), attrs.resource, attrs.api_group,
                            attrs.name)

    def rules(self, user: UserInfo, namespace: str) -> Any:
        roles, cluster_roles, role_bindings, cluster_role_bindings = self._rbac()
        return rbac.rules_for(user, namespace, roles, cluster_roles, role_bindings,
                              cluster_role_bindings)

    def _rbac(self) -> tuple[Any, ...]:
        stamp = tuple(self.store.versions.get(s, 0) for s in _RBAC)
        if stamp != self._stamp:
            roles = {(o["metadata"]["namespace"], o["metadata"]["name"]): o
                     for o in self.store.list(_RBAC[0])}
            cluster_roles = {o["metadata"]["name"]: o for o in self.store.list(_RBAC[1])}
            self._snapshot = (roles, cluster_roles, self.store.list(_RBAC[2]),
                              self.store.list(_RBAC[3]))
            self._stamp = stamp
        return self._snapshot


def impersonate(authorizer: Authorizer, user: UserInfo, headers: Mapping[str, str]) -> UserInfo:
    """Apply `Impersonate-User`/`Impersonate-Group` headers if the caller may impersonate."""
    target = headers.get("Impersonate-User")
    if not target:
        return user
    groups = tuple(v for k, v in headers.items() if k.lower() == "impersonate-group")
    if target.startswith("system:serviceaccount:"):
        ns, _, name = target.removeprefix("system:serviceaccount:").partition(":")
        attrs = Attributes(verb="impersonate", api_group="", resource="serviceaccounts",
                           namespace=ns, name=name)
        groups = groups or ("system:serviceaccounts", f"system:serviceaccounts:{ns}")
    else:
        attrs = Attributes(verb="impersonate", api_group="", resource="users", name=target)
    authorizer.check(user, attrs)
    for group in groups:
        authorizer.check(user, Attributes(verb="impersonate", api_group="", resource="groups",
                                          name=group))
    if target != "system:anonymous" and "system:authenticated" not in groups:
        groups = (*groups, "system:authenticated")
    return UserInfo(target, groups)
