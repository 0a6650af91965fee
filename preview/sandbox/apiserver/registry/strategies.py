"""What differs per kind on writes: the registry strategies of the real API server.

Namespaces terminate through finalizers, Services get cluster IPs and node ports, Pods
are deleted gracefully once scheduled, CustomResourceDefinitions register new resources.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from preview.sandbox.apiserver.registry import crds, ephemeral, platform_kinds
from preview.sandbox.apiserver.registry.ipalloc import ClusterIPAllocator, NodePortAllocator
from preview.sandbox.apiserver.storage.store import Store
from preview.sandbox.machinery.objects import clone
from preview.sandbox.machinery.resources import Catalog, ResourceType
from preview.sandbox.machinery.status import (
    Cause,
    field_forbidden,
    field_invalid,
    field_required,
    invalid,
)

_IMMUTABLE = "field is immutable"
Admission = Callable[[ResourceType, dict[str, Any], bool], None]


class Strategies:
    def __init__(self, store: Store, catalog: Catalog, service_cidr: str) -> None:
        self.store = store
        self.catalog = catalog
        self.cluster_ips = ClusterIPAllocator(service_cidr)
        self.node_ports = NodePortAllocator()
        # Admission plug-ins (quota, limit ranges) registered by the cluster flavour.
        self.admission: list[Admission] = []

    # -- create --------------------------------------------------------------------------------
    def prepare_create(self, rt: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
        if rt.kind == "CustomResourceDefinition" and rt.group == "apiextensions.k8s.io":
            obj["status"] = crds.initial_status(obj)
        if rt.kind == "Job" and rt.group == "batch":
            _generate_job_selector(obj)
        return obj

    def admit_create(self, rt: ResourceType, obj: dict[str, Any], dry_run: bool) -> None:
        for plugin in self.admission:
            plugin(rt, obj, dry_run)
        if rt.kind == "Service" and rt.group == "":
            self._allocate_service(obj, None, dry_run)

    def after_create(self, rt: ResourceType, obj: dict[str, Any]) -> None:
        if rt.kind == "CustomResourceDefinition" and rt.group == "apiextensions.k8s.io":
            self.catalog.add_custom(crds.resource_types(obj))

    # -- update --------------------------------------------------------------------------------
    def after_update(self, rt: ResourceType, obj: dict[str, Any]) -> None:
        if rt.kind == "CustomResourceDefinition" and rt.group == "apiextensions.k8s.io":
            # Served versions and printer columns follow the CRD, as the real server's do.
            # (A status write changes neither, and keeps the catalog's caches.)
            spec = obj.get("spec") or {}
            group, plural = spec.get("group", ""), (spec.get("names") or {}).get("plural", "")
            served = crds.resource_types(obj)
            if served != [t for t in self.catalog.types
                          if t.custom and t.group == group and t.resource == plural]:
                self.catalog.remove_custom(group, plural)
                self.catalog.add_custom(served)

    def allow_create_on_update(self, rt: ResourceType) -> bool:
        return rt.resource in ("endpoints", "leases", "events") and rt.group in (
            "", "coordination.k8s.io", "events.k8s.io")

    def prepare_update(self, rt: ResourceType, old: dict[str, Any], new: dict[str, Any],
                       subresource: str) -> dict[str, Any]:
        if rt.group == "" and rt.kind == "Namespace":
            if subresource == "finalize":
                merged = clone(old)
                merged["spec"] = {"finalizers": list((new.get("spec") or {}).get("finalizers") or [])}
                return merged
            new["spec"] = clone(old.get("spec") or {})  # only /finalize changes spec.finalizers
        if rt.group == "" and rt.kind == "Pod" and subresource == ephemeral.SUBRESOURCE:
            return ephemeral.update(old, new)
        if rt.group == "" and rt.kind == "Pod" and not subresource and \
                not ephemeral.unchanged(old, new):
            raise invalid("Pod", "", old["metadata"]["name"], [_POD_UPDATE_FORBIDDEN])
        if rt.group == "" and rt.kind == "Service" and not subresource:
            spec, old_spec = new.setdefault("spec", {}), old.get("spec") or {}
            # Clients may omit the allocated IP on update; the server keeps it.
            if not spec.get("clusterIP") and old_spec.get("clusterIP"):
                spec["clusterIP"] = old_spec["clusterIP"]
                spec["clusterIPs"] = old_spec.get("clusterIPs", [old_spec["clusterIP"]])
        return new

    def admit_update(self, rt: ResourceType, old: dict[str, Any], new: dict[str, Any]) -> None:
        if rt.group == "" and rt.kind == "Service":
            self._allocate_service(new, old, dry_run=False)

    # -- delete --------------------------------------------------------------------------------
    def default_propagation(self, rt: ResourceType) -> str:
        return "Background"

    def grace_period(self, rt: ResourceType, obj: dict[str, Any], requested: int | None) -> int:
        """Seconds a deletion waits; only scheduled pods wait (for their kubelet)."""
        if rt.group != "" or rt.kind != "Pod":
            return 0
        spec, status = obj.get("spec") or {}, obj.get("status") or {}
        if not spec.get("nodeName") or status.get("phase") in ("Succeeded", "Failed"):
            return 0
        if requested is not None:
            return max(0, requested)
        return int(spec.get("terminationGracePeriodSeconds", 30))

    def ready_to_remove(self, rt: ResourceType, obj: dict[str, Any]) -> bool:
        """Whether a terminating object can leave storage (beyond metadata.finalizers)."""
        meta = obj["metadata"]
        if meta.get("finalizers"):
            return False
        if rt.group == "" and rt.kind == "Namespace":
            return not (obj.get("spec") or {}).get("finalizers")
        if rt.group == "" and rt.kind == "Pod" and meta.get("deletionTimestamp"):
            return int(meta.get("deletionGracePeriodSeconds") or 0) == 0
        return True

    def prepare_delete(self, rt: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
        if rt.group == "" and rt.kind == "Namespace":
            obj.setdefault("status", {})["phase"] = "Terminating"
        return obj

    def after_delete(self, rt: ResourceType, obj: dict[str, Any]) -> None:
        if rt.group == "" and rt.kind == "Service":
            spec = obj.get("spec") or {}
            for ip in spec.get("clusterIPs") or []:
                if ip != "None":
                    self.cluster_ips.release(ip)
            for port in spec.get("ports") or []:
                if port.get("nodePort"):
                    self.node_ports.release(int(port["nodePort"]))
        if rt.kind == "CustomResourceDefinition" and rt.group == "apiextensions.k8s.io":
            spec = obj.get("spec") or {}
            group, plural = spec.get("group", ""), (spec.get("names") or {}).get("plural", "")
            # The real apiextensions server removes all instances before the CRD goes.
            for cr in self.store.list((group, plural)):
                cr = clone(cr)
                cr["metadata"]["resourceVersion"] = str(self.store.next_rv())
                self.store.remove((group, plural), cr)
            self.catalog.remove_custom(group, plural)

    # -- validation ----------------------------------------------------------------------------
    def validate(self, rt: ResourceType, obj: dict[str, Any],
                 old: dict[str, Any] | None) -> list[Cause]:
        check = _VALIDATORS.get((rt.group, rt.kind))
        return check(obj, old) if check else []

    # -- services ------------------------------------------------------------------------------
    def _allocate_service(self, obj: dict[str, Any], old: dict[str, Any] | None,
                          dry_run: bool) -> None:
        spec = obj.setdefault("spec", {})
        name = obj["metadata"]["name"]
        svc_type = spec.get("type", "ClusterIP")
        if svc_type != "ExternalName":
            old_ip = (old or {}).get("spec", {}).get("clusterIP")
            requested = spec.get("clusterIP") or ""
            if old is None or not old_ip:
                if requested == "None":
                    spec["clusterIPs"] = ["None"]
                elif dry_run:
                    if requested:
                        self.cluster_ips.check(requested, name)
                else:
                    ip = self.cluster_ips.allocate(name, requested or None)
                    spec["clusterIP"], spec["clusterIPs"] = ip, [ip]
                    spec.setdefault("ipFamilies", ["IPv4"])
                    spec.setdefault("ipFamilyPolicy", "SingleStack")
        if svc_type in ("NodePort", "LoadBalancer"):
            old_ports = {p.get("nodePort") for p in (old or {}).get("spec", {}).get("ports") or []}
            for i, port in enumerate(spec.get("ports") or []):
                field = f"spec.ports[{i}].nodePort"
                requested_port = port.get("nodePort")
                if requested_port and requested_port in old_ports:
                    continue
                if dry_run:
                    if requested_port:
                        self.node_ports.check(int(requested_port), name, field)
                    continue
                port["nodePort"] = self.node_ports.allocate(name, field, requested_port)


def _generate_job_selector(job: dict[str, Any]) -> None:
    """As the Job strategy: select the Job's own pods by its uid, unless told otherwise."""
    spec = job.setdefault("spec", {})
    if spec.get("manualSelector"):
        return
    uid, name = job["metadata"]["uid"], job["metadata"]["name"]
    labels = {"batch.kubernetes.io/controller-uid": uid, "batch.kubernetes.io/job-name": name,
              "controller-uid": uid, "job-name": name}
    template_meta = spec.setdefault("template", {}).setdefault("metadata", {})
    template_meta["labels"] = {**(template_meta.get("labels") or {}), **labels}
    spec["selector"] = {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}


