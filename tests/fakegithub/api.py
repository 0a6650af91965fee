"""What the fake GitHub knows and how it answers: repositories, pulls, comments, deployments.

Status codes and bodies follow docs.github.com (REST reference for issue comments,
deployments, deployment statuses, pulls, repositories, users). Misbehaviour (faults, rate
limits, races) and the HTTP side live in `server.py`.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

PREFIX = "/api/v3"
DOCS = "https://docs.github.com/rest"
ACTIONS_BOT = {"login": "github-actions[bot]", "id": 41898282, "type": "Bot"}
REACTIONS = ("+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes")
# Repository roles, weakest first, and the `permissions` flags of `GET /repos/{owner}/{repo}`
# each one sets for the authenticated user (docs.github.com, "Repository roles").
ROLES = ("read", "triage", "write", "maintain", "admin")
_ROLE_FLAGS = (("pull", "read"), ("triage", "triage"), ("push", "write"),
               ("maintain", "maintain"), ("admin", "admin"))
# The base permission `GET …/collaborators/{username}/permission` reports: maintain reads as
# write, triage as read.
PERMISSIONS = ("admin", "write", "read", "none")
_PERMISSION_OF = {"admin": "admin", "maintain": "write", "write": "write", "triage": "read",
                  "read": "read"}
DEPLOYMENT_STATES = ("error", "failure", "inactive", "in_progress", "queued", "pending", "success")


class HttpError(Exception):
    """Answer the current request with this status and GitHub-shaped JSON body."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None,
                 **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.body = {"message": message, "documentation_url": DOCS, "status": str(status),
                     **extra}
        self.headers = headers or {}


@dataclass
class Repo:
    owner: str
    name: str
    owner_type: str = "User"
    private: bool = False
    id: int = 0
    pulls: dict[int, dict[str, Any]] = field(default_factory=dict)
    comments: dict[int, dict[str, Any]] = field(default_factory=dict)  # id -> comment
    deployments: dict[int, dict[str, Any]] = field(default_factory=dict)
    commit_statuses: dict[str, dict[str, str]] = field(default_factory=dict)  # sha -> ctx -> state
    roles: dict[str, str] = field(default_factory=dict)  # login (lower) -> read … admin

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"


Handler = Callable[["Request"], tuple[int, Any]]


@dataclass
class Request:
    method: str
    path: str
    params: dict[str, str]
    body: Any
    user: dict[str, Any] | None  # None: an Actions (integration) token
    base: str  # absolute base URL, for links
    groups: dict[str, str]


