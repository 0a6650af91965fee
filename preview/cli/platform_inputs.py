"""The action's platform inputs: the host kubeconfig and the policy, checked before any run.

They are the platform team's configuration, not the pull request's: when they are wrong,
the pull request's author can do nothing about it. So a problem here is `Misconfigured`
(exit 2): the run log says what is wrong, naming the input (never a temporary file's path,
never the secret's content), and the comment on the pull request says only that the preview
system is misconfigured and that the platform team has been told in the run log.

A kubeconfig stored base64-encoded (a common way to keep it in a secret) is recognised and
decoded; one that looks encoded but does not decode to a kubeconfig is refused with that
hint.
"""

from __future__ import annotations

import base64
import binascii
import re
from pathlib import Path

import yaml

from preview.errors import BadInput, PreviewError

_BASE64 = re.compile(r"[A-Za-z0-9+/=_-]+")
KUBECONFIG_HINT = ("store the kubeconfig file's content in the secret (or `base64 -w0` of "
                   "it), e.g. kubeconfig: ${{ secrets.PREVIEW_KUBECONFIG }}")


class Misconfigured(BadInput):
    """The platform's configuration (the kubeconfig or policy input) is wrong."""


def looks_base64(text: str) -> bool:
    """Whether an input is base64 rather than YAML (pure): one token of the base64 alphabet
    (line breaks allowed, as `base64` wraps), no `:` as every kubeconfig has."""
    joined = "".join(text.split())
    return len(joined) >= 16 and bool(_BASE64.fullmatch(joined))


def kubeconfig(value: str) -> str:
    """The kubeconfig input as YAML: decoded when it is base64, and checked to be a
    kubeconfig with a current context (pure; Misconfigured naming the input otherwise).
    An empty input is returned as it is (no kubeconfig: API mode, or a fork's run)."""
    if not value.strip():
        return value
    text = value
    if looks_base64(value):
        joined = "".join(value.split())
        try:
            text = base64.b64decode(joined + "=" * (-len(joined) % 4),
                                    altchars=b"-_" if "-" in joined or "_" in joined
                                    else None, validate=True).decode("utf-8")
        except (binascii.Error, ValueError) as e:
            raise Misconfigured("input kubeconfig: it looks base64-encoded but does not "
                                "decode to text", KUBECONFIG_HINT) from e
        try:
            check_kubeconfig(text)
        except Misconfigured as e:
            why = e.message.removeprefix("input kubeconfig: ")
            raise Misconfigured("input kubeconfig: it is base64-encoded but what it encodes "
                                f"is not a kubeconfig ({why})", KUBECONFIG_HINT) from None
        return text
    check_kubeconfig(text)
    return text


def check_kubeconfig(text: str) -> None:
    """Misconfigured unless `text` is a kubeconfig whose current context exists (pure).
    The messages name fields, never values: the input is a secret."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as e:
        where = getattr(e, "problem_mark", None)
        line = f" (line {where.line + 1})" if where is not None else ""
        raise Misconfigured(f"input kubeconfig: not valid YAML{line}", KUBECONFIG_HINT) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("clusters"), list):
        raise Misconfigured("input kubeconfig: not a kubeconfig (no clusters list)",
                            KUBECONFIG_HINT)
    contexts = [c.get("name") for c in doc.get("contexts") or [] if isinstance(c, dict)]
    current = doc.get("current-context")
    if not current:
        raise Misconfigured("input kubeconfig: it has no current-context",
                            "set current-context in the kubeconfig kept in the secret "
                            "(kubectl config use-context NAME --kubeconfig FILE)")
    if current not in contexts:
        raise Misconfigured("input kubeconfig: its current-context is not one of its "
                            "contexts", "fix current-context in the kubeconfig kept in the "
                            "secret")


def check_policy(path: Path, shown_as: str) -> None:
    """Misconfigured when the platform policy at `path` does not load; its message names
    `shown_as` (the input) instead of the temporary file it was written to."""
    from preview import policy

    try:
        policy.load(path)
    except PreviewError as e:
        def named(text: str | None) -> str | None:
            return text.replace(str(path), shown_as) if text is not None else None
        raise Misconfigured(named(e.message) or "", named(e.hint)) from None
