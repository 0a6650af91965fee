"""Pods: a virtual pod becomes a host pod that runs the same containers, isolated.

`translate` is pure: the virtual pod and the `SyncContext` in, the host pod out (or
`Refused` when the isolation policy forbids what it asks; policy.pod). Pods keep their own
reconcile, with their `Kind` (podsync.py): the syncer is their kubelet (binding, termination,
tokens), which no declaration of fields says. What changes on the way:

- names of everything it references (ConfigMaps, Secrets, PVCs, pull secrets) are the host
  names of the synced copies;
- it runs as a host ServiceAccount without permissions and without the host's token; the
  *virtual* ServiceAccount's token is mounted at the standard path instead (from a host
  Secret the syncer keeps current), and KUBERNETES_SERVICE_HOST/PORT point at the virtual
  API server, so in-cluster clients talk to the virtual cluster;
- downward-API references to its name and namespace read annotations holding the virtual
  values; DNS points at the virtual cluster's DNS service;
- owner references are dropped (the owners live only in the virtual cluster);
- ephemeral containers (`kubectl debug`) are added to the running host pod through its
  `ephemeralcontainers` subresource, as they were added to the virtual pod (an API server
  refuses them on create), each judged by the isolation policy as any container is.
"""

from __future__ import annotations

from typing import Any

from preview import naming
from preview.syncer import policy
from preview.syncer.context import SyncContext
from preview.syncer.engine.kind import Translation
from preview.syncer.kinds import configs, tokens
from preview.syncer.objects import clone, host_metadata, reserved_violations

SERVICE_ACCOUNT_MOUNT = "/var/run/secrets/kubernetes.io/serviceaccount"
TOKEN_VOLUME = "preview-vcluster-token"
# Annotations holding the virtual identity, read through the downward API.
_NAME_FIELD = f"metadata.annotations['{naming.VIRTUAL_NAME_ANNOTATION}']"
_NAMESPACE_FIELD = f"metadata.annotations['{naming.VIRTUAL_NAMESPACE_ANNOTATION}']"
_SA_ANNOTATION = f"{naming.PREFIX}service-account"
_CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")


def token_secret_name(virtual_pod: dict[str, Any], ctx: SyncContext) -> str:
    """The host Secret with this pod's virtual ServiceAccount token (see tokens.py)."""
    return tokens.secret_name(virtual_pod, ctx)


def translate(virtual_pod: dict[str, Any], ctx: SyncContext, _facts: Any = None) -> Translation:
    """The host pod to create for a virtual pod that has none yet.

    Only called before the syncer binds the virtual pod to the host pod's node, so a
    `spec.nodeName` here was set by the tenant (pinning, refused unless allowed).
    """
    meta = virtual_pod["metadata"]
    namespace = meta["namespace"]
    spec = clone(virtual_pod.get("spec") or {})
    spec.pop("ephemeralContainers", None)  # added once the host pod runs (ephemeral_containers)
    stripped = [*reserved_violations(virtual_pod),
                *policy.pod(spec, meta.get("annotations") or {}, ctx.isolation)]

    def host(name: str) -> str:
        return naming.host_name(name, namespace, ctx.vcluster)

    virtual_sa = spec.pop("serviceAccountName", None) or spec.pop("serviceAccount", None) \
        or "default"
    spec.pop("serviceAccount", None)
    automount = spec.get("automountServiceAccountToken", True) is not False
    spec["serviceAccountName"] = ctx.host_service_account
    spec["automountServiceAccountToken"] = False
    _apply_node_pool(spec, ctx)

    volumes = [v for v in spec.get("volumes") or [] if not _is_api_access_volume(v)]
    removed = {v["name"] for v in spec.get("volumes") or []} - {v["name"] for v in volumes}
    for volume in volumes:
        _rewrite_volume(volume, host)
    if automount:
        volumes.append({"name": TOKEN_VOLUME, "secret": {
            "secretName": token_secret_name(virtual_pod, ctx), "defaultMode": 0o644}})
    spec["volumes"] = volumes
    if not volumes:
        spec.pop("volumes")

    for pull in spec.get("imagePullSecrets") or []:
        if pull.get("name"):
            pull["name"] = host(pull["name"])
    for list_name in _CONTAINER_LISTS:
        for container in spec.get(list_name) or []:
            _rewrite_container(container, host, removed, automount, ctx)

    if ctx.dns_ip:
        spec["dnsPolicy"] = "None"
        spec["dnsConfig"] = _dns_config(spec.get("dnsConfig") or {}, namespace, ctx)
    if "hostname" not in spec:
        spec["hostname"] = meta["name"][:naming.DNS_LABEL_MAX].rstrip("-.")
    if spec.get("subdomain"):
        spec["subdomain"] = naming.host_name(spec["subdomain"], namespace, ctx.vcluster,
                                            naming.DNS_LABEL_MAX)

    host_meta = host_metadata(virtual_pod, ctx, naming.DNS_LABEL_MAX)
    host_meta["annotations"][_SA_ANNOTATION] = virtual_sa
    # Cost attribution: the operator's labels, under the ownership labels (never over them).
    host_meta["labels"] = {**dict(ctx.extra_labels), **host_meta["labels"]}
    return Translation({"apiVersion": "v1", "kind": "Pod", "metadata": host_meta, "spec": spec},
                       tuple(stripped))


