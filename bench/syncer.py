"""The syncer under load: burst, latency, steady, scale (a benchmark, not a timed test).

The host and the virtual sandbox (`preview sandbox apiserver`) run in their own processes,
`preview syncer` in a third. The client is the official `kubernetes` client with 8 threads.

1. burst: 1000 pods created at once in the virtual cluster; the time until all 1000 exist on
   the host, divided by the time the same client takes to create 1000 pods directly on the
   host in the same run (the floor). Target <= 1.5.
2. latency: 20 pods/s for 30 s; p50/p99 from virtual create to host create (watch ADDED on
   the host), and from host Running to virtual Running. Target p99 < 50 ms each way.
   These pods are created while the burst's follow-up work (binds, status, Events) still
   fills the syncer's queue: latency under backlog.
3. steady: once the syncer's queue has stayed empty for 5 s, 20 pods/s for 60 s into the
   idle syncer (what a user feels): the same two latencies, as steady_p50/p99_*. Target p99
   < 50 ms each way.
4. scale: 5000 synced objects (pods, Services, ConfigMaps): the syncer's RSS, and its CPU
   seconds over 60 s of idle. Target < 300 MiB and < 1 CPU-second per idle minute.

The last line printed is one JSON object with burst_ratio, p50_to_host_ms, p99_to_host_ms,
p99_to_virtual_ms, steady_p50_to_host_ms, steady_p99_to_host_ms, steady_p50_to_virtual_ms,
steady_p99_to_virtual_ms, rss_mib_5000, idle_cpu_s_per_min (and the raw figures).

    .venv/bin/python bench/syncer.py [--burst 1000] [--rate 20] [--seconds 30]
                                     [--steady-rate 20] [--steady-seconds 60]
                                     [--scale 5000] [--idle 60] [--log FILE]

`--scale 0` stops after the steady phase.
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

from _common import RunningSyncer, apiserver, header, proc_stats, report, syncer, until
from kubernetes import client, config

from preview.control.collector import FreezeSurvivors

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


def ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def drained(running: RunningSyncer, quiet_for: float = 5.0) -> None:
    """Return once the syncer's work queue has stayed empty for `quiet_for` seconds."""
    since = [time.monotonic()]

    def quiet() -> bool:
        if running.metric("preview_syncer_queue_depth") > 0:
            since[0] = time.monotonic()
        return time.monotonic() - since[0] >= quiet_for
    until(quiet, 900, 0.5)


def paced(virtual: client.CoreV1Api, watcher: PodTimes, stop: threading.Event,
          namespace: str, prefix: str, rate: float, count: int
          ) -> tuple[list[float], list[float]]:
    """`count` pods created at `rate` a second in a new virtual namespace: (seconds from each
    virtual create to its host copy's ADDED, seconds from host Running to virtual Running)."""
    virtual.create_namespace({"metadata": {"name": namespace}})
    v_running = PodTimes(virtual, namespace, stop).running
    sent: dict[str, float] = {}
    begin = time.monotonic()
    for i in range(count):
        time.sleep(max(0.0, begin + i / rate - time.monotonic()))
        name = f"{prefix}-{i}"
        sent[name] = time.monotonic()
        virtual.create_namespaced_pod(namespace, pod(name))
    deadline = time.monotonic() + 300
    while not all(n in v_running for n in sent) and time.monotonic() < deadline:
        time.sleep(0.1)
    to_host = [watcher.added[n] - sent[n] for n in sent if n in watcher.added]
    to_virtual = [v_running[n] - watcher.running[n] for n in sent
                  if n in v_running and n in watcher.running]
    return to_host, to_virtual


def main() -> None:
    # The watchers' timestamps are this process's: its own full collector passes (the
    # kubernetes client's models, thousands of pods' times) would delay them. The policy of
    # the processes measured (preview/control/collector.py).
    FreezeSurvivors().install()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--burst", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--steady-rate", type=float, default=20.0)
    parser.add_argument("--steady-seconds", type=float, default=60.0)
    parser.add_argument("--scale", type=int, default=5000)
    parser.add_argument("--idle", type=float, default=60.0)
    parser.add_argument("--nodes", type=int, default=26)
    parser.add_argument("--log", type=Path, help="keep the syncer's JSON log in this file")
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
            with open(args.log or tmp / "syncer.log", "wb") as log, \
                    syncer(NAME, HOST_NS, host_kc, virtual_kc, "--api-service", NAME,
                           "--configs", "all", "--log-format", "json", stdout=log,
                           stderr=subprocess.STDOUT) as running:
                measure(args, host, virtual, running, result)
    report(result)


def measure(args: argparse.Namespace, host: client.CoreV1Api, virtual: client.CoreV1Api,
            running: RunningSyncer, result: dict[str, Any]) -> None:
    """The four measures, with the syncer running: into `result`."""
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

    # 2. latency, with the burst's follow-up work still queued ------------------------
    count = int(args.rate * args.seconds)
    to_host, to_virtual = paced(virtual, watcher, stop, "latency", "l", args.rate, count)
    result.update(
        latency_pods=count, latency_not_running_after_300s=count - len(to_virtual),
        p50_to_host_ms=ms(percentile(to_host, 0.5)), p99_to_host_ms=ms(percentile(to_host, 0.99)),
        p50_to_virtual_ms=ms(percentile(to_virtual, 0.5)),
        p99_to_virtual_ms=ms(percentile(to_virtual, 0.99)))
    print(f"latency: {result}", file=sys.stderr)

    # 3. steady: the same pace into an idle syncer ---------------------------------------
    drained(running)
    steady = int(args.steady_rate * args.steady_seconds)
    _, cpu_start = proc_stats(pid)
    to_host, to_virtual = paced(virtual, watcher, stop, "steady", "st", args.steady_rate,
                                steady)
    _, cpu_end = proc_stats(pid)
    result.update(
        steady_pods=steady, steady_not_running_after_300s=steady - len(to_virtual),
        steady_load_average=round(os.getloadavg()[0], 1),
        steady_syncer_cpu_ms_per_pod=round((cpu_end - cpu_start) * 1000 / max(1, steady), 1),
        steady_p50_to_host_ms=ms(percentile(to_host, 0.5)),
        steady_p99_to_host_ms=ms(percentile(to_host, 0.99)),
        steady_max_to_host_ms=ms(max(to_host)),
        steady_p50_to_virtual_ms=ms(percentile(to_virtual, 0.5)),
        steady_p99_to_virtual_ms=ms(percentile(to_virtual, 0.99)),
        steady_max_to_virtual_ms=ms(max(to_virtual)))
    print(f"steady: {result}", file=sys.stderr)
    if not args.scale:
        stop.set()
        pool.shutdown(wait=False)
        return

    # 3. scale ---------------------------------------------------------------------
    virtual.create_namespace({"metadata": {"name": "scale"}})
    synced = args.burst + count + steady
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
    drained(running)
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
