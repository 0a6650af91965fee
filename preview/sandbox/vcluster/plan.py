"""How the sandbox stands in for the vcluster control-plane pod: pure decisions, no I/O.

The pod of `charts/vcluster` (labels `app.kubernetes.io/name=vcluster`,
`app.kubernetes.io/component=control-plane`, containers `k3s` and `syncer`) runs as two
local processes (`runtime.py` starts them):

- `k3s`: a virtual-flavour sandbox API server, `python -m preview sandbox apiserver`, told
  what k3s was told: `--service-cidr`, `--tls-san` (its serving certificate names them),
  `--write-kubeconfig` (it writes its admin kubeconfig there), `--data-dir` (it keeps k3s's
  CAs and certificates in `server/tls` there, where the syncer's `--kubelet-ca-dir` finds
  the client CA, and presents k3s's kubelet client certificate to the syncer's kubelet
  API), on a free loopback port that serves container port 6443 (`--https-listen-port`);
- `syncer`: its own command line (the image's entrypoint `preview syncer` + the pod's args)
  as `python -m preview syncer …`, with `--port` moved to a free loopback port that serves
  the container port it named: pods share the loopback interface here, so two syncers
  cannot both listen on 8443. `--advertise-address=127.0.0.1` stays true.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass

LABELS = {"app.kubernetes.io/name": "vcluster",
          "app.kubernetes.io/component": "control-plane"}
K3S, SYNCER = "k3s", "syncer"
# The syncer image's ENTRYPOINT (Dockerfile): the chart passes `args` only.
SYNCER_ENTRYPOINT = ("preview", "syncer")
SYNCER_DEFAULT_PORT = 8443  # `preview syncer --port`'s default
K3S_DEFAULT_PORT = 6443  # k3s --https-listen-port's default


def is_control_plane(pod: dict[str, object]) -> bool:
    """Whether `pod` is a vcluster control-plane pod this runtime can run."""
    meta = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    assert isinstance(meta, dict) and isinstance(spec, dict)
    labels = meta.get("labels") or {}
    names = {c.get("name") for c in spec.get("containers") or []}
    return all(labels.get(k) == v for k, v in LABELS.items()) and {K3S, SYNCER} <= names


@dataclass(frozen=True)
class K3sServer:
    """What the stand-in needs from `k3s server`'s command line (paths still in-container)."""

    write_kubeconfig: str = "/etc/rancher/k3s/k3s.yaml"  # k3s's default
    kubeconfig_mode: str = ""
    data_dir: str = "/var/lib/rancher/k3s"
    service_cidr: str = "10.43.0.0/16"  # k3s's default
    tls_sans: tuple[str, ...] = ()
    https_port: int = K3S_DEFAULT_PORT


def _flags(args: Sequence[str]) -> list[tuple[str, str]]:
    """`--flag=value` and `--flag value` pairs; bare flags get ""."""
    out: list[tuple[str, str]] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg.startswith("-"):
            name, sep, value = arg.lstrip("-").partition("=")
            if not sep and i + 1 < len(args) and not args[i + 1].startswith("-") \
                    and name in _VALUED:
                value = args[i + 1]
                i += 1
            out.append((name, value))
        i += 1
    return out


_VALUED = {"write-kubeconfig", "o", "write-kubeconfig-mode", "data-dir", "d", "service-cidr",
           "tls-san", "https-listen-port", "port", "advertise-address"}


def parse_k3s(command: Sequence[str]) -> K3sServer:
    """The `k3s server …` command line (`command` + `args`) as the stand-in reads it."""
    args = list(command)
    if "server" not in args:
        raise ValueError("the k3s container does not run `k3s server`: "
                         f"{' '.join(args) or '(no command)'}")
    found: dict[str, str] = {}
    sans: list[str] = []
    for name, value in _flags(args[args.index("server") + 1:]):
        if name == "tls-san":
            sans.extend(s.strip() for s in value.split(",") if s.strip())
        else:
            found[{"o": "write-kubeconfig", "d": "data-dir"}.get(name, name)] = value
    defaults = K3sServer()
    return K3sServer(
        write_kubeconfig=found.get("write-kubeconfig") or defaults.write_kubeconfig,
        kubeconfig_mode=found.get("write-kubeconfig-mode", ""),
        data_dir=found.get("data-dir") or defaults.data_dir,
        service_cidr=found.get("service-cidr") or defaults.service_cidr,
        tls_sans=tuple(dict.fromkeys(sans)),
        https_port=int(found.get("https-listen-port") or K3S_DEFAULT_PORT))


def apiserver_argv(k3s: K3sServer, kubeconfig: str, port: int, data_dir: str) -> list[str]:
    """The stand-in for k3s: a virtual-flavour sandbox on `port` writing `kubeconfig`, its
    certificates under `data_dir` (k3s's --data-dir, mapped to the pod's volume)."""
    argv = [sys.executable, "-m", "preview", "sandbox", "apiserver", "--flavour", "virtual",
            "--port", str(port), "--kubeconfig", kubeconfig, "--service-cidr", k3s.service_cidr,
            "--data-dir", data_dir]
    for san in k3s.tls_sans:
        argv += ["--tls-san", san]
    return argv


def syncer_argv(command: Sequence[str], port: int) -> tuple[list[str], int]:
    """The syncer's command line run locally, listening on `port`; and the port it asked for.

    The image's `preview` becomes this interpreter's `python -m preview`; `--port N` (or the
    default 8443 when absent) becomes `--port=<port>`.
    """
    argv = list(command)
    if not argv or argv[0].rsplit("/", 1)[-1] != "preview":
        raise ValueError("the syncer container must run `preview syncer …` (the image's "
                         f"entrypoint), not {' '.join(argv) or '(no command)'}")
    out = [sys.executable, "-m", "preview"]
    asked = SYNCER_DEFAULT_PORT
    i = 1
    while i < len(argv):
        arg = argv[i]
        if arg == "--port" and i + 1 < len(argv):
            asked = int(argv[i + 1])
            i += 2
            continue
        if arg.startswith("--port="):
            asked = int(arg.partition("=")[2])
        else:
            out.append(arg)
        i += 1
    return [*out, f"--port={port}"], asked


def move_port(argv: Sequence[str], flag: str, port: int) -> tuple[list[str], int | None]:
    """Rewrite `flag N` / `flag=N` to `flag=<port>`; returns the port it asked for (or None
    when the flag is absent, or 0: the feature is off)."""
    out: list[str] = []
    asked: int | None = None
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == flag and i + 1 < len(argv):
            asked = int(argv[i + 1])
            i += 2
            continue
        if arg.startswith(f"{flag}="):
            asked = int(arg.partition("=")[2])
        else:
            out.append(arg)
        i += 1
    if not asked:
        return list(argv), None
    return [*out, f"{flag}={port}"], asked
