"""What `up`, `down` and `list` print for people (pure): the result, the failure's
diagnostics, the expiry. `-o json` prints the result objects themselves."""

from __future__ import annotations

from typing import Any

from preview import render


def up_text(result: Any, repo: str) -> str:
    """What `preview up` prints for people (pure)."""
    total = sum(result.phases.values())
    phases = ", ".join(f"{name} {seconds:.1f}s" for name, seconds in result.phases.items())
    if result.status == "ready":
        head = f"environment {result.environment} of {repo} is ready ({total:.1f}s)"
    else:
        head = (f"environment {result.environment} of {repo} FAILED to deploy; it is left in "
                "place for inspection")
    lines = [head,
             f"  url:        {result.url}",
             f"  namespace:  {result.namespace} (virtual cluster {result.vcluster})",
             f"  commit:     {result.head_sha}",
             f"  expires:    {result.expires_at}",
             f"  phases:     {phases}",
             f"  kubectl:    {result.kubeconfig_hint}"]
    if result.waited_for:
        lines.append(f"  waited for: {result.waited_for} (another run of this environment)")
    if result.diagnostics is not None:
        lines += ["", diagnostics_text(result.diagnostics)]
    return "\n".join(lines)


def diagnostics_text(diagnostics: Any) -> str:
    """The failure summary (pure). preview.deploy writes it for people: the failing pods,
    their reasons, events and last log lines, helm's status; the same data is structured in
    `-o json`. Without a summary, the pods are listed here."""
    if diagnostics.summary.strip():
        return str(diagnostics.summary).strip()
    lines = []
    for pod in diagnostics.pods:
        container = f" container {pod.container}" if pod.container else ""
        lines.append(f"pod {pod.pod}{container}: {pod.reason}"
                     + (f" — {pod.message}" if pod.message else ""))
        lines += [f"  event: {event}" for event in pod.events[-5:]]
        lines += [f"  log: {line}" for line in pod.logs[-10:]]
    if diagnostics.helm_status:
        lines.append(f"helm: {diagnostics.helm_status.strip()}")
    return "\n".join(lines)


def down_text(result: Any) -> str:
    """What `preview down` prints for people (pure)."""
    waited = f"; waited for {result.waited_for} first" if result.waited_for else ""
    if result.existed:
        return (f"environment {result.environment} ({result.namespace}) is gone "
                f"({result.seconds:.1f}s){waited}")
    return f"environment {result.environment} does not exist: nothing to tear down{waited}"


def expires(seconds: int | None) -> str:
    """An expiry as `preview list` shows it: "in 2d", "3h ago", "-"."""
    if seconds is None:
        return "-"
    if seconds <= 0:
        return f"{render.age(-seconds)} ago"
    return f"in {render.age(seconds)}"

