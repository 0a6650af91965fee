"""What a simulated container does, read from its spec: the sandbox's failure injection.

- an image containing `does-not-exist` cannot be pulled: `ErrImagePull`, then
  `ImagePullBackOff` (the pod stays Pending, never Ready);
- `exit N` in command/args: the container exits with code N (after `sleep S`, if also given);
- `sleep N` runs N seconds then exits 0; `sleep infinity` runs forever;
- otherwise a container runs forever, except under restartPolicy Never/OnFailure (Job
  pods) and in init containers, where it runs a moment and completes with exit code 0.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from preview.sandbox.kubelet.timings import KubeletTimings

MISSING_IMAGE = "does-not-exist"
_EXIT = re.compile(r"\bexit\s+(\d+)\b")
_SLEEP = re.compile(r"\bsleep\s+(infinity|\d+(?:\.\d+)?)\b")


@dataclass(frozen=True)
class Behaviour:
    pull_fails: bool
    run_for: float | None  # seconds until the process exits; None: runs until stopped
    exit_code: int


def behaviour(container: dict[str, Any], restart_policy: str, init: bool,
              timings: KubeletTimings) -> Behaviour:
    words = " ".join(str(w) for w in (container.get("command") or []) +
                     (container.get("args") or []))
    exit_match, sleep_match = _EXIT.search(words), _SLEEP.search(words)
    run_for: float | None
    if sleep_match:
        run_for = None if sleep_match.group(1) == "infinity" else float(sleep_match.group(1))
    elif exit_match:
        run_for = timings.crash_run
    elif init and container.get("restartPolicy") != "Always":
        run_for = timings.init_run
    elif restart_policy in ("Never", "OnFailure") and not init:
        run_for = timings.job_run
    else:
        run_for = None
    code = int(exit_match.group(1)) if exit_match else 0
    return Behaviour(MISSING_IMAGE in container.get("image", ""), run_for, code)


def pre_stop_seconds(container: dict[str, Any]) -> float:
    """How long the container's preStop hook runs: a `sleep` action, or `sleep N` in an
    exec command (the common "let the load balancer catch up" hook); 0 without one."""
    hook = ((container.get("lifecycle") or {}).get("preStop")) or {}
    if "sleep" in hook:
        return float((hook.get("sleep") or {}).get("seconds") or 0)
    words = " ".join(str(w) for w in ((hook.get("exec") or {}).get("command") or []))
    match = _SLEEP.search(words)
    if match is None or match.group(1) == "infinity":
        return 0.0 if match is None else float("inf")
    return float(match.group(1))


def normalize_image(image: str) -> str:
    """The reference containerd reports: `nginx` is `docker.io/library/nginx:latest`."""
    name, _, digest = image.partition("@")
    first = name.split("/")[0]
    if "/" not in name:
        name = f"docker.io/library/{name}"
    elif "." not in first and ":" not in first and first != "localhost":
        name = f"docker.io/{name}"
    if digest:
        return f"{name}@{digest}"
    if ":" not in name.rsplit("/", 1)[-1]:
        name += ":latest"
    return name


def image_id(image: str) -> str:
    """A stable repo digest for an image, as `imageID` shows it."""
    ref = normalize_image(image)
    if "@" in ref:
        return ref
    repo = ref.rsplit(":", 1)[0]
    return f"{repo}@sha256:{hashlib.sha256(ref.encode()).hexdigest()}"


def always_pull(container: dict[str, Any]) -> bool:
    """The API server's default pull policy: Always for `:latest` or untagged images."""
    policy = container.get("imagePullPolicy")
    if policy:
        return bool(policy == "Always")
    ref = normalize_image(container.get("image", ""))
    return "@" not in ref and ref.endswith(":latest")


def pull_error(image: str) -> str:
    """containerd's message for a repository that does not exist (as kubelet events show it)."""
    ref = normalize_image(image)
    return (f'failed to pull and unpack image "{ref}": failed to resolve reference "{ref}": '
            "pull access denied, repository does not exist or may require authorization: "
            "server message: insufficient_scope: authorization failed")
