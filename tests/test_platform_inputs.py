"""preview/cli/platform_inputs.py: the kubeconfig and policy inputs, checked before any run."""

from __future__ import annotations

import base64
import textwrap
from pathlib import Path

import pytest

from preview.cli.platform_inputs import Misconfigured, check_policy, kubeconfig, looks_base64

SECRET = "s3cr3t-token-value"
KUBECONFIG = textwrap.dedent(f"""\
    apiVersion: v1
    kind: Config
    clusters: [{{name: c, cluster: {{server: "https://k8s.example.com"}}}}]
    users: [{{name: u, user: {{token: {SECRET}}}}}]
    contexts: [{{name: c, context: {{cluster: c, user: u}}}}]
    current-context: c
    """)


def test_a_kubeconfig_passes_as_it_is() -> None:
    assert kubeconfig(KUBECONFIG) == KUBECONFIG
    assert kubeconfig("") == "" and kubeconfig("  \n") == "  \n"  # API mode, a fork's run


@pytest.mark.parametrize("encode", [
    lambda b: base64.b64encode(b).decode(),
    lambda b: base64.encodebytes(b).decode(),  # `base64` wraps at 76 columns
    lambda b: base64.b64encode(b).decode().rstrip("="),
    lambda b: base64.urlsafe_b64encode(b).decode(),
])
def test_a_base64_kubeconfig_is_recognised_and_decoded(encode: object) -> None:
    value = encode(KUBECONFIG.encode())  # type: ignore[operator]
    assert looks_base64(value) and not looks_base64(KUBECONFIG)
    assert kubeconfig(value) == KUBECONFIG


@pytest.mark.parametrize(("value", "words"), [
    ("bm90IGEga3ViZWNvbmZpZw@@@", "not a kubeconfig"),  # not base64, not YAML of one
    ("QUJDREVGR0hJSktMTU5PUFFSU1RVVldY", "what it encodes is not a kubeconfig"),
    (base64.b64encode(b"\xff\xfe" * 20).decode(), "does not decode to text"),
    ("clusters: [unclosed", "not valid YAML (line 1)"),
    ("just some text: here", "not a kubeconfig (no clusters list)"),
    (KUBECONFIG.replace("current-context: c\n", ""), "has no current-context"),
    (KUBECONFIG.replace("current-context: c", "current-context: prod"),
     "current-context is not one of its contexts"),
])
def test_what_is_not_a_kubeconfig_is_the_platforms_configuration(value: str,
                                                                 words: str) -> None:
    with pytest.raises(Misconfigured, match="input kubeconfig") as caught:
        kubeconfig(value)
    assert words in caught.value.message
    assert caught.value.hint and caught.value.exit_code == 2
    assert SECRET not in str(caught.value) and "prod" not in str(caught.value)


def test_a_policy_problem_names_the_input_not_the_temporary_file(tmp_path: Path) -> None:
    path = tmp_path / "preview-policy-x1y2.yaml"
    path.write_text("caps: {ttl: forever}\n")
    with pytest.raises(Misconfigured) as caught:
        check_policy(path, "input policy")
    assert "input policy" in caught.value.message and str(path) not in str(caught.value)
    assert "preview-policy-" not in str(caught.value)
    path.write_text("caps: {ttl: 3d}\n")
    check_policy(path, "input policy")
