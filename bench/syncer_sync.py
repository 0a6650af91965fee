"""How fast the syncer carries changes: ConfigMap updates to the host, and pods to Running.

Starts a host sandbox and a virtual-flavour sandbox (`preview sandbox apiserver`, one
process each) and `preview syncer` between them, as separate processes. Measures:

- ConfigMap propagation: a virtual ConfigMap that a pod references is updated N times; the
  time until the host copy carries each new value (median, p95).
- Pods to Running: a virtual Deployment scaled to P replicas; the time until it reports P
  available replicas (every pod created on the host, scheduled, started, its status copied
  back and the virtual ReplicaSet counting it).

    .venv/bin/python bench/syncer_sync.py [--updates 20] [--pods 200] [-o json]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import apiserver, free_port, header, report, syncer, until
from kubernetes import client, config, watch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=20)
    parser.add_argument("--pods", type=int, default=200)
    parser.add_argument("-o", "--output", choices=["text", "json"], default="text")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        host_kc, virtual_kc = tmp / "host.kubeconfig", tmp / "virtual.kubeconfig"
        with apiserver(host_kc, "host", 5), apiserver(virtual_kc, "virtual", 5):
            host_api = config.new_client_from_config(str(host_kc))
            virtual_api = config.new_client_from_config(str(virtual_kc))
            host_core, v_core = client.CoreV1Api(host_api), client.CoreV1Api(virtual_api)
            v_apps = client.AppsV1Api(virtual_api)
            host_core.create_namespace({"metadata": {"name": "vc-bench"}})
            with syncer("bench", "vc-bench", host_kc, virtual_kc, "--kubelet-port",
                        str(free_port()), stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL):
                latencies = configmap_latencies(host_core, v_core, args.updates)
                pods_seconds = pods_to_running(v_apps, args.pods)
    latencies.sort()
    report({**header(),
            "configmap_updates": args.updates,
            "configmap_median_ms": round(statistics.median(latencies) * 1000),
            "configmap_p95_ms": round(latencies[int(len(latencies) * 0.95) - 1] * 1000),
            "pods": args.pods, "pods_seconds": round(pods_seconds, 1),
            "pods_per_s": round(args.pods / pods_seconds, 1)}, args.output)


def configmap_latencies(host_core: client.CoreV1Api, v_core: client.CoreV1Api,
                        updates: int) -> list[float]:
    """Seconds from each update of a referenced virtual ConfigMap to its host copy's."""
    v_core.create_namespaced_config_map("default", {"metadata": {"name": "cfg"},
                                                    "data": {"n": "0"}})
    v_core.create_namespaced_pod("default", {
        "metadata": {"name": "reader"},
        "spec": {"containers": [{"name": "c", "image": "nginx",
                                 "envFrom": [{"configMapRef": {"name": "cfg"}}]}]}})
    host_cm = "cfg-x-default-x-bench"
    until(lambda: _data(host_core, host_cm) == {"n": "0"}, 60)
    latencies = []
    for i in range(1, updates + 1):
        started = time.monotonic()
        v_core.patch_namespaced_config_map("cfg", "default", {"data": {"n": str(i)}})
        until(lambda i=i: _data(host_core, host_cm) == {"n": str(i)}, 30)
        latencies.append(time.monotonic() - started)
    return latencies


def pods_to_running(v_apps: client.AppsV1Api, pods: int) -> float:
    """Seconds until a virtual Deployment of `pods` replicas has them all available."""
    started = time.monotonic()
    v_apps.create_namespaced_deployment("default", {
        "metadata": {"name": "many"},
        "spec": {"replicas": pods, "selector": {"matchLabels": {"app": "many"}},
                 "template": {"metadata": {"labels": {"app": "many"}},
                              "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}})
    w = watch.Watch()
    for event in w.stream(v_apps.list_namespaced_deployment, "default",
                          field_selector="metadata.name=many", timeout_seconds=600):
        status = event["object"].status
        if status and (status.available_replicas or 0) >= pods:
            w.stop()
    return time.monotonic() - started


def _data(core: client.CoreV1Api, name: str) -> Any:
    try:
        return core.read_namespaced_config_map(name, "vc-bench").data
    except client.ApiException:
        return None


if __name__ == "__main__":
    main()
