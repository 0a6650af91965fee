"""Kubernetes API emulator: the host cluster and virtual control planes of tests and the demo."""