def _validate_pod(obj: dict[str, Any], old: dict[str, Any] | None) -> list[Cause]:
    causes = _validate_pod_spec(obj.get("spec") or {}, "spec")
    if old is None and (obj.get("spec") or {}).get("ephemeralContainers"):
        causes.append(field_forbidden("spec.ephemeralContainers", "cannot be set on create"))
    if old is not None:
        old_spec, spec = dict(old.get("spec") or {}), dict(obj.get("spec") or {})
        # Only images, activeDeadlineSeconds, tolerations (additions) and nodeName via
        # binding may change on a pod; compare the rest.
        # Ephemeral containers change through pods/ephemeralcontainers only (its update
        # leaves the rest as it was); judged there, and here when a pod update touches them.
        causes += ephemeral.causes(old, obj)
        for s in (old_spec, spec):
            for key in ("activeDeadlineSeconds", "tolerations", "terminationGracePeriodSeconds",
                        "nodeName", "ephemeralContainers"):
                s.pop(key, None)
            s["containers"] = [{k: v for k, v in c.items() if k != "image"}
                               for c in s.get("containers") or []]
            s["initContainers"] = [{k: v for k, v in c.items() if k != "image"}
                                   for c in s.get("initContainers") or []]
        if old_spec != spec:
            causes.append(_POD_UPDATE_FORBIDDEN)
    return causes


