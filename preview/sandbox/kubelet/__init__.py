"""The sandbox kubelet's parts: what a container "does", its state machine, pod status,
logs, and the streaming endpoints (port-forward, proxy) that reach a pod.

The controller that drives them is `preview.sandbox.kubelet.kubelet`; everything here
but the streaming handlers is pure and tested without a server.
"""