def ephemeral_containers(virtual_pod: dict[str, Any], host_pod: dict[str, Any],
                         ctx: SyncContext) -> list[dict[str, Any]] | None:
    """The host pod's `spec.ephemeralContainers` with the virtual pod's new ones added
    (translated as `translate` translates any container), or None when none is new.

    Raises Refused when a new one asks what the isolation policy forbids: none of them is
    added then (they are judged together, as the tenant added them).
    """
    meta = virtual_pod["metadata"]
    spec = virtual_pod.get("spec") or {}
    current = list((host_pod.get("spec") or {}).get("ephemeralContainers") or [])
    present = {c.get("name") for c in current}
    new = [clone(c) for c in spec.get("ephemeralContainers") or []
           if c.get("name") not in present]
    if not new:
        return None
    # Judged as listed in the virtual pod, so a refusal names the tenant's own index; the
    # pod's securityContext is their default (runAsNonRoot, seccompProfile at restricted).
    policy.ephemeral_containers(spec, ctx.isolation)
    removed = {v["name"] for v in spec.get("volumes") or [] if _is_api_access_volume(v)}
    automount = spec.get("automountServiceAccountToken", True) is not False

    def host(name: str) -> str:
        return naming.host_name(name, meta["namespace"], ctx.vcluster)

    for container in new:
        _rewrite_container(container, host, removed, automount, ctx)
    return [*current, *new]


def _apply_node_pool(spec: dict[str, Any], ctx: SyncContext) -> None:
    if ctx.node_selector:
        spec["nodeSelector"] = {**(spec.get("nodeSelector") or {}), **dict(ctx.node_selector)}
    if ctx.tolerations:
        spec["tolerations"] = [*(spec.get("tolerations") or []),
                               *(dict(t) for t in ctx.tolerations)]


def _is_api_access_volume(volume: dict[str, Any]) -> bool:
    """The projected `kube-api-access-*` volume the virtual API server's admission added."""
    sources = (volume.get("projected") or {}).get("sources") or []
    return volume["name"].startswith("kube-api-access-") and \
        any("serviceAccountToken" in s for s in sources)


def _rewrite_volume(volume: dict[str, Any], host: Any) -> None:
    if "configMap" in volume and volume["configMap"].get("name"):
        volume["configMap"]["name"] = host(volume["configMap"]["name"])
    if "secret" in volume and volume["secret"].get("secretName"):
        volume["secret"]["secretName"] = host(volume["secret"]["secretName"])
    if "persistentVolumeClaim" in volume:
        claim = volume["persistentVolumeClaim"]
        claim["claimName"] = host(claim["claimName"])
    if "downwardAPI" in volume:
        for item in volume["downwardAPI"].get("items") or []:
            _rewrite_field_ref(item.get("fieldRef"))
    if "projected" in volume:
        sources = []
        for source in volume["projected"].get("sources") or []:
            if "configMap" in source and source["configMap"].get("name"):
                source["configMap"]["name"] = host(source["configMap"]["name"])
            if "secret" in source and source["secret"].get("name"):
                source["secret"]["name"] = host(source["secret"]["name"])
            if "downwardAPI" in source:
                for item in source["downwardAPI"].get("items") or []:
                    _rewrite_field_ref(item.get("fieldRef"))
            if "serviceAccountToken" in source:
                continue  # a host token would be the wrong identity: the virtual one is mounted
            sources.append(source)
        volume["projected"]["sources"] = sources


def _rewrite_field_ref(ref: dict[str, Any] | None) -> None:
    if not ref:
        return
    if ref.get("fieldPath") == "metadata.name":
        ref["fieldPath"] = _NAME_FIELD
    elif ref.get("fieldPath") == "metadata.namespace":
        ref["fieldPath"] = _NAMESPACE_FIELD


