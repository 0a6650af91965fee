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
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from kubernetes import client, config, watch


def apiserver(tmp: Path, name: str, flavour: str) -> tuple[subprocess.Popen[str], str]:
    kubeconfig = tmp / f"{name}.kubeconfig"
    proc = subprocess.Popen([sys.executable, "-m", "preview", "sandbox", "apiserver",
                             "--flavour", flavour, "--nodes", "5", "--kubeconfig",
                             str(kubeconfig)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    if not proc.stdout.readline():
        raise SystemExit(f"{name} sandbox did not start")
    return proc, str(kubeconfig)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def until(predicate: Any, timeout: float = 300, interval: float = 0.005) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit("timed out")
        time.sleep(interval)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=20)
    parser.add_argument("--pods", type=int, default=200)
    parser.add_argument("-o", "--output", choices=["text", "json"], default="text")
    args = parser.parse_args()
    procs: list[subprocess.Popen[Any]] = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        try:
            host_proc, host_kc = apiserver(tmp, "host", "host")
            virtual_proc, virtual_kc = apiserver(tmp, "virtual", "virtual")
            procs += [host_proc, virtual_proc]
            host_api = config.new_client_from_config(host_kc)
            virtual_api = config.new_client_from_config(virtual_kc)
            host_core, v_core = client.CoreV1Api(host_api), client.CoreV1Api(virtual_api)
            v_apps = client.AppsV1Api(virtual_api)
            host_core.create_namespace({"metadata": {"name": "vc-bench"}})
            port = free_port()
            syncer = subprocess.Popen(
                [sys.executable, "-m", "preview", "syncer", "--name", "bench",
                 "--host-namespace", "vc-bench", "--host-kubeconfig", host_kc,
                 "--virtual-kubeconfig", virtual_kc, "--port", str(port),
                 "--kubelet-port", str(free_port())],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            procs.append(syncer)

            def ready() -> bool:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1):
                        return True
                except OSError:
                    return False
            until(ready, 60, 0.1)

            v_core.create_namespaced_config_map("default", {"metadata": {"name": "cfg"},
                                                            "data": {"n": "0"}})
            v_core.create_namespaced_pod("default", {
                "metadata": {"name": "reader"},
                "spec": {"containers": [{"name": "c", "image": "nginx",
                                         "envFrom": [{"configMapRef": {"name": "cfg"}}]}]}})
            host_cm = "cfg-x-default-x-bench"
            until(lambda: _data(host_core, host_cm) == {"n": "0"}, 60)
            latencies = []
            for i in range(1, args.updates + 1):
                started = time.monotonic()
                v_core.patch_namespaced_config_map("cfg", "default", {"data": {"n": str(i)}})
                until(lambda i=i: _data(host_core, host_cm) == {"n": str(i)}, 30)
                latencies.append(time.monotonic() - started)

            started = time.monotonic()
            v_apps.create_namespaced_deployment("default", {
                "metadata": {"name": "many"},
                "spec": {"replicas": args.pods, "selector": {"matchLabels": {"app": "many"}},
                         "template": {"metadata": {"labels": {"app": "many"}},
                                      "spec": {"containers": [{"name": "c",
                                                               "image": "nginx"}]}}}})
            w = watch.Watch()
            for event in w.stream(v_apps.list_namespaced_deployment, "default",
                                  field_selector="metadata.name=many", timeout_seconds=600):
                status = event["object"].status
                if status and (status.available_replicas or 0) >= args.pods:
                    w.stop()
            pods_seconds = time.monotonic() - started
        finally:
            for proc in reversed(procs):
                proc.terminate()
                proc.wait(10)

    latencies.sort()
    result = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()} {os.cpu_count()} cores, "
                   f"Python {platform.python_version()}",
        "configmap_updates": args.updates,
        "configmap_median_ms": round(statistics.median(latencies) * 1000),
        "configmap_p95_ms": round(latencies[int(len(latencies) * 0.95) - 1] * 1000),
        "pods": args.pods, "pods_seconds": round(pods_seconds, 1),
        "pods_per_s": round(args.pods / pods_seconds, 1),
    }
    if args.output == "json":
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>20}: {value}")


def _data(core: client.CoreV1Api, name: str) -> Any:
    try:
        return core.read_namespaced_config_map(name, "vc-bench").data
    except client.ApiException:
        return None


if __name__ == "__main__":
    main()
