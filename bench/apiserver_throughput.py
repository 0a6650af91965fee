"""Throughput of the sandbox API server with the official `kubernetes` client.

Starts `preview sandbox apiserver` as a subprocess (so client and server don't share a GIL,
as in real use), then measures, from one client thread over keep-alive HTTP:
creates/s, gets/s, lists/s (of a namespace of N objects) and watch events/s.

    .venv/bin/python bench/apiserver_throughput.py [--objects 2000] [-o json]
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

from _common import apiserver, header, report
from kubernetes import client, config, watch


def rate(n: int, seconds: float) -> float:
    return round(n / seconds, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=2000, help="objects to create")
    parser.add_argument("--gets", type=int, default=2000)
    parser.add_argument("--lists", type=int, default=50)
    parser.add_argument("-o", "--output", choices=["text", "json"], default="text")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        kubeconfig = Path(tmp) / "kubeconfig"
        with apiserver(kubeconfig):
            api = client.CoreV1Api(config.new_client_from_config(str(kubeconfig)))
            api.create_namespace({"metadata": {"name": "bench"}})
            # Watch in a second thread from the namespace's current version.
            rv = api.list_namespaced_config_map("bench").metadata.resource_version
            received = 0
            watch_done = threading.Event()
            watch_end = 0.0

            def follow() -> None:
                nonlocal received, watch_end
                w = watch.Watch()
                for _ in w.stream(api.list_namespaced_config_map, "bench", resource_version=rv,
                                  _preload_content=True, timeout_seconds=300):
                    received += 1
                    if received == args.objects:
                        watch_end = time.perf_counter()
                        w.stop()
                watch_done.set()

            watcher = threading.Thread(target=follow, daemon=True)
            watcher.start()
            time.sleep(0.2)  # let the watch connect before timing creates

            body = {"metadata": {"name": ""}, "data": {"key": "value" * 10}}
            t0 = time.perf_counter()
            for i in range(args.objects):
                body["metadata"]["name"] = f"cm-{i}"
                api.create_namespaced_config_map("bench", body)
            create_s = time.perf_counter() - t0
            watch_done.wait(120)
            watch_s = watch_end - t0 if watch_end else float("nan")

            t0 = time.perf_counter()
            for i in range(args.gets):
                api.read_namespaced_config_map(f"cm-{i % args.objects}", "bench")
            get_s = time.perf_counter() - t0

            t0 = time.perf_counter()
            for _ in range(args.lists):
                api.list_namespaced_config_map("bench", _preload_content=False).read()
            list_s = time.perf_counter() - t0

    result = {
        **header(),
        "objects": args.objects,
        "creates_per_s": rate(args.objects, create_s),
        "gets_per_s": rate(args.gets, get_s),
        "lists_per_s": rate(args.lists, list_s),
        "list_size": args.objects,
        "watch_events_per_s": rate(received, watch_s) if watch_end else 0.0,
        "watch_events_received": received,
    }
    report(result, args.output)


if __name__ == "__main__":
    main()
