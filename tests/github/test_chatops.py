"""preview/github/chatops.py over HTTP against the fake: the pull request, the commenter's
permission as GitHub answers it, the reaction (once) and the reply."""

from __future__ import annotations

import responses

from preview.github.chatops import ChatOps
from preview.github.client import GitHub, RetryPolicy
from tests.fakegithub import FakeGitHub
from tests.github.conftest import ACTIONS_TOKEN, PR_NUMBER, REPO, SHA

PERMISSION = "GET /repos/{owner}/{repo}/collaborators/{username}/permission"


def chat(fake: FakeGitHub) -> ChatOps:
    return ChatOps(GitHub(ACTIONS_TOKEN, fake.url, RetryPolicy(sleep=lambda s: None),
                          pace_writes=False), REPO)


def test_the_pull_request_and_the_commenters_permission(fake: FakeGitHub) -> None:
    fake.set_permission(REPO, "bob", "write")
    ops = chat(fake)
    assert ops.pull(PR_NUMBER)["head"]["sha"] == SHA
    assert ops.permission("bob") == "write"
    assert ops.permission("mallory") == "none"  # no access to the repository
    assert fake.count(PERMISSION) == 2


def test_a_reaction_twice_is_one_reaction_and_a_reply_is_a_comment(fake: FakeGitHub) -> None:
    comment = fake.add_comment(REPO, PR_NUMBER, "/preview", "bob")
    ops = chat(fake)
    ops.react(PR_NUMBER, comment["id"])
    ops.react(PR_NUMBER, comment["id"])
    assert [r["content"] for r in fake.reactions(REPO, comment["id"])] == ["rocket"]
    ops.reply(PR_NUMBER, "@mallory `/preview` needs write permission")
    assert [c["body"] for c in fake.comments(REPO, PR_NUMBER)][-1].startswith("@mallory")


@responses.activate
def test_a_user_github_does_not_know_has_no_permission() -> None:
    api = "https://api.github.com"
    responses.get(f"{api}/repos/{REPO}/collaborators/ghost/permission", status=404,
                  json={"message": "Not Found"})
    ops = ChatOps(GitHub(ACTIONS_TOKEN, api, pace_writes=False), REPO)
    assert ops.permission("ghost") == "none"
    assert len(responses.calls) == 1
