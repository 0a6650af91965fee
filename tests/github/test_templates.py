"""The comment's text: untrusted text stays inert, the size limit holds, each state says it."""

from __future__ import annotations

import datetime as dt
import html
import re
from dataclasses import replace

from jinja2.sandbox import SandboxedEnvironment

from preview.github import markdown, render
from preview.github.comments import marker
from preview.github.render import COMMENT_LIMIT, CommentInput, render_comment
from preview.results import Diagnostics, PodProblem
from tests.github.conftest import PR, REPO, Env, failed_result, ready_result

MARKER = marker(REPO, 12)
EVIL_BRANCH = "`</details><img src=x onerror=alert(1)>` @everyone"


def body(state: str, pr: PR | None = None, **kw: object) -> str:
    return render_comment(CommentInput(MARKER, state, pr or PR(), Env(), **kw))  # type: ignore[arg-type]


def outside_code_blocks(text: str) -> str:
    """The Markdown that GitHub parses: fenced blocks removed (honouring fence length)."""
    out, fence = [], None
    for line in text.splitlines():
        m = re.match(r"^(`{3,})", line)
        if fence is None and m:
            fence = m.group(1)
        elif fence is not None and line.strip() == fence:
            fence = None
        elif fence is None:
            out.append(line)
    assert fence is None, "a code block was left open"
    return "\n".join(out)


def mentions(parsed: str) -> list[str]:
    """What GitHub would link as @mentions or #references: it decodes entities first."""
    return re.findall(r"(?<![\w`])[@#][A-Za-z0-9]", html.unescape(parsed))


def test_a_hostile_branch_name_shows_inert() -> None:
    pr = PR(branch=EVIL_BRANCH, title="<script>x</script> @octo/admins", author="@mallory")
    for state in ("building", "ready", "failed", "torn_down"):
        result = failed_result() if state == "failed" else ready_result()
        text = body(state, pr, result=result)
        parsed = outside_code_blocks(text)
        assert "<img" not in parsed and "<script" not in parsed
        assert mentions(parsed) == []
        assert parsed.count("<details>") == parsed.count("</details>")
        assert "`" not in parsed.replace("<code>", "")  # no code span the branch could open
        assert "&#96;&#60;/details&#62;&#60;img src=x onerror=alert&#40;1&#41;&#62;&#96; " \
               "&#64;&#8203;everyone" in text


def test_logs_cannot_close_their_code_block() -> None:
    logs = ("ok", "```", "</details>", "````` @everyone <img src=x>", "\x1b[31mred\x1b[0m")
    text = body("failed", result=failed_result(logs=logs))
    parsed = outside_code_blocks(text)
    assert mentions(parsed) == [] and "<img" not in parsed
    assert "``````text" in text  # fence longer than the longest backtick run inside
    assert "\x1b" not in text and "red" in text


def test_event_messages_and_reasons_are_inert() -> None:
    diagnostics = Diagnostics(summary="1 pod failing @team, see #1", helm_status="", pods=(PodProblem(
        pod="app-1", container="app", reason="<b>Crash</b>", message="see [here](http://evil)",
        events=("</details>@everyone",), logs=()),))
    parsed = outside_code_blocks(body("failed", result=replace(failed_result(),
                                                               diagnostics=diagnostics)))
    assert "<b>Crash" not in parsed and "](http://evil)" not in parsed
    assert mentions(parsed) == []


def test_huge_logs_are_cut_to_fit_with_a_note() -> None:
    pods = tuple(PodProblem(pod=f"app-{i}", container="app", reason="CrashLoopBackOff",
                            message="back-off restarting", events=("Back-off",) * 200,
                            logs=tuple(f"pod {i} line {n} " + "x" * 300 for n in range(5000)))
                 for i in range(8))
    result = replace(failed_result(), diagnostics=Diagnostics(
        summary="8 pods failing", pods=pods, helm_status="STATUS: failed\n" * 5000))

    text = body("failed", result=result)

    assert len(text) <= COMMENT_LIMIT
    assert "65,536-character comment limit" in text
    assert "<code>app-0</code>" in text
    assert "pod 0 line 4999" in text  # the tail is what is kept
    outside_code_blocks(text)  # and every block is closed


def test_even_a_giant_summary_fits() -> None:
    result = replace(failed_result(), diagnostics=Diagnostics(
        summary="<" * 200_000, pods=(), helm_status=""))
    assert len(body("failed", result=result)) <= COMMENT_LIMIT


def test_each_state_says_what_matters() -> None:
    building = body("building")
    assert building.splitlines()[0] == MARKER
    assert "being built" in building and PR().run_url in building

    ready = body("ready", result=ready_result())
    assert "[https&#58;//pr-12-app&#46;preview&#46;example&#46;com]" \
           "(https://pr-12-app.preview.example.com)" in ready
    assert "0123456" in ready and "feature/login" in ready
    assert "| vcluster | 21.5 |" in ready and "34.8 s" in ready
    assert "preview kubeconfig --repo octo/app --pr 12" in ready
    assert "Tue 08 Dec, 07&#58;00 UTC" in ready  # the expiry, as a date

    assert "was removed" in body("torn_down")
    assert "are gone (3.5 s)" in body("torn_down", removed_in=3.5)


