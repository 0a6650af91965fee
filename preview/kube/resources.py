"""The resource catalog: every API resource our components read or write, spelled once.

`up`, `down`, `gc`, `preview vcluster` and the syncer name resources from here, so a kind the
syncer starts to copy to the host is one that `vcluster delete` and the GC clean up too
(`SYNCED_KINDS` is the syncer's list and the deleters' list alike).
"""

from __future__ import annotations

from preview.kube.client import Resource

# core/v1
NAMESPACES = Resource("", "v1", "namespaces", "Namespace", namespaced=False)
NODES = Resource("", "v1", "nodes", "Node", namespaced=False)
PODS = Resource("", "v1", "pods", "Pod")
SERVICES = Resource("", "v1", "services", "Service")
ENDPOINTS = Resource("", "v1", "endpoints", "Endpoints")
CONFIGMAPS = Resource("", "v1", "configmaps", "ConfigMap")
SECRETS = Resource("", "v1", "secrets", "Secret")
PVCS = Resource("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim")
PVS = Resource("", "v1", "persistentvolumes", "PersistentVolume", namespaced=False)
SERVICEACCOUNTS = Resource("", "v1", "serviceaccounts", "ServiceAccount")
RESOURCEQUOTAS = Resource("", "v1", "resourcequotas", "ResourceQuota")
LIMITRANGES = Resource("", "v1", "limitranges", "LimitRange")
EVENTS = Resource("", "v1", "events", "Event")
# apps/v1, batch/v1
DEPLOYMENTS = Resource("apps", "v1", "deployments", "Deployment")
REPLICASETS = Resource("apps", "v1", "replicasets", "ReplicaSet")
STATEFULSETS = Resource("apps", "v1", "statefulsets", "StatefulSet")
DAEMONSETS = Resource("apps", "v1", "daemonsets", "DaemonSet")
JOBS = Resource("batch", "v1", "jobs", "Job")
CRONJOBS = Resource("batch", "v1", "cronjobs", "CronJob")
# networking, RBAC
INGRESSES = Resource("networking.k8s.io", "v1", "ingresses", "Ingress")
NETWORKPOLICIES = Resource("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy")
ROLES = Resource("rbac.authorization.k8s.io", "v1", "roles", "Role")
ROLEBINDINGS = Resource("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding")
# coordination: the one-writer-per-environment lock (preview/lease.py)
LEASES = Resource("coordination.k8s.io", "v1", "leases", "Lease")

# What the syncer copies from a virtual cluster into its host namespace (the keys are the
# work-queue kinds and the names `--sync` takes). Whoever removes a virtual cluster's leftovers
# iterates this, so it can never miss a kind the syncer makes. The one list: each entry is
# declared in preview/syncer/kinds/ (KINDS) and switched by charts/vcluster's `sync.kinds`;
# tests fail until the declaration, the chart's values, schema and Role name it too.
SYNCED_KINDS: dict[str, Resource] = {
    "pods": PODS, "services": SERVICES, "endpoints": ENDPOINTS, "configmaps": CONFIGMAPS,
    "secrets": SECRETS, "persistentvolumeclaims": PVCS, "ingresses": INGRESSES,
}
SYNCED = tuple(SYNCED_KINDS.values())
# Everything `charts/vcluster` installs in the host namespace, plus what the syncer makes.
VCLUSTER_KINDS = (*SYNCED, STATEFULSETS, SERVICEACCOUNTS, ROLES, ROLEBINDINGS, RESOURCEQUOTAS,
                  LIMITRANGES, NETWORKPOLICIES)
# The workloads `up` waits for, by kind.
WORKLOADS: dict[str, Resource] = {
    "Deployment": DEPLOYMENTS, "StatefulSet": STATEFULSETS, "DaemonSet": DAEMONSETS,
    "Job": JOBS,
}
