"""A strict fake GitHub REST API over real HTTP, for tests of `preview/github/`."""

from tests.fakegithub.api import ACTIONS_BOT
from tests.fakegithub.server import FakeGitHub, Fault, Logged

__all__ = ["ACTIONS_BOT", "FakeGitHub", "Fault", "Logged"]