def test_templates_render_in_a_sandbox() -> None:
    assert isinstance(render._environment(), SandboxedEnvironment)


def test_link_targets_are_http_only() -> None:
    assert markdown.url("javascript:alert(1)") == ""
    assert markdown.url("https://a.example/x y)") == "https://a.example/x%20y%29"


def test_the_limit_counts_utf16_units_like_github() -> None:
    logs = tuple("😀" * 200 for _ in range(2000))  # 2 UTF-16 units each
    text = body("failed", result=failed_result(logs=logs))
    assert render.length(text) <= COMMENT_LIMIT
    assert render.length("😀a") == 3


def test_expiry_reads_as_a_person_says_it() -> None:
    now = dt.datetime(2026, 12, 6, 1, 4, tzinfo=dt.UTC)
    assert render.expiry("2026-12-13T01:04:00Z", now) == "in 7 days (Sun 13 Dec, 01:04 UTC)"
    assert render.expiry("2026-12-07T13:04:00Z", now) == "in 36 hours (Mon 07 Dec, 13:04 UTC)"
    assert render.expiry("2026-12-06T01:24:30Z", now) == "in 20 minutes (Sun 06 Dec, 01:24 UTC)"
    assert render.expiry("2026-12-06T01:04:20Z", now) == "in 1 minute (Sun 06 Dec, 01:04 UTC)"
    assert render.expiry("2026-12-05T00:00:00Z", now) == "expired (Sat 05 Dec, 00:00 UTC)"
    assert render.expiry("2026-12-13T01:04:00Z", None) == "Sun 13 Dec, 01:04 UTC"
    assert render.expiry("soon", now) == "soon"
    ready = body("ready", result=ready_result(), now=now)
    assert markdown.inline("in 2 days (Tue 08 Dec, 07:00 UTC)") + " — each push extends it; " \
           "the label <code>preview:keep</code> keeps it" in ready
    failed = body("failed", result=failed_result(), now=now)
    assert "left up for inspection; it expires in 2 days" in failed
    assert "preview kubeconfig --repo octo/app --pr 12" in failed  # the hint stays


def test_a_removal_says_why() -> None:
    assert "Removed because the pull request was merged." in body(
        "torn_down", removed_because="the pull request was merged")
    assert "Removed because" not in body("torn_down")


def test_the_commit_is_a_link_on_the_runs_github() -> None:
    sha = PR().head_sha
    link = f"[0123456](https://github.example/octo/app/commit/{sha})"
    for state, kw in (("building", {}), ("ready", {"result": ready_result()}),
                      ("failed", {"result": failed_result()}), ("torn_down", {})):
        assert link in body(state, **kw), state
    # Without a run link (a workstation): github.com; a run of another repository: not its host.
    assert render.commit_url("octo/app", sha, "") == f"https://github.com/octo/app/commit/{sha}"
    assert render.commit_url("octo/app", sha, "https://ghe.example/x/y/actions/runs/1") == \
        f"https://github.com/octo/app/commit/{sha}"
    assert render.commit_url("octo/app", "", "") == ""
    assert "[" not in body("building", pr=replace(PR(), head_sha="", run_url="")).split(
        "Commit", 1)[1].splitlines()[0]


def test_every_ingress_host_is_a_line_under_the_configured_url() -> None:
    others = ("https://api.pr-12.preview.example.com", "javascript:alert(1)")
    ready = body("ready", result=replace(ready_result(), other_urls=others))
    lines = ready.splitlines()
    first = lines.index("**[https&#58;//pr-12-app&#46;preview&#46;example&#46;com]"
                        "(https://pr-12-app.preview.example.com)**")
    assert lines[first + 2:first + 5] == [
        "Also served here:",
        "- [https&#58;//api&#46;pr-12&#46;preview&#46;example&#46;com]"
        "(https://api.pr-12.preview.example.com)",
        "- javascript&#58;alert&#40;1&#41;"]  # no link: http(s) only
    assert "Also served here" not in body("ready", result=ready_result())


def test_a_comment_without_a_known_branch_shows_no_empty_code_span() -> None:
    # Comments written from a namespace's record (sleep, wake, the GC) know no branch.
    for state in ("building", "ready", "failed", "torn_down"):
        result = failed_result() if state == "failed" else ready_result()
        assert "<code>feature/login</code>" in body(state, result=result)
        text = body(state, replace(PR(), branch=""), result=result)
        assert "<code></code>" not in text and "0123456" in text, (state, text)
