"""Preview environments made directly on a host sandbox, as `preview up` labels them.

Creating 40 real virtual clusters would take minutes; the GC only reads the namespace's
labels and annotations and the health of the chart's StatefulSet, so that is what is made.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from kubernetes import client

from preview import naming

BLOCKING_FINALIZER = "example.com/blocker"


@dataclass(frozen=True)
class Spec:
    """One environment to make: its PR, times relative to `now`, and its state."""

    repo: str
    pr: int
    age: dt.timedelta = dt.timedelta(days=2)
    expires_in: dt.timedelta = dt.timedelta(days=5)
    healthy: bool = True
    stuck: bool = False  # Terminating, blocked by a finalizer on one of our ConfigMaps
    foreign_blocker: bool = False  # …on a ConfigMap that is not ours

    @property
    def namespace(self) -> str:
        owner, name = self.repo.split("/")
        return naming.environment_for(owner, name, self.pr).namespace


def rfc3339(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def make(core: client.CoreV1Api, apps: client.AppsV1Api, spec: Spec, now: dt.datetime) -> None:
    owner, name = spec.repo.split("/")
    env = naming.environment_for(owner, name, spec.pr)
    core.create_namespace({"metadata": {
        "name": env.namespace, "labels": naming.namespace_labels(env),
        "annotations": naming.namespace_annotations(
            env, created_at=rfc3339(now - spec.age), expires_at=rfc3339(now + spec.expires_in),
            head_sha="a" * 40, url=f"https://pr-{spec.pr}.example.com")}})
    if spec.healthy:
        labels = {"app.kubernetes.io/name": "vcluster",
                  "app.kubernetes.io/part-of": naming.MANAGED_BY_VALUE,
                  "app.kubernetes.io/instance": env.vcluster}
        apps.create_namespaced_stateful_set(env.namespace, {
            "metadata": {"name": env.vcluster, "labels": labels},
            "spec": {"replicas": 1, "serviceName": env.vcluster,
                     "selector": {"matchLabels": {"app": env.vcluster}},
                     "template": {"metadata": {"labels": {"app": env.vcluster}},
                                  "spec": {"containers": [
                                      {"name": "app", "image": "registry.example/app:1"}]}}}})
    if spec.stuck or spec.foreign_blocker:
        labels = {naming.MANAGED_BY: naming.MANAGED_BY_VALUE} if spec.stuck else {}
        core.create_namespaced_config_map(env.namespace, {"metadata": {
            "name": "blocker", "labels": labels, "finalizers": [BLOCKING_FINALIZER]}})
        core.delete_namespace(env.namespace)


def ready(apps: client.AppsV1Api, specs: list[Spec]) -> bool:
    healthy = {s.namespace for s in specs if s.healthy and not (s.stuck or s.foreign_blocker)}
    listed = apps.list_stateful_set_for_all_namespaces(
        label_selector="app.kubernetes.io/name=vcluster").items
    done = {s.metadata.namespace for s in listed
            if s.status is not None and (s.status.ready_replicas or 0) >= 1}
    return healthy <= done


def terminating(core: client.CoreV1Api, specs: list[Spec]) -> bool:
    """Every stuck environment is Terminating with its ConfigMap marked for deletion."""
    for spec in specs:
        if spec.stuck or spec.foreign_blocker:
            cm = core.read_namespaced_config_map("blocker", spec.namespace)
            if cm.metadata.deletion_timestamp is None:
                return False
    return True
