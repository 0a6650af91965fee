"""preview-vcluster: ephemeral preview environments, one virtual Kubernetes cluster per pull request."""

from importlib.metadata import PackageNotFoundError, version

# pyproject.toml is the one place the version is written (docs/release.md); the installed
# package's metadata carries it here, and tests/test_release.py keeps the charts agreeing.
try:
    __version__ = version("preview-vcluster")
except PackageNotFoundError:  # a source tree on sys.path without an install
    __version__ = "0+unknown"