def _rewrite_container(container: dict[str, Any], host: Any, removed_volumes: set[str],
                       automount: bool, ctx: SyncContext) -> None:
    for env in container.get("env") or []:
        source = env.get("valueFrom") or {}
        for key, name_field in (("configMapKeyRef", "name"), ("secretKeyRef", "name")):
            if key in source and source[key].get(name_field):
                source[key][name_field] = host(source[key][name_field])
        _rewrite_field_ref(source.get("fieldRef"))
    for env_from in container.get("envFrom") or []:
        for key in ("configMapRef", "secretRef"):
            if key in env_from and env_from[key].get("name"):
                env_from[key]["name"] = host(env_from[key]["name"])
    mounts = [m for m in container.get("volumeMounts") or []
              if m["name"] not in removed_volumes]
    if automount and not any(m.get("mountPath") == SERVICE_ACCOUNT_MOUNT for m in mounts):
        mounts.append({"name": TOKEN_VOLUME, "mountPath": SERVICE_ACCOUNT_MOUNT,
                       "readOnly": True})
    if mounts:
        container["volumeMounts"] = mounts
    else:
        container.pop("volumeMounts", None)
    if ctx.api_host:
        env = [e for e in container.get("env") or []
               if e.get("name") not in ("KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT")]
        env += [{"name": "KUBERNETES_SERVICE_HOST", "value": ctx.api_host},
                {"name": "KUBERNETES_SERVICE_PORT", "value": str(ctx.api_port)}]
        container["env"] = env


def _dns_config(virtual: dict[str, Any], namespace: str, ctx: SyncContext) -> dict[str, Any]:
    domain = ctx.cluster_domain
    searches = [f"{namespace}.svc.{domain}", f"svc.{domain}", domain]
    return {"nameservers": [ctx.dns_ip, *(virtual.get("nameservers") or [])][:3],
            "searches": [*searches, *(s for s in virtual.get("searches") or []
                                      if s not in searches)],
            "options": virtual.get("options") or [{"name": "ndots", "value": "5"}]}


def references(virtual_pod: dict[str, Any]) -> set[tuple[str, str]]:
    """The ConfigMaps, Secrets and claims a virtual pod uses (same namespace)."""
    spec = virtual_pod.get("spec") or {}
    config_maps, secrets = configs.referenced(spec)
    claims = {v["persistentVolumeClaim"]["claimName"] for v in spec.get("volumes") or []
              if (v.get("persistentVolumeClaim") or {}).get("claimName")}
    return {*(("configmaps", n) for n in config_maps), *(("secrets", n) for n in secrets),
            *(("persistentvolumeclaims", n) for n in claims)}


def virtual_status(host_pod: dict[str, Any]) -> dict[str, Any]:
    """The status the virtual pod should report: what really happened on the host."""
    status = clone(host_pod.get("status") or {})
    # Conditions, phase, IPs, container states and start time carry over as they are.
    status.pop("nominatedNodeName", None)
    return status


def status_changed(virtual_pod: dict[str, Any], host_pod: dict[str, Any]) -> bool:
    return (virtual_pod.get("status") or {}) != virtual_status(host_pod)


def mutable_changes(virtual_pod: dict[str, Any], host_pod: dict[str, Any],
                    ctx: SyncContext) -> dict[str, Any] | None:
    """A patch for what may change on a running pod: images (and the virtual identity).

    The API server refuses any other change of a pod's spec, so the rest is settled when
    the host pod is created.
    """
    patch: dict[str, Any] = {}
    for list_name in ("initContainers", "containers"):
        wanted = {c["name"]: c.get("image") for c in
                  (virtual_pod.get("spec") or {}).get(list_name) or []}
        current = (host_pod.get("spec") or {}).get(list_name) or []
        if any(c["name"] in wanted and c.get("image") != wanted[c["name"]] for c in current):
            patch.setdefault("spec", {})[list_name] = [
                {"name": c["name"], "image": wanted.get(c["name"], c.get("image"))}
                for c in current]
    wanted_labels = {**dict(ctx.extra_labels),
                     **host_metadata(virtual_pod, ctx, naming.DNS_LABEL_MAX)["labels"]}
    if (host_pod["metadata"].get("labels") or {}) != wanted_labels:
        current_labels = host_pod["metadata"].get("labels") or {}
        patch["metadata"] = {"labels": {**{k: None for k in current_labels
                                           if k not in wanted_labels}, **wanted_labels}}
    return patch or None
