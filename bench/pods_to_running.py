"""Time for a Deployment scaled to N pods to have every pod Running and Ready (host sandbox).

Starts `preview sandbox apiserver --flavour host` as a subprocess, creates a Deployment with
1 replica, waits for it, scales it to N through the scale subresource, and measures until
the Deployment reports N available replicas (every pod scheduled, started and ready: the
ReplicaSet controller, scheduler and kubelet all had their turn). Also reported: the sandbox
process's CPU seconds over that span and the load average at the end.

    .venv/bin/python bench/pods_to_running.py [--pods 500] [-o json]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import apiserver, header, proc_stats, report
from kubernetes import client, config, watch


def wait_available(apps: client.AppsV1Api, name: str, replicas: int, timeout: float) -> None:
    w = watch.Watch()
    for event in w.stream(apps.list_namespaced_deployment, "default",
                          field_selector=f"metadata.name={name}", timeout_seconds=int(timeout)):
        status = event["object"].status
        if status and (status.available_replicas or 0) >= replicas:
            w.stop()
            return
    raise SystemExit(f"deployment {name} did not reach {replicas} available in {timeout}s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=500)
    parser.add_argument("--nodes", type=int, default=5,
                        help="nodes of the host cluster (110 pods fit on each)")
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("-o", "--output", choices=["text", "json"], default="text")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        kubeconfig = Path(tmp) / "kubeconfig"
        with apiserver(kubeconfig, nodes=args.nodes) as server, \
                config.new_client_from_config(str(kubeconfig)) as api:
            apps = client.AppsV1Api(api)
            apps.create_namespaced_deployment("default", {
                "metadata": {"name": "bench"},
                "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "bench"}},
                         "template": {"metadata": {"labels": {"app": "bench"}},
                                      "spec": {"containers": [{"name": "c",
                                                               "image": "nginx"}]}}}})
            wait_available(apps, "bench", 1, args.timeout)
            started, (_, cpu_start) = time.monotonic(), proc_stats(server.pid)
            apps.patch_namespaced_deployment_scale("bench", "default",
                                                   {"spec": {"replicas": args.pods}})
            wait_available(apps, "bench", args.pods, args.timeout)
            elapsed = time.monotonic() - started
            cpu = proc_stats(server.pid)[1] - cpu_start

    result: dict[str, Any] = {
        **header(),
        "pods": args.pods, "nodes": args.nodes, "seconds": round(elapsed, 1),
        "pods_per_s": round((args.pods - 1) / elapsed, 1),
        # The sandbox's own CPU time over the same span: what a shared machine's load
        # stretches the wall time around, but changes little.
        "sandbox_cpu_s": round(cpu, 1), "load_average": round(os.getloadavg()[0], 1),
    }
    report(result, args.output)


if __name__ == "__main__":
    main()
