"""The other end of `preview serve`: what `preview up --api`/`down --api` (and so the action in
API mode) send, with the job's GitHub Actions OIDC ID token as the login.

The token comes from the runner (`ACTIONS_ID_TOKEN_REQUEST_URL` and `_TOKEN`, present only
when the workflow grants `permissions: id-token: write`); it is short-lived and never
printed. Progress lines stream back as NDJSON and are handed to `progress` as they come.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp

from preview import config_files, policy, results
from preview.config import PreviewConfig
from preview.errors import BadInput, PreviewError
from preview.naming import Environment
from preview.pullrequest import PullRequest
from preview.results import DownResult, UpResult
from preview.serve import bundle

TIMEOUT = aiohttp.ClientTimeout(total=None, sock_connect=30, sock_read=900)


async def id_token(environ: Mapping[str, str], audience: str) -> str:
    """The job's OIDC ID token for `audience`, from the Actions runtime."""
    url, bearer = (environ.get("ACTIONS_ID_TOKEN_REQUEST_URL", ""),
                   environ.get("ACTIONS_ID_TOKEN_REQUEST_TOKEN", ""))
    if not url or not bearer:
        raise BadInput("no GitHub Actions OIDC token: ACTIONS_ID_TOKEN_REQUEST_URL is not set",
                       "grant the job `permissions: id-token: write` (API mode logs in with "
                       "the job's OIDC token; docs/platform.md)")
    separator = "&" if "?" in url else "?"
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session, \
            session.get(f"{url}{separator}audience={quote(audience)}",
                        headers={"Authorization": f"Bearer {bearer}"}) as response:
        if response.status != 200:
            raise PreviewError(f"the Actions runtime refused an OIDC token: HTTP "
                               f"{response.status}",
                               "check the job's `permissions: id-token: write`")
        body = await response.json()
    token = body.get("value") if isinstance(body, dict) else None
    if not isinstance(token, str) or not token:
        raise PreviewError("the Actions runtime answered without a token")
    return token


@dataclass(frozen=True)
class Api:
    """`preview serve` at `url`, logged in with `token`."""

    url: str
    token: str
    ca_file: str | None = None  # a private CA the API's certificate comes from

    def _path(self, repo: str, pr: int) -> str:
        owner, name = repo.split("/", 1)
        return f"{self.url.rstrip('/')}/v1/environments/{quote(owner)}/{quote(name)}/{pr}"

    async def create(self, repo: str, pr: int, bundle: bytes, query: Mapping[str, str],
                     progress: Callable[[str], None]) -> dict[str, Any]:
        """PUT the bundle; the result's JSON (an UpResult)."""
        return await self._stream("PUT", self._path(repo, pr), progress, data=bundle,
                                  params=dict(query),
                                  headers={"Content-Type": "application/gzip"})

    async def delete(self, repo: str, pr: int,
                     progress: Callable[[str], None]) -> dict[str, Any]:
        """DELETE the environment; the result's JSON (a DownResult)."""
        return await self._stream("DELETE", self._path(repo, pr), progress)

    async def kubeconfig(self, repo: str, pr: int) -> dict[str, Any]:
        """A developer's kubeconfig: `token` is the developer's GitHub token here. The
        answer's JSON: kubeconfig, expiresAt, serviceAccount, clusterRole, login, server."""
        import ssl

        context = ssl.create_default_context(cafile=self.ca_file) if self.ca_file else None
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=300)) as session:
            try:
                async with session.post(self._path(repo, pr) + "/kubeconfig",
                                        headers={"Authorization": f"Bearer {self.token}"},
                                        ssl=context or True) as response:
                    text = await response.text()
                    if response.status != 200:
                        raise _refusal(response.status, text, developer=True)
            except aiohttp.ClientConnectionError as e:
                raise PreviewError(f"cannot reach the preview API at {self.url}: {e}",
                                   "check --api and that preview serve runs "
                                   "(docs/platform.md)") from e
        body: dict[str, Any] = json.loads(text)
        return body

    async def _stream(self, method: str, url: str, progress: Callable[[str], None],
                      **kwargs: Any) -> dict[str, Any]:
        import ssl

        context = ssl.create_default_context(cafile=self.ca_file) if self.ca_file else None
        headers = {"Authorization": f"Bearer {self.token}", **kwargs.pop("headers", {})}
        async with aiohttp.ClientSession(timeout=TIMEOUT) as session:
            try:
                async with session.request(method, url, headers=headers, ssl=context or True,
                                           **kwargs) as response:
                    if response.status != 200:
                        raise _refusal(response.status, await response.text())
                    return await _result(response, progress)
            except aiohttp.ClientConnectionError as e:
                raise PreviewError(f"cannot reach the preview API at {self.url}: {e}",
                                   "check the api-url input and that preview serve runs "
                                   "(docs/platform.md)") from e