class GitHubApi:
    """The fake's state and its routes; every handler runs under `lock`."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.repos: dict[str, Repo] = {}
        self.tokens: dict[str, dict[str, Any] | None] = {}
        self.read_only: set[str] = set()
        self._ids = iter(range(1000, 10**9))
        self._clock = 1_764_000_000  # deterministic, strictly increasing timestamps
        self._routes: list[tuple[str, re.Pattern[str], str, Handler]] = []
        self._register()

    @property
    def url(self) -> str:
        """The API's base URL (the server knows its port)."""
        return f"http://127.0.0.1{PREFIX}"

    # -- test setup ------------------------------------------------------------------------

    def add_token(self, token: str, login: str | None = None, user_id: int = 1,
                  write: bool = True) -> None:
        """A PAT-like token of user `login`, or (login None) an Actions-like token.

        `write=False` is a read-only token (a fork's pull_request run): writes answer 403.
        """
        self.tokens[token] = {"login": login, "id": user_id, "type": "User"} if login else None
        if not write:
            self.read_only.add(token)

    def add_repo(self, full_name: str, owner_type: str = "User", private: bool = False) -> Repo:
        owner, name = full_name.split("/")
        repo = Repo(owner, name, owner_type, private, id=self._next_id())
        self.repos[full_name.lower()] = repo
        return repo

    def set_role(self, full_name: str, login: str, role: str) -> None:
        """`login`'s role on the repository: read, triage, write, maintain or admin."""
        assert role in ROLES, role
        self.repos[full_name.lower()].roles[login.lower()] = role

    def add_pull(self, full_name: str, number: int, *, head_sha: str = "a" * 40,
                 branch: str = "feature", state: str = "open", merged: bool = False,
                 title: str = "A change", author: str = "alice", draft: bool = False,
                 labels: tuple[str, ...] = (), head_repo: str | None = None) -> dict[str, Any]:
        repo = self.repos[full_name.lower()]
        pull = {"number": number, "state": state, "merged": merged, "title": title,
                "draft": draft, "labels": [self._label(name) for name in labels],
                "user": {"login": author, "id": 7, "type": "User"},
                "head": {"sha": head_sha, "ref": branch,
                         "repo": {"full_name": head_repo or repo.full_name}},
                "base": {"ref": "main", "repo": {"full_name": repo.full_name}},
                "created_at": self._now(), "closed_at": None if state == "open" else self._now(),
                "merged_at": self._now() if merged else None}
        repo.pulls[number] = pull
        return pull

    def set_labels(self, full_name: str, number: int, *labels: str) -> None:
        self.repos[full_name.lower()].pulls[number]["labels"] = [self._label(n) for n in labels]

    def set_permission(self, full_name: str, login: str, permission: str) -> None:
        """`login`'s base permission on the repository, as GET …/permission reports it."""
        assert permission in PERMISSIONS, permission
        roles = self.repos[full_name.lower()].roles
        if permission == "none":
            roles.pop(login.lower(), None)
        else:
            roles[login.lower()] = permission

    def reactions(self, full_name: str, comment_id: int) -> list[dict[str, Any]]:
        comment = self.repos[full_name.lower()].comments[comment_id]
        return list(comment.get("_reactions", []))

    def _label(self, name: str) -> dict[str, Any]:
        return {"id": sum(map(ord, name)), "name": name, "color": "ededed", "default": False}

    def add_comment(self, full_name: str, number: int, body: str, login: str) -> dict[str, Any]:
        """A comment written by someone else (a person, another bot)."""
        with self.lock:
            return self._new_comment(self.repos[full_name.lower()], number, body,
                                     {"login": login, "id": 99, "type": "User"}, self.url)

    def set_commit_statuses(self, full_name: str, sha: str, states: dict[str, str]) -> None:
        self.repos[full_name.lower()].commit_statuses[sha] = dict(states)

    def route_names(self) -> set[str]:
        return {f"{m} {t}" for m, _, t, _ in self._routes}

    def _next_id(self) -> int:
        return next(self._ids)

    def _now(self) -> str:
        self._clock += 1
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self._clock))

    def _route(self, method: str, template: str) -> Callable[[Handler], Handler]:
        pattern = re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template) + "$")

        def add(handler: Handler) -> Handler:
            self._routes.append((method, pattern, template, handler))
            return handler
        return add

    def _match(self, method: str, path: str) -> tuple[str, Handler, dict[str, str], str]:
        for m, pattern, template, handler in self._routes:
            found = pattern.match(path)
            if found and m == method:
                return m, handler, found.groupdict(), template
        raise HttpError(404, "Not Found")

    # -- helpers for handlers --------------------------------------------------------------

    def _repo(self, req: Request) -> Repo:
        repo = self.repos.get(f"{req.groups['owner']}/{req.groups['repo']}".lower())
        if repo is None:
            raise HttpError(404, "Not Found")
        return repo

    def _page(self, req: Request, items: list[Any]) -> tuple[list[Any], dict[str, str]]:
        """GitHub pagination: per_page (default 30, max 100), page, and a Link header."""
        try:
            per_page = min(int(req.params.get("per_page", "30")), 100)
            page = max(int(req.params.get("page", "1")), 1)
        except ValueError as e:
            raise HttpError(422, "Validation Failed") from e
        last = max((len(items) + per_page - 1) // per_page, 1)
        links = []

        def link(n: int, rel: str) -> str:
            query = {**req.params, "per_page": str(per_page), "page": str(n)}
            return f'<{req.base}{req.path}?{urlencode(query)}>; rel="{rel}"'
        if page < last:
            links += [link(page + 1, "next"), link(last, "last")]
        if page > 1:
            links += [link(1, "first"), link(page - 1, "prev")]
        chunk = items[(page - 1) * per_page: page * per_page]
        return chunk, ({"Link": ", ".join(links)} if links else {})

    def _public(self, obj: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in obj.items() if not k.startswith("_")}

    def _need_user(self, req: Request) -> dict[str, Any]:
        return req.user or ACTIONS_BOT

    def _new_comment(self, repo: Repo, number: int, body: str, user: dict[str, Any],
                     base: str) -> dict[str, Any]:
        cid = self._next_id()
        now = self._now()
        api = f"{base}/repos/{repo.full_name}"
        comment = {"id": cid, "node_id": f"IC_{cid}", "url": f"{api}/issues/comments/{cid}",
                   "html_url": f"https://github.example/{repo.full_name}/pull/{number}"
                               f"#issuecomment-{cid}",
                   "issue_url": f"{api}/issues/{number}", "body": body, "user": dict(user),
                   "created_at": now, "updated_at": now, "author_association": "NONE",
                   "_issue": number}
        repo.comments[cid] = comment
        return comment

    def _deployment_json(self, req: Request, repo: Repo, d: dict[str, Any]) -> dict[str, Any]:
        api = f"{req.base}/repos/{repo.full_name}/deployments/{d['id']}"
        return {**self._public(d), "url": api, "statuses_url": f"{api}/statuses",
                "repository_url": f"{req.base}/repos/{repo.full_name}"}

    # -- routes ----------------------------------------------------------------------------

    def _register(self) -> None:
        route = self._route

        @route("GET", "/user")
        def get_user(req: Request) -> tuple[int, Any]:
            if req.user is None:
                raise HttpError(403, "Resource not accessible by integration",
                                documentation_url="https://docs.github.com/rest/users/users"
                                                  "#get-the-authenticated-user")
            return 200, req.user

        @route("GET", "/repos/{owner}/{repo}")
        def get_repo(req: Request) -> tuple[int, Any]:
            repo = self._repo(req)
            if req.user is not None and repo.private and \
                    str(req.user["login"]).lower() not in repo.roles:
                raise HttpError(404, "Not Found")  # GitHub hides it from non-members
            return 200, self._repo_json(req, repo)

        @route("GET", "/users/{owner}")
        def get_owner_user(req: Request) -> tuple[int, Any]:
            return 200, self._owner_json(req, "User")

        @route("GET", "/orgs/{owner}")
        def get_owner_org(req: Request) -> tuple[int, Any]:
            return 200, self._owner_json(req, "Organization")

        @route("GET", "/users/{owner}/repos")
        def user_repos(req: Request) -> tuple[int, Any]:
            return self._owner_repos(req, "User")

        @route("GET", "/orgs/{owner}/repos")
        def org_repos(req: Request) -> tuple[int, Any]:
            return self._owner_repos(req, "Organization")

        @route("GET", "/repos/{owner}/{repo}/issues/{number}/comments")
        def list_comments(req: Request) -> tuple[int, Any]:
            repo = self._repo(req)
            number = int(req.groups["number"])
            if number not in repo.pulls:
                raise HttpError(404, "Not Found")
            items = [self._public(c) for c in sorted(repo.comments.values(),
                                                      key=lambda c: c["id"])
                     if c["_issue"] == number]
            return 200, self._page(req, items)

        @route("POST", "/repos/{owner}/{repo}/issues/{number}/comments")
        def create_comment(req: Request) -> tuple[int, Any]:
            repo = self._repo(req)
            number = int(req.groups["number"])
            if number not in repo.pulls:
                raise HttpError(404, "Not Found")
            body = (req.body or {}).get("body")
            if not isinstance(body, str) or not body:
                raise HttpError(422, "Validation Failed", errors=[
                    {"resource": "IssueComment", "code": "missing_field", "field": "body"}])
            if len(body) > 65536:
                raise HttpError(422, "Validation Failed", errors=[
                    {"resource": "IssueComment", "code": "custom", "field": "body",
                     "message": "body is too long (maximum is 65536 characters)"}])
            comment = self._new_comment(repo, number, body, self._need_user(req), req.base)
            return 201, (self._public(comment), {"Location": comment["url"]})

        @route("GET", "/repos/{owner}/{repo}/issues/comments/{id}")
        def get_comment(req: Request) -> tuple[int, Any]:
            return 200, self._public(self._comment(req))

        @route("PATCH", "/repos/{owner}/{repo}/issues/comments/{id}")
        def edit_comment(req: Request) -> tuple[int, Any]:
            comment = self._comment(req)
            body = (req.body or {}).get("body")
            if not isinstance(body, str) or not body or len(body) > 65536:
                raise HttpError(422, "Validation Failed", errors=[
                    {"resource": "IssueComment", "code": "custom", "field": "body",
                     "message": "body is missing or too long (maximum is 65536 characters)"}])
            comment["body"] = body
            comment["updated_at"] = self._now()
            return 200, self._public(comment)

        @route("DELETE", "/repos/{owner}/{repo}/issues/comments/{id}")
        def delete_comment(req: Request) -> tuple[int, Any]:
            comment = self._comment(req)
            del self._repo(req).comments[comment["id"]]
            return 204, None

        @route("POST", "/repos/{owner}/{repo}/issues/comments/{id}/reactions")
        def create_reaction(req: Request) -> tuple[int, Any]:
            comment = self._comment(req)
            content = (req.body or {}).get("content")
            if content not in REACTIONS:
                raise HttpError(422, "Validation Failed", errors=[
                    {"resource": "Reaction", "code": "invalid", "field": "content"}])
            user = self._need_user(req)
            reactions = comment.setdefault("_reactions", [])
            for reaction in reactions:  # the same reaction twice: 200 and the first one
                if reaction["content"] == content and reaction["user"]["login"] == \
                        user["login"]:
                    return 200, reaction
            reaction = {"id": self._next_id(), "node_id": "REA_1", "user": dict(user),
                        "content": content, "created_at": self._now()}
            reactions.append(reaction)
            return 201, reaction

        @route("GET", "/repos/{owner}/{repo}/collaborators/{username}/permission")
        def get_permission(req: Request) -> tuple[int, Any]:
            repo = self._repo(req)
            login = req.groups["username"]
            role = repo.roles.get(login.lower())
            permission = _PERMISSION_OF[role] if role else "none"
            return 200, {"permission": permission, "role_name": role or "none",
                         "user": {"login": login, "id": sum(map(ord, login)), "type": "User",
                                  "permissions": {"admin": permission == "admin",
                                                  "push": permission in ("admin", "write"),
                                                  "pull": permission != "none"}}}

        @route("GET", "/repos/{owner}/{repo}/pulls")
        def list_pulls(req: Request) -> tuple[int, Any]:
            repo = self._repo(req)
            state = req.params.get("state", "open")
            if state not in ("open", "closed", "all"):
                raise HttpError(422, "Validation Failed", errors=[
                    {"resource": "Search", "field": "state", "code": "invalid"}])
            pulls = [self._pull_json(req, repo, p) for n, p in sorted(repo.pulls.items(),
                                                                       reverse=True)
                     if state == "all" or p["state"] == state]
            return 200, self._page(req, pulls)

        @route("GET", "/repos/{owner}/{repo}/pulls/{number}")
        def get_pull(req: Request) -> tuple[int, Any]:
            repo = self._repo(req)
            pull = repo.pulls.get(int(req.groups["number"]))
            if pull is None:
                raise HttpError(404, "Not Found")
            return 200, self._pull_json(req, repo, pull)

        @route("POST", "/repos/{owner}/{repo}/deployments")
        def create_deployment(req: Request) -> tuple[int, Any]:
            repo = self._repo(req)
            body = req.body or {}
            ref = body.get("ref")
            if not isinstance(ref, str) or not ref:
                raise HttpError(422, "Validation Failed", errors=[
                    {"resource": "Deployment", "code": "missing_field", "field": "ref"}])
            required = body.get("required_contexts")
            statuses = repo.commit_statuses.get(ref, {})
            # Omitted required_contexts means "every context must be success" (docs: Create a
            # deployment); [] skips the check.
            checked = statuses if required is None else {c: statuses.get(c, "missing")
                                                         for c in required}
            failing = [{"context": c, "state": s} for c, s in checked.items() if s != "success"]
            if failing:
                raise HttpError(409, f"Conflict: Commit status checks failed for {ref}.",
                                errors=[{"contexts": failing, "resource": "Deployment",
                                         "field": "required_contexts", "code": "invalid"}])
            for key in ("transient_environment", "production_environment", "auto_merge"):
                if key in body and not isinstance(body[key], bool):
                    raise HttpError(422, "Validation Failed", errors=[
                        {"resource": "Deployment", "code": "invalid", "field": key}])
            did = self._next_id()
            deployment = {"id": did, "node_id": f"DE_{did}", "sha": ref, "ref": ref,
                          "task": body.get("task", "deploy"), "payload": body.get("payload", {}),
                          "environment": body.get("environment", "production"),
                          "original_environment": body.get("environment", "production"),
                          "description": body.get("description"),
                          "transient_environment": body.get("transient_environment", False),
                          "production_environment": body.get(
                              "production_environment",
                              body.get("environment", "production") == "production"),
                          "creator": self._need_user(req), "created_at": self._now(),
                          "updated_at": self._now(), "_auto_merge": body.get("auto_merge", True),
                          "_required_contexts": required, "_statuses": []}
            repo.deployments[did] = deployment
            return 201, self._deployment_json(req, repo, deployment)

        @route("GET", "/repos/{owner}/{repo}/deployments")
        def list_deployments(req: Request) -> tuple[int, Any]:
            repo = self._repo(req)
            items = [self._deployment_json(req, repo, d)
                     for d in sorted(repo.deployments.values(), key=lambda d: -d["id"])
                     if all(req.params.get(k) in (None, d[k])
                            for k in ("sha", "ref", "task", "environment"))]
            return 200, self._page(req, items)

        @route("GET", "/repos/{owner}/{repo}/deployments/{id}")
        def get_deployment(req: Request) -> tuple[int, Any]:
            repo = self._repo(req)
            return 200, self._deployment_json(req, repo, self._deployment(req))

        @route("POST", "/repos/{owner}/{repo}/deployments/{id}/statuses")
        def create_status(req: Request) -> tuple[int, Any]:
            deployment = self._deployment(req)
            body = req.body or {}
            if body.get("state") not in DEPLOYMENT_STATES:
                raise HttpError(422, "Validation Failed", errors=[
                    {"resource": "DeploymentStatus", "code": "custom", "field": "state",
                     "message": "state is not included in the list"}])
            sid = self._next_id()
            status = {"id": sid, "state": body["state"],
                      "description": body.get("description", ""),
                      "environment": body.get("environment", deployment["environment"]),
                      "environment_url": body.get("environment_url", ""),
                      "log_url": body.get("log_url", body.get("target_url", "")),
                      "target_url": body.get("log_url", body.get("target_url", "")),
                      "creator": self._need_user(req), "created_at": self._now(),
                      "url": f"{req.base}{req.path}/{sid}"}
            deployment["_statuses"].append(status)
            return 201, status

        @route("GET", "/repos/{owner}/{repo}/deployments/{id}/statuses")
        def list_statuses(req: Request) -> tuple[int, Any]:
            deployment = self._deployment(req)
            return 200, self._page(req, list(reversed(deployment["_statuses"])))

    def _comment(self, req: Request) -> dict[str, Any]:
        comment = self._repo(req).comments.get(int(req.groups["id"]))
        if comment is None:
            raise HttpError(404, "Not Found")
        return comment

    def _deployment(self, req: Request) -> dict[str, Any]:
        deployment = self._repo(req).deployments.get(int(req.groups["id"]))
        if deployment is None:
            raise HttpError(404, "Not Found")
        return deployment

    def _repo_json(self, req: Request, repo: Repo) -> dict[str, Any]:
        extra: dict[str, Any] = {}
        if req.user is not None:
            # A user's own role, as `permissions` flags; anyone may read a public one.
            role = repo.roles.get(str(req.user["login"]).lower())
            rank = ROLES.index(role) if role else (0 if not repo.private else -1)
            extra["permissions"] = {flag: rank >= ROLES.index(least)
                                    for flag, least in _ROLE_FLAGS}
        return {**extra, "id": repo.id, "name": repo.name, "full_name": repo.full_name,
                "owner": {"login": repo.owner, "type": repo.owner_type},
                "private": repo.private, "default_branch": "main",
                "url": f"{req.base}/repos/{repo.full_name}",
                "html_url": f"https://github.example/{repo.full_name}"}

    def _owner_json(self, req: Request, owner_type: str) -> dict[str, Any]:
        owner = req.groups["owner"]
        known = {r.owner.lower(): r.owner_type for r in self.repos.values()}
        users = {t["login"].lower() for t in self.tokens.values() if t}
        # /users/{login} also answers for organizations (type "Organization"), like GitHub.
        kind = known.get(owner.lower()) or ("User" if owner.lower() in users else None)
        if kind is None or (owner_type == "Organization" and kind != "Organization"):
            raise HttpError(404, "Not Found")
        path = "orgs" if kind == "Organization" else "users"
        return {"login": owner, "id": sum(map(ord, owner)), "type": kind,
                "url": f"{req.base}/{path}/{owner}",
                "repos_url": f"{req.base}/{path}/{owner}/repos"}

    def _owner_repos(self, req: Request, owner_type: str) -> tuple[int, Any]:
        owner = req.groups["owner"].lower()
        repos = [r for r in self.repos.values() if r.owner.lower() == owner]
        if not repos or repos[0].owner_type != owner_type:
            raise HttpError(404, "Not Found")
        return 200, self._page(req, [self._repo_json(req, r)
                                     for r in sorted(repos, key=lambda r: r.name)])

    def _pull_json(self, req: Request, repo: Repo, pull: dict[str, Any]) -> dict[str, Any]:
        n = pull["number"]
        return {**pull, "id": 500000 + n, "url": f"{req.base}/repos/{repo.full_name}/pulls/{n}",
                "html_url": f"https://github.example/{repo.full_name}/pull/{n}"}

