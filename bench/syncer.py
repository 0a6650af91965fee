"""The syncer under load: burst, latency, scale (a benchmark, not a timed test).

The host and the virtual sandbox (`preview sandbox apiserver`) run in their own processes,
`preview syncer` in a third. The client is the official `kubernetes` client with 8 threads.

1. burst: 1000 pods created at once in the virtual cluster; the time until all 1000 exist on
   the host, divided by the time the same client takes to create 1000 pods directly on the
   host in the same run (the floor). Target <= 1.5.
2. latency: 20 pods/s for 30 s; p50/p99 from virtual create to host create (watch ADDED on
   the host), and from host Running to virtual Running. Target p99 < 50 ms each way.
3. scale: 5000 synced objects (pods, Services, ConfigMaps): the syncer's RSS, and its CPU
   seconds over 60 s of idle. Target < 300 MiB and < 1 CPU-second per idle minute.

The last line printed is one JSON object with burst_ratio, p50_to_host_ms, p99_to_host_ms,
p99_to_virtual_ms, rss_mib_5000, idle_cpu_s_per_min (and the raw figures).

    .venv/bin/python bench/syncer.py [--burst 1000] [--rate 20] [--seconds 30]
                                     [--scale 5000] [--idle 60]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from _common import RunningSyncer, apiserver, header, report, syncer, until
from kubernetes import client, config

HOST_NS = "vc-bench"
NAME = "bench"
THREADS = 8


def pod(name: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    # No ServiceAccount token: each token is a TokenRequest plus a host Secret, which would
    # measure the token path three times over rather than the pod path.
    return {"metadata": {"name": name, "labels": labels or {"app": "bench"}},
            "spec": {"automountServiceAccountToken": False,
                     "containers": [{"name": "c", "image": "nginx"}]}}


def raw_watch(core: client.CoreV1Api, namespace: str, stop: threading.Event) -> Any:
    """Pod watch events as plain dicts with their arrival times. Raw JSON lines: the client's
    model deserialization would be slower than the syncer being measured."""
    rv = ""
    while not stop.is_set():
        try:
            if not rv:  # first, or after 410 Gone: everything there is, then changes
                listed = core.list_namespaced_pod(namespace, _preload_content=False)
                body = json.loads(listed.data)
                now = time.monotonic()
                for obj in body.get("items") or []:
                    yield now, obj
                rv = body["metadata"]["resourceVersion"]
            resp = core.list_namespaced_pod(namespace, watch=True, resource_version=rv,
                                            timeout_seconds=10, _preload_content=False)
            buffer = b""
            for chunk in resp.stream(65536):
                buffer += chunk
                *lines, buffer = buffer.split(b"\n")
                now = time.monotonic()
                for line in lines:
                    if line.strip():
                        event = json.loads(line)
                        if event["type"] == "ERROR":
                            rv = ""
                            break
                        rv = event["object"]["metadata"].get("resourceVersion", rv)
                        if event["type"] != "BOOKMARK":
                            yield now, event["object"]
                if stop.is_set():
                    return
        except Exception:
            if stop.is_set():
                return


class PodTimes:
    """First-seen and first-Running times of pods (by virtual name), on a thread."""

    def __init__(self, core: client.CoreV1Api, namespace: str, stop: threading.Event) -> None:
        self.added: dict[str, float] = {}
        self.running: dict[str, float] = {}
        threading.Thread(target=self._run, args=(core, namespace, stop), daemon=True).start()

    def _run(self, core: client.CoreV1Api, namespace: str, stop: threading.Event) -> None:
        for now, obj in raw_watch(core, namespace, stop):
            meta = obj["metadata"]
            key = (meta.get("annotations") or {}).get("preview-vcluster.io/object-name",
                                                      meta["name"])
            self.added.setdefault(key, now)
            if (obj.get("status") or {}).get("phase") == "Running":
                self.running.setdefault(key, now)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def proc_stats(pid: int) -> tuple[float, float]:
    """(RSS MiB, user+system CPU seconds) of a process, from /proc."""
    rss = 0.0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1]) / 1024
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return rss, (int(fields[11]) + int(fields[12])) / ticks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--burst", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--scale", type=int, default=5000)
    parser.add_argument("--idle", type=float, default=60.0)
    parser.add_argument("--nodes", type=int, default=26)
    args = parser.parse_args()
    result = header()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        host_kc, virtual_kc = tmp / "host.kubeconfig", tmp / "virtual.kubeconfig"
        with apiserver(host_kc, "host", args.nodes, stop_timeout=15), \
                apiserver(virtual_kc, "virtual", 0, stop_timeout=15):
            host_api = config.new_client_from_config(str(host_kc))
            virtual_api = config.new_client_from_config(str(virtual_kc))
            host_api.rest_client.pool_manager.connection_pool_kw["maxsize"] = THREADS
            virtual_api.rest_client.pool_manager.connection_pool_kw["maxsize"] = THREADS
            host, virtual = client.CoreV1Api(host_api), client.CoreV1Api(virtual_api)
            for ns in (HOST_NS, "floor"):
                host.create_namespace({"metadata": {"name": ns}})
            host.create_namespaced_service(HOST_NS, {"metadata": {"name": NAME},
                                                     "spec": {"ports": [{"port": 443}]}})
            with open(tmp / "syncer.log", "wb") as log, \
                    syncer(NAME, HOST_NS, host_kc, virtual_kc, "--api-service", NAME,
                           "--configs", "all", "--log-format", "json", stdout=log,
                           stderr=subprocess.STDOUT) as running:
                measure(args, host, virtual, running, result)
    report(result)


def measure(args: argparse.Namespace, host: client.CoreV1Api, virtual: client.CoreV1Api,
            running: RunningSyncer, result: dict[str, Any]) -> None:
    """The three measures, with the syncer running: into `result`."""
    pid = running.proc.pid
    stop = threading.Event()
    watcher = PodTimes(host, HOST_NS, stop)
    pool = ThreadPoolExecutor(THREADS)

    # 1. burst ---------------------------------------------------------------------
    started = time.monotonic()
    list(pool.map(lambda i: host.create_namespaced_pod("floor", pod(f"f-{i}")),
                  range(args.burst)))
    floor = time.monotonic() - started
    host.delete_collection_namespaced_pod("floor", grace_period_seconds=0)
    virtual.create_namespace({"metadata": {"name": "burst"}})
    names = [f"b-{i}" for i in range(args.burst)]
    _, cpu_start = proc_stats(pid)
    started = time.monotonic()
    list(pool.map(lambda n: virtual.create_namespaced_pod("burst", pod(n)), names))
    until(lambda: all(n in watcher.added for n in names), 600, 0.01)
    burst = max(watcher.added[n] for n in names) - started
    _, cpu_burst = proc_stats(pid)
    load = os.getloadavg()[0]
    result.update(burst_pods=args.burst, burst_s=round(burst, 2),
                  burst_syncer_cpu_ms_per_pod=round((cpu_burst - cpu_start) * 1000
                                                    / args.burst, 1),
                  load_average=round(load, 1),
                  floor_s=round(floor, 2), burst_ratio=round(burst / floor, 2))
    print(f"burst: {burst:.2f}s vs floor {floor:.2f}s", file=sys.stderr)

    # 2. latency -------------------------------------------------------------------
    virtual.create_namespace({"metadata": {"name": "latency"}})
    v_running = PodTimes(virtual, "latency", stop).running
    sent: dict[str, float] = {}
    count = int(args.rate * args.seconds)
    begin = time.monotonic()
    for i in range(count):
        time.sleep(max(0.0, begin + i / args.rate - time.monotonic()))
        name = f"l-{i}"
        sent[name] = time.monotonic()
        virtual.create_namespaced_pod("latency", pod(name))
    deadline = time.monotonic() + 300
    while not all(n in v_running for n in sent) and time.monotonic() < deadline:
        time.sleep(0.1)
    to_host = [watcher.added[n] - sent[n] for n in sent if n in watcher.added]
    to_virtual = [v_running[n] - watcher.running[n] for n in sent
                  if n in v_running and n in watcher.running]
    result.update(
        latency_pods=count, latency_not_running_after_300s=count - len(to_virtual),
        p50_to_host_ms=round(percentile(to_host, 0.5) * 1000, 1),
        p99_to_host_ms=round(percentile(to_host, 0.99) * 1000, 1),
        p50_to_virtual_ms=round(percentile(to_virtual, 0.5) * 1000, 1),
        p99_to_virtual_ms=round(percentile(to_virtual, 0.99) * 1000, 1))
    print(f"latency: {result}", file=sys.stderr)

    # 3. scale ---------------------------------------------------------------------
    virtual.create_namespace({"metadata": {"name": "scale"}})
    synced = args.burst + count
    more = max(0, args.scale - synced)
    pods = more // 3
    services = more // 3
    configmaps = more - pods - services
    list(pool.map(lambda i: virtual.create_namespaced_pod("scale", pod(f"s-{i}")),
                  range(pods)))
    list(pool.map(lambda i: virtual.create_namespaced_service("scale", {
        "metadata": {"name": f"svc-{i}"},
        "spec": {"selector": {"app": f"a{i}"}, "ports": [{"port": 80}]}}),
        range(services)))
    list(pool.map(lambda i: virtual.create_namespaced_config_map("scale", {
        "metadata": {"name": f"cm-{i}"}, "data": {"k": "v" * 64}}), range(configmaps)))
    selector = f"preview-vcluster.io/vcluster={NAME}"

    def host_total() -> int:
        return sum(len(lister(HOST_NS, label_selector=selector).items) for lister in (
            host.list_namespaced_pod, host.list_namespaced_service,
            host.list_namespaced_config_map))
    until(lambda: host_total() >= args.scale, 900, 2.0)
    # Idle starts once the syncer has worked off what the scale phase caused (status and
    # cluster-IP hand-backs, Events copied in): its queue stays empty for 5 s.
    quiet_since = [time.monotonic()]

    def quiet() -> bool:
        if running.metric("preview_syncer_queue_depth") > 0:
            quiet_since[0] = time.monotonic()
        return time.monotonic() - quiet_since[0] >= 5.0
    until(quiet, 900, 0.5)
    rss, cpu_before = proc_stats(pid)
    print(f"idle: {args.scale} objects synced; measuring the syncer for {args.idle:.0f}s",
          file=sys.stderr)
    time.sleep(args.idle)
    rss_after, cpu_after = proc_stats(pid)
    result.update(scale_objects=host_total(), rss_mib_5000=round(max(rss, rss_after), 1),
                  idle_cpu_s_per_min=round((cpu_after - cpu_before) * 60 / args.idle,
                                           2))
    stop.set()
    pool.shutdown(wait=False)


if __name__ == "__main__":
    main()
