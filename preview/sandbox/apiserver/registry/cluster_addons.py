"""What a freshly made cluster already holds: the objects the server creates at start.

The system namespaces, the bootstrap RBAC policy, an APIService per served group-version,
the `default/kubernetes` Service, the built-in PriorityClasses every cluster has, and (host flavour) the CoreDNS add-on that
kubeadm installs and kind ships: the `coredns` Deployment in `kube-system` with its
ServiceAccount, RBAC and Corefile, and the `kube-dns` Service at the conventional address
(the tenth of the service range, 10.96.0.10 by default). Its pods are simulated like any
pod (the sandbox resolves no names). Pure: the server creates these objects at start.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from preview.sandbox.apiserver.auth import bootstrap_policy
from preview.sandbox.apiserver.registry import platform_kinds
from preview.sandbox.machinery.resources import Catalog

COREDNS_IMAGE = "registry.k8s.io/coredns/coredns:v1.12.1"
COREFILE = """.:53 {
    errors
    health {
       lameduck 5s
    }
    ready
    kubernetes cluster.local in-addr.arpa ip6.arpa {
       pods insecure
       fallthrough in-addr.arpa ip6.arpa
       ttl 30
    }
    prometheus :9153
    forward . /etc/resolv.conf {
       max_concurrent 1000
    }
    cache 30 {
       disable success cluster.local
       disable denial cluster.local
    }
    loop
    reload
    loadbalance
}
"""
_LABELS = {"k8s-app": "kube-dns"}


def initial_objects(catalog: Catalog, flavour: str, service_cidr: str,
                    api_ip: str) -> list[dict[str, Any]]:
    """Every object the server creates at start, in order."""
    objects: list[dict[str, Any]] = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
        for name in ("default", "kube-system", "kube-public", "kube-node-lease")]
    objects += bootstrap_policy.cluster_roles() + bootstrap_policy.cluster_role_bindings()
    objects += [platform_kinds.local_apiservice(group, version)
                for group, versions in catalog.group_versions().items()
                for version in versions]
    objects.append({"apiVersion": "v1", "kind": "Service", "metadata": {
        "name": "kubernetes", "namespace": "default",
        "labels": {"component": "apiserver", "provider": "kubernetes"}},
        "spec": {"clusterIP": api_ip, "ports": [{"name": "https", "port": 443,
                                                 "targetPort": 6443}]}})
    objects.append({  # kubeadm's: the admin kubeconfig's group is a cluster admin
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": "kubeadm:cluster-admins"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                    "name": "cluster-admin"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group",
                      "name": "kubeadm:cluster-admins"}]})
    objects += priority_classes()
    if flavour == "host":
        objects += coredns(service_cidr)
    return objects


def priority_classes() -> list[dict[str, Any]]:
    """`system-node-critical` and `system-cluster-critical`, as the API server creates them."""
    return [{"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
             "metadata": {"name": name}, "value": value, "preemptionPolicy":
             "PreemptLowerPriority", "description": description}
            for name, value, description in (
                ("system-node-critical", 2000001000,
                 "Used for system critical pods that must not be moved from their current node."),
                ("system-cluster-critical", 2000000000,
                 "Used for system critical pods that must run in the cluster, but can be moved "
                 "to another node if necessary."))]


def dns_ip(service_cidr: str) -> str:
    return str(ipaddress.ip_network(service_cidr, strict=False).network_address + 10)


def coredns(service_cidr: str) -> list[dict[str, Any]]:
    """The CoreDNS add-on's objects, in creation order."""
    ns = "kube-system"
    probe_ports = {"readinessProbe": ("/ready", 8181), "livenessProbe": ("/health", 8080)}
    container: dict[str, Any] = {
        "name": "coredns", "image": COREDNS_IMAGE, "imagePullPolicy": "IfNotPresent",
        "args": ["-conf", "/etc/coredns/Corefile"],
        "ports": [{"name": "dns", "containerPort": 53, "protocol": "UDP"},
                  {"name": "dns-tcp", "containerPort": 53, "protocol": "TCP"},
                  {"name": "metrics", "containerPort": 9153, "protocol": "TCP"}],
        "resources": {"limits": {"memory": "170Mi"},
                      "requests": {"cpu": "100m", "memory": "70Mi"}},
        "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                            "capabilities": {"add": ["NET_BIND_SERVICE"], "drop": ["ALL"]}},
        "volumeMounts": [{"name": "config-volume", "mountPath": "/etc/coredns",
                          "readOnly": True}],
    }
    for probe, (path, port) in probe_ports.items():
        container[probe] = {"httpGet": {"path": path, "port": port, "scheme": "HTTP"},
                            "periodSeconds": 10, "timeoutSeconds": 1,
                            "successThreshold": 1, "failureThreshold": 3}
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount",
         "metadata": {"name": "coredns", "namespace": ns}},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
         "metadata": {"name": "system:coredns"},
         "rules": [{"apiGroups": [""], "resources": ["endpoints", "services", "pods",
                                                     "namespaces"], "verbs": ["list", "watch"]},
                   {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"],
                    "verbs": ["list", "watch"]}]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
         "metadata": {"name": "system:coredns"},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                     "name": "system:coredns"},
         "subjects": [{"kind": "ServiceAccount", "name": "coredns", "namespace": ns}]},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "coredns", "namespace": ns},
         "data": {"Corefile": COREFILE}},
        {"apiVersion": "apps/v1", "kind": "Deployment",
         "metadata": {"name": "coredns", "namespace": ns, "labels": dict(_LABELS)},
         "spec": {"replicas": 2, "selector": {"matchLabels": dict(_LABELS)},
                  "strategy": {"type": "RollingUpdate",
                               "rollingUpdate": {"maxUnavailable": 1}},
                  "template": {"metadata": {"labels": dict(_LABELS)}, "spec": {
                      "priorityClassName": "system-cluster-critical",
                      "serviceAccountName": "coredns", "dnsPolicy": "Default",
                      "nodeSelector": {"kubernetes.io/os": "linux"},
                      "tolerations": [
                          {"key": "CriticalAddonsOnly", "operator": "Exists"},
                          {"key": "node-role.kubernetes.io/control-plane",
                           "effect": "NoSchedule"}],
                      "containers": [container],
                      "volumes": [{"name": "config-volume", "configMap": {
                          "name": "coredns", "items": [{"key": "Corefile",
                                                        "path": "Corefile"}]}}]}}}},
        {"apiVersion": "v1", "kind": "Service",
         "metadata": {"name": "kube-dns", "namespace": ns, "labels": {
             **_LABELS, "kubernetes.io/cluster-service": "true",
             "kubernetes.io/name": "CoreDNS"},
             "annotations": {"prometheus.io/port": "9153", "prometheus.io/scrape": "true"}},
         "spec": {"selector": dict(_LABELS), "clusterIP": dns_ip(service_cidr),
                  "ports": [{"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
                            {"name": "dns-tcp", "port": 53, "protocol": "TCP",
                             "targetPort": 53},
                            {"name": "metrics", "port": 9153, "protocol": "TCP",
                             "targetPort": 9153}]}},
    ]