_POD_UPDATE_FORBIDDEN = Cause(
    "FieldValueForbidden", "Forbidden: pod updates may not change fields other than "
    "`spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,"
    "`spec.tolerations` (only additions to existing tolerations),"
    "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously "
    "negative)", "spec")


def _validate_pod_spec(spec: dict[str, Any], path: str) -> list[Cause]:
    causes: list[Cause] = []
    containers = spec.get("containers")
    if not containers:
        causes.append(field_required(f"{path}.containers"))
    seen: set[str] = set()
    for field in ("initContainers", "containers"):
        for i, c in enumerate(spec.get(field) or []):
            cpath = f"{path}.{field}[{i}]"
            if not c.get("name"):
                causes.append(field_required(f"{cpath}.name"))
            elif c["name"] in seen:
                causes.append(Cause("FieldValueDuplicate", f'Duplicate value: "{c["name"]}"',
                                    f"{cpath}.name"))
            else:
                seen.add(c["name"])
            if not c.get("image"):
                causes.append(field_required(f"{cpath}.image"))
    return causes


def _validate_workload(obj: dict[str, Any], old: dict[str, Any] | None) -> list[Cause]:
    from preview.sandbox.machinery import selectors
    spec = obj.get("spec") or {}
    causes: list[Cause] = []
    selector = spec.get("selector")
    if not selector:
        causes.append(field_required("spec.selector"))
    template = spec.get("template") or {}
    tlabels = (template.get("metadata") or {}).get("labels") or {}
    if selector:
        sel = selectors.from_label_selector_object(selector)
        if not selector.get("matchLabels") and not selector.get("matchExpressions"):
            causes.append(field_invalid("spec.selector", "", "empty selector is invalid for "
                                        "deployment"))
        elif not sel.matches(tlabels):
            causes.append(field_invalid("spec.template.metadata.labels", _go_map(tlabels),
                                        "`selector` does not match template `labels`"))
    if old is not None and (old.get("spec") or {}).get("selector") != selector:
        causes.append(field_invalid("spec.selector", _go_selector(selector), _IMMUTABLE))
    if spec.get("replicas", 0) < 0:
        causes.append(field_invalid("spec.replicas", spec["replicas"],
                                    "must be greater than or equal to 0"))
    causes += _validate_pod_spec(template.get("spec") or {}, "spec.template.spec")
    return causes


def _validate_service(obj: dict[str, Any], old: dict[str, Any] | None) -> list[Cause]:
    spec = obj.get("spec") or {}
    causes: list[Cause] = []
    svc_type = spec.get("type", "ClusterIP")
    if svc_type != "ExternalName" and spec.get("clusterIP") != "None" and not spec.get("ports"):
        causes.append(field_required("spec.ports"))
    for i, port in enumerate(spec.get("ports") or []):
        p = port.get("port")
        if not isinstance(p, int) or not 1 <= p <= 65535:
            causes.append(field_invalid(f"spec.ports[{i}].port", p,
                                        "must be between 1 and 65535, inclusive"))
        if len(spec.get("ports") or []) > 1 and not port.get("name"):
            causes.append(field_required(f"spec.ports[{i}].name"))
    if old is not None:
        old_ip = (old.get("spec") or {}).get("clusterIP")
        if old_ip and spec.get("clusterIP") and spec["clusterIP"] != old_ip:
            causes.append(field_invalid("spec.clusterIPs[0]", spec["clusterIP"],
                                        "may not change once set"))
    return causes


def _go_map(m: dict[str, str]) -> str:
    return "map[string]string{" + ", ".join(f'"{k}":"{v}"' for k, v in sorted(m.items())) + "}"


def _go_selector(sel: Any) -> str:
    return "v1.LabelSelector{...}" if sel else "nil"


_VALIDATORS: dict[tuple[str, str], Callable[[dict[str, Any], dict[str, Any] | None], list[Cause]]] = {
    ("", "Pod"): _validate_pod,
    ("apps", "Deployment"): _validate_workload,
    ("apps", "ReplicaSet"): _validate_workload,
    ("apps", "StatefulSet"): _validate_workload,
    ("apps", "DaemonSet"): _validate_workload,
    ("", "Service"): _validate_service,
    **platform_kinds.VALIDATORS,
}