async def _result(response: aiohttp.ClientResponse,
                  progress: Callable[[str], None]) -> dict[str, Any]:
    async for raw in response.content:
        line = raw.decode(errors="replace").strip()
        if not line:
            continue
        item = json.loads(line)
        if "progress" in item:
            progress(str(item["progress"]))
        elif "result" in item:
            result: dict[str, Any] = item["result"]
            return result
        elif "error" in item:
            error = item["error"]
            kind = BadInput if error.get("bad_input") else PreviewError
            raise kind(str(error.get("message")), error.get("hint"))
    raise PreviewError("the preview API ended the answer without a result",
                       "see the API's log (the operation may still be running)")


def _refusal(status: int, text: str, developer: bool = False) -> PreviewError:
    try:
        body = json.loads(text)
        reason, hint = str(body.get("error", text)), body.get("hint")
    except ValueError:
        reason, hint = text.strip()[:500], None
    if status in (400, 413):
        return BadInput(f"the preview API refused the request ({status}): {reason}", hint)
    if status in (401, 403) and developer:
        return BadInput(f"the preview API refused the login ({status}): {reason}",
                        "log in with your own GitHub token (--github-token, $GITHUB_TOKEN or "
                        "`gh auth login`); the platform policy names the role on the "
                        "repository that gets a kubeconfig (docs/platform.md)")
    if status in (401, 403):
        return BadInput(f"the preview API refused the login ({status}): {reason}",
                        hint or "the platform policy decides which repositories may preview "
                                "(docs/platform.md)")
    if status == 404:
        return BadInput(f"the preview API found nothing ({status}): {reason}", hint)
    return PreviewError(f"the preview API answered {status}: {reason}", hint)


async def remote_up(api: Api, pr: PullRequest, loaded: PreviewConfig,
                    progress: Callable[[str], None]) -> UpResult:
    """`preview up` through the API: the checkout's files for `loaded` uploaded, the
    environment built there, its progress streamed here."""
    if loaded.source is None:
        raise BadInput("API mode needs a preview.yaml", "pass --config PATH")
    root = config_files.repository_root(loaded.source.parent)
    data = bundle.pack(root, bundle.files_of(loaded))
    progress(f"uploading {len(data)} bytes of {pr.full_name} to {api.url}")
    query = {"sha": pr.head_sha, "branch": pr.branch, "author": pr.author, "title": pr.title,
             "config": loaded.source.resolve().relative_to(root).as_posix(),
             "run_url": pr.run_url}
    result = results.up_result(await api.create(pr.full_name, pr.number, data, query, progress))
    # The developer gets a kubeconfig from the API too: they hold no host credential.
    return dataclasses.replace(result, kubeconfig_hint=api_hint(api.url, pr.full_name,
                                                                pr.number))


def api_hint(url: str, repo: str, number: int) -> str:
    """The command that gives a developer a kubeconfig through the API (pure)."""
    return (f"preview kubeconfig --api {url} --repo {repo} --pr {number} --file "
            f"pr-{number}.kubeconfig")


async def remote_down(api: Api, repo: str, number: int,
                      progress: Callable[[str], None]) -> DownResult:
    """`preview down` through the API."""
    return results.down_result(await api.delete(repo, number, progress))


@dataclass(frozen=True)
class ApiBackend:
    """The platform's API as where `preview up`/`down` build environments
    (`preview.operations.run.Backend`): the API holds the environment's Lease itself, under
    its own platform policy (the local `rules` are not sent)."""

    api: Api

    async def up(self, pr: PullRequest, env: Environment, loaded: PreviewConfig,
                 rules: policy.Policy, progress: Callable[[str], None],
                 on_locked: Callable[[], None],
                 phase_started: Callable[[str], None] | None) -> UpResult:
        on_locked()  # the API serializes runs of one environment with the same Lease
        return await remote_up(self.api, pr, loaded, progress)

    async def down(self, env: Environment, progress: Callable[[str], None], timeout: float,
                   wait: bool) -> DownResult:
        return await remote_down(self.api, env.full_name, env.pr, progress)
