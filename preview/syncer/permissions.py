"""The host permissions the syncer needs: exactly these, in its own namespace only.

The chart's Role renders the same rules (a test keeps them equal), so what the syncer does
and what it is allowed to do cannot drift apart.
"""

from __future__ import annotations

from typing import Any

_WRITE = ["get", "list", "watch", "create", "update", "patch", "delete"]

HOST_RULES: list[dict[str, Any]] = [
    {"apiGroups": [""], "resources": ["pods", "services", "endpoints", "configmaps", "secrets",
                                      "persistentvolumeclaims"], "verbs": _WRITE},
    {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]},
    # kubectl exec/attach/port-forward in the virtual cluster, relayed by the kubelet endpoint
    {"apiGroups": [""], "resources": ["pods/exec", "pods/attach", "pods/portforward"],
     "verbs": ["get", "create"]},
    # kubectl debug in the virtual cluster: its ephemeral containers added to the host pod
    {"apiGroups": [""], "resources": ["pods/ephemeralcontainers"], "verbs": ["update"]},
    {"apiGroups": [""], "resources": ["events"], "verbs": ["get", "list", "watch"]},
    {"apiGroups": ["networking.k8s.io"], "resources": ["ingresses"], "verbs": _WRITE},
]
