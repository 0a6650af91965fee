"""Finding the host's Service CIDR the way a client can.

The virtual API server must allocate cluster IPs from the host's range: the syncer hands
each virtual Service its host copy's IP. Clients cannot read the apiserver's
`--service-cluster-ip-range`, but the server names it when refusing an IP outside it: a
dry-run Service asking for an impossible IP gets a 422 whose message ends with "The range of
valid IPs is <cidr>". Nothing is created.
"""

from __future__ import annotations

import re
from typing import Any

from preview.errors import PreviewError
from preview.kube.client import ApiError, Invalid, KubeClient
from preview.kube.resources import SERVICES

_RANGE = re.compile(r"[Tt]he range of valid IPs is ([0-9A-Fa-f:.]+/\d+)")
_PROBES = ("1.1.1.1", "255.255.255.254", "0.0.0.1")  # one of them is outside any sane range


def parse_range(message: str) -> str | None:
    """The CIDR named in the API server's out-of-range message (pure)."""
    match = _RANGE.search(message)
    return match.group(1) if match else None


def probe_service(ip: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "preview-vcluster-cidr-probe"},
            "spec": {"clusterIP": ip, "ports": [{"port": 443}]}}


async def detect(kube: KubeClient, namespace: str) -> str:
    """The host's Service CIDR; PreviewError when the server does not say."""
    last = ""
    for ip in _PROBES:
        try:
            await kube.request("POST", SERVICES.path(namespace), probe_service(ip),
                               params={"dryRun": "All"})
        except ApiError as e:
            found = parse_range(e.message)
            if found:
                return found
            last = e.message
            if not isinstance(e, Invalid):
                break
    raise PreviewError("could not detect the host cluster's Service CIDR"
                       + (f" (the API server said: {last})" if last else ""),
                       "pass it explicitly: --set serviceCIDR=10.96.0.0/12")
