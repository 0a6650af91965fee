"""Talking to Kubernetes API servers: connection settings and one async client."""
