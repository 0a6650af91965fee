"""The sandbox kubelet: the agent of every host node, what a container "does", its state
machine, pod status, logs, the streaming endpoints (port-forward, exec, proxy) that reach a
pod, and the runtime hooks that run selected pods for real.

`kubelet.py` drives the pods and `nodes.py` the nodes, both through the API like any
client; the state machine, status, behaviour and log parts are pure and tested without a
server.
"""
