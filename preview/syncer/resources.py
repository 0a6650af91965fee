"""The resources the syncer reads and writes, as REST paths name them."""

from __future__ import annotations

from preview.kube.client import Resource

PODS = Resource("", "v1", "pods", "Pod")
SERVICES = Resource("", "v1", "services", "Service")
ENDPOINTS = Resource("", "v1", "endpoints", "Endpoints")
CONFIGMAPS = Resource("", "v1", "configmaps", "ConfigMap")
SECRETS = Resource("", "v1", "secrets", "Secret")
PVCS = Resource("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim")
PVS = Resource("", "v1", "persistentvolumes", "PersistentVolume", namespaced=False)
NODES = Resource("", "v1", "nodes", "Node", namespaced=False)
INGRESSES = Resource("networking.k8s.io", "v1", "ingresses", "Ingress")
EVENTS = Resource("", "v1", "events", "Event")

# Synced kinds (as used in work-queue keys and `--sync`) -> resource.
KINDS: dict[str, Resource] = {
    "pods": PODS, "services": SERVICES, "endpoints": ENDPOINTS, "configmaps": CONFIGMAPS,
    "secrets": SECRETS, "persistentvolumeclaims": PVCS, "ingresses": INGRESSES,
}
