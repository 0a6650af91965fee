"""GitHub Deployments: the "View deployment" button and the environment's history on the PR.

One deployment per head sha of environment `pr-<n>`, transient and non-production, created
with `required_contexts=[]` (otherwise GitHub refuses with 409 while any commit status of the
sha is not green, e.g. the very workflow that is deploying) and `auto_merge=false` (otherwise
GitHub may merge the default branch into the PR's branch). Statuses: `in_progress` →
`success` (with `environment_url` and `log_url`) or `failure`; `inactive` on teardown.

Sleep and wake are said by a new `success` status with a description ("asleep since …",
"ready (woken up)") and the URL kept: GitHub has no "asleep" state, and `inactive` on a
transient deployment shows it as *destroyed* (GitHub REST API, "Create a deployment status":
"When you set a transient deployment to inactive, the deployment will be shown as destroyed
in GitHub") — not true of a sleeping environment, whose URL and data are still there.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from preview.github.client import GitHub

log = logging.getLogger(__name__)

TASK = "deploy"
PAYLOAD_KEY = "preview-vcluster"


@dataclass(frozen=True)
class Deployments:
    """Deployments of one repository (`repo`, owner/name). Deployments are GitHub's JSON."""

    gh: GitHub
    repo: str

    def start(self, sha: str, environment: str, description: str) -> dict[str, Any]:
        """The deployment of `sha` to `environment` (reused on re-runs)."""
        found = self._find(sha, environment)
        if found is not None:
            return found
        return dict(self.gh.create(
            f"/repos/{self.repo}/deployments",
            {"ref": sha, "task": TASK, "environment": environment,
             "description": description[:140], "auto_merge": False, "required_contexts": [],
             "transient_environment": True, "production_environment": False,
             "payload": {PAYLOAD_KEY: {"environment": environment}}},
            refind=lambda: self._find(sha, environment),
            what=f"create deployment of {sha[:7]} to {environment}"))

    def set_status(self, deployment: dict[str, Any], state: str, *, description: str = "",
                   environment_url: str = "", log_url: str = "") -> None:
        """Add a deployment status once (a failed POST is re-read before it is repeated)."""
        fields: dict[str, Any] = {"state": state, "description": description[:140]}
        if environment_url:
            fields["environment_url"] = environment_url
        if log_url:
            fields["log_url"] = log_url
        if state == "success":
            # Ours are transient: GitHub's auto_inactive only touches non-transient ones, so
            # older shas are made inactive explicitly (`supersede`).
            fields["auto_inactive"] = True
        self.gh.create(
            self._statuses(deployment), fields,
            refind=lambda: self._latest_if(deployment, state),
            what=f"set deployment {deployment['id']} {state}")

    def say(self, sha: str, environment: str, description: str, url: str) -> bool:
        """Describe the current deployment of `sha` to `environment` anew (`success`, with
        `url`), when there is one and it is live; never creates one (an environment that
        runs without deployments stays without). Whether there was one to describe."""
        found = self._find(sha, environment)
        if found is None or self._latest_state(found) != "success":
            return False
        fields = {"state": "success", "description": description[:140],
                  "environment_url": url, "auto_inactive": False}
        self.gh.create(self._statuses(found), fields,
                       refind=lambda: True if self._latest_description(found) ==
                       description[:140] else None,
                       what=f"describe deployment {found['id']}")
        return True

    def supersede(self, environment: str, current_id: int) -> int:
        """Mark every other active deployment of `environment` inactive; return how many."""
        return self._deactivate(environment, keep=current_id)

    def deactivate_all(self, environment: str) -> int:
        """Teardown: every deployment of `environment` becomes `inactive`; return how many."""
        return self._deactivate(environment, keep=None)

    def _deactivate(self, environment: str, keep: int | None) -> int:
        deployments = self.gh.items(f"/repos/{self.repo}/deployments",
                                    {"environment": environment})
        changed = 0
        for deployment in deployments:
            if deployment["id"] == keep or self._latest_state(deployment) == "inactive":
                continue
            self.set_status(deployment, "inactive", description="preview environment removed")
            changed += 1
        return changed

    def _find(self, sha: str, environment: str) -> dict[str, Any] | None:
        found = self.gh.items(f"/repos/{self.repo}/deployments",
                              {"sha": sha, "environment": environment, "task": TASK})
        # Oldest first: racing runs converge on the same deployment.
        return dict(min(found, key=lambda d: d["id"])) if found else None

    def _statuses(self, deployment: dict[str, Any]) -> str:
        return f"/repos/{self.repo}/deployments/{deployment['id']}/statuses"

    def _latest_state(self, deployment: dict[str, Any]) -> str:
        # Newest first: the first page's first status is the latest.
        statuses = self.gh.get(self._statuses(deployment), {"per_page": "1"})
        return str(statuses[0]["state"]) if statuses else ""

    def _latest_description(self, deployment: dict[str, Any]) -> str:
        statuses = self.gh.get(self._statuses(deployment), {"per_page": "1"})
        return str(statuses[0].get("description") or "") if statuses else ""

    def _latest_if(self, deployment: dict[str, Any], state: str) -> bool | None:
        return True if self._latest_state(deployment) == state else None
