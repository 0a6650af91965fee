"""The runtime hook that runs the platform API's pod (`preview serve`) for real on a host
sandbox, as `vcluster/runtime.py` runs the syncer.

The host kubelet hands it the pod of `charts/preview-platform`'s Deployment
(`plan.is_platform_api`); it starts the container's own command line as
`python -m preview serve …` after doing what a kubelet does first (`kubelet/podsetup.py`):

- every volume becomes a directory of the pod's own temp dir, paths under a mountPath in
  args and env rewritten to it: the ConfigMap volume holds the policy the chart rendered
  (`--policy`), an issuer CA volume its PEM (`--issuer-ca`), the emptyDirs are `--workdir`
  and the `HOME`/`TMPDIR`/helm directories the chart's env points at;
- the `kube-api-access-*` volume holds a token from a TokenRequest bound to the pod
  (renewed at 80% of its lifetime), `ca.crt` and `namespace`; `PREVIEW_SERVICE_ACCOUNT_DIR`
  points `in_cluster()` at it and KUBERNETES_SERVICE_HOST/PORT at the host sandbox, so the
  API and the helm it runs act as the chart's ServiceAccount and nothing more: the chart's
  ClusterRole is what authorises every request, and a rule it lacks is a Forbidden, as on a
  real cluster;
- the process sees the container's env (plus PATH and friends to find Python); its output
  is the container's log; `--listen` (and `--wake-listen`, when given) moves to a free
  loopback port serving container port 8080 (8081), which port-forward, the pod and
  service proxies and the host ingress reach;
- the pod is Ready while the container's readinessProbe (`/readyz`) answers (the python
  runtime's probing, `kubelet/python_runtime.py`);
- on deletion the process gets SIGTERM (serve lets running operations finish within its
  `--shutdown-grace`), then SIGKILL after the stop timeout, and the directory is removed.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from preview.sandbox.kubelet import podspec
from preview.sandbox.kubelet.podsetup import SERVICE_ACCOUNT_DIR, PodSetup, machine_env
from preview.sandbox.kubelet.python_runtime import PythonPod, readiness_probes
from preview.sandbox.kubelet.runtime import Plan, Process, RunningPod, RuntimeContext, free_port
from preview.sandbox.platform import plan as platform_plan

log = logging.getLogger(__name__)


class PlatformRuntime:
    """Matches the platform API's pod and runs its `preview serve` container."""

    def __init__(self, stop_timeout: float = 10.0) -> None:
        self.stop_timeout = stop_timeout

    def matches(self, pod: dict[str, Any]) -> bool:
        return platform_plan.is_platform_api(pod)

    async def start(self, pod: dict[str, Any], context: RuntimeContext) -> RunningPod:
        if context.client is None:
            raise RuntimeError("the platform runtime needs the kubelet's API client")
        meta = pod["metadata"]
        root = Path(tempfile.mkdtemp(prefix=f"pod-{meta['namespace']}-{meta['name']}-"))
        try:
            setup = PodSetup(pod, context, context.client, root)
            tokens = await setup.fill_volumes()
            plan = await _plan(setup)
            probes = [probe for spec in (pod.get("spec") or {}).get("containers") or []
                      for probe in readiness_probes(spec, plan.ports)]
        except BaseException:
            shutil.rmtree(root, ignore_errors=True)
            raise
        running = PythonPod(plan.ports, self.stop_timeout, root)
        mapped = ", ".join(f"{p} is 127.0.0.1:{lp}" for p, lp in plan.ports.items())
        for process in plan.processes:
            running.log(f"sandbox runtime: a local process; container port {mapped}; "
                        f"volumes are under {root}", process.container)
        await running.launch(plan)
        running.watch(probes, tokens, setup)
        return running


async def _plan(setup: PodSetup) -> Plan:
    url = urlsplit(setup.context.api_url)
    base = podspec.service_env(url.hostname or "127.0.0.1", url.port or 443)
    processes: list[Process] = []
    ports: dict[int, int] = {}
    for spec in (setup.pod.get("spec") or {}).get("containers") or []:
        name = str(spec["name"])
        mounted = podspec.mounts(spec, setup.dirs)
        env = await setup.env(spec, {**base, **await setup.env_from(spec)}, mounted)
        command = [podspec.map_path(a, mounted) for a in podspec.command_line(
            spec, platform_plan.ENTRYPOINT, env)]
        argv, own = platform_plan.serve_argv(command, free_port(), free_port())
        ports.update(own)
        sa_dir = podspec.map_path(SERVICE_ACCOUNT_DIR, mounted)
        if sa_dir != SERVICE_ACCOUNT_DIR:  # mounted: automountServiceAccountToken is on
            env["PREVIEW_SERVICE_ACCOUNT_DIR"] = sa_dir
        cwd = setup.root / "containers" / name
        cwd.mkdir(parents=True, exist_ok=True)
        processes.append(Process(argv, machine_env(env), name, str(cwd), inherit_env=False))
    return Plan(processes, ports, tcp_ready=False)
