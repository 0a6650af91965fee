"""Host names and ownership labels of synced objects: the syncer's side of the label contract.

A virtual object `<name>` in namespace `<namespace>` of virtual cluster `<vcluster>` becomes
`<name>-x-<namespace>-x-<vcluster>` in the host namespace. When that is longer than the
kind allows, it is cut and ends with a hash of the full name, so distinct (namespace, name)
pairs never collide and the same pair always maps to the same host name. Pure functions.
"""

from __future__ import annotations

import hashlib

PREFIX = "preview-vcluster.io/"
# On every synced host object.
MANAGED_BY = f"{PREFIX}managed-by"  # value: "syncer"
VCLUSTER = f"{PREFIX}vcluster"  # value: the owning virtual cluster's name (ownership label)
VIRTUAL_NAMESPACE = f"{PREFIX}namespace"  # label: the virtual namespace (sanitized)
VIRTUAL_NAME_ANNOTATION = f"{PREFIX}object-name"
VIRTUAL_NAMESPACE_ANNOTATION = f"{PREFIX}object-namespace"
VIRTUAL_UID_ANNOTATION = f"{PREFIX}object-uid"
# On the host Secret holding a pod's virtual ServiceAccount token: the pod's virtual name.
TOKEN_FOR_POD_ANNOTATION = f"{PREFIX}token-for-pod"

DNS_LABEL_MAX = 63  # pods' hostnames, services
DNS_SUBDOMAIN_MAX = 253  # most other kinds
_HASH_LEN = 10


def host_name(name: str, namespace: str, vcluster: str, limit: int = DNS_SUBDOMAIN_MAX) -> str:
    """The host object name of a namespaced virtual object, at most `limit` characters.

    The readable form is used only when it decodes unambiguously: with `vcluster` fixed, the
    name is whatever precedes the first `-x-`, so the name must not contain `-x-` nor end
    in `-x` (("a-x", "b") and ("a", "x-b") would otherwise both read `a-x-x-b-x-vc`).
    Otherwise the name ends with a hash of the (namespace, name) pair.
    """
    full = f"{name}-x-{namespace}-x-{vcluster}"
    if len(full) <= limit and "-x-" not in name and not name.endswith("-x"):
        return full
    digest = hashlib.sha256(f"{namespace}/{name}/{vcluster}".encode()).hexdigest()[:_HASH_LEN]
    head = full[:limit - _HASH_LEN - 1].rstrip("-.")
    return f"{head}-{digest}"


def cluster_scoped_host_name(name: str, vcluster: str, limit: int = DNS_SUBDOMAIN_MAX) -> str:
    """The host name of a cluster-scoped virtual object (e.g. a PersistentVolume)."""
    full = f"{name}-x-{vcluster}"
    if len(full) <= limit:
        return full
    digest = hashlib.sha256(full.encode()).hexdigest()[:_HASH_LEN]
    return f"{full[:limit - _HASH_LEN - 1].rstrip('-.')}-{digest}"


def label_value(value: str) -> str:
    """A label-safe form of any string (<= 63 chars, alphanumeric at both ends)."""
    if len(value) <= DNS_LABEL_MAX and _label_safe(value):
        return value
    cleaned = "".join(c if c.isalnum() or c in "-_." else "-" for c in value).strip("-_.")
    digest = hashlib.sha256(value.encode()).hexdigest()[:_HASH_LEN]
    if len(cleaned) <= DNS_LABEL_MAX and cleaned == value:
        return cleaned
    return f"{cleaned[:DNS_LABEL_MAX - _HASH_LEN - 1].rstrip('-_.')}-{digest}".lstrip("-_.")


def _label_safe(value: str) -> bool:
    if not value:
        return True
    return (value[0].isalnum() and value[-1].isalnum()
            and all(c.isalnum() or c in "-_." for c in value))


def ownership_labels(vcluster: str, namespace: str) -> dict[str, str]:
    """Labels that prove a host object belongs to this virtual cluster's syncer."""
    return {MANAGED_BY: "syncer", VCLUSTER: label_value(vcluster),
            VIRTUAL_NAMESPACE: label_value(namespace)}


def is_owned(host_obj: dict[str, object], vcluster: str) -> bool:
    """Whether the syncer of `vcluster` may modify or delete this host object."""
    meta = host_obj.get("metadata")
    labels = (meta.get("labels") if isinstance(meta, dict) else None) or {}
    return isinstance(labels, dict) and labels.get(MANAGED_BY) == "syncer" and \
        labels.get(VCLUSTER) == label_value(vcluster)
