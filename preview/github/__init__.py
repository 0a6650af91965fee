"""GitHub: the sticky PR comment, deployments and Actions plumbing (see docs/github.md)."""

from preview.github.session import GitHubSession

__all__ = ["GitHubSession"]
