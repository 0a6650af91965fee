"""A strict fake GitHub REST API over real HTTP, for tests of `preview/github/`."""

from tests.fakegithub.server import ACTIONS_BOT, FakeGitHub, Fault, Logged

__all__ = ["ACTIONS_BOT", "FakeGitHub", "Fault", "Logged"]
