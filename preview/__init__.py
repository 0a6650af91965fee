"""preview-vcluster: ephemeral preview environments, one virtual Kubernetes cluster per pull request."""

__version__ = "0.1.0"
