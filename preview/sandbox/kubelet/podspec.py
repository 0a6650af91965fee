"""What a container of a pod sees, worked out for a process on the sandbox's own machine.

A runtime hook runs a container as a local process (`runtime.py`), and a process is not in
a container: every pod on the machine shares one filesystem and one loopback interface.
These pure functions bridge that, and are the documented liberties the runtimes take:

- volumes: each volume of the pod becomes a directory of its own (`volume_dirs`); an
  absolute path under a container's mountPath, in its args or env values, is rewritten to
  the same path under that directory (`map_path`), so `--data-dir=/data/k3s` becomes
  `--data-dir=<pod dir>/volumes/data/k3s` and two containers mounting one volume share it;
- environment: what the kubelet gives a container (`container_env`): the `kubernetes`
  Service's variables, then `env` in order, with `$(VAR)` references expanded and
  `valueFrom` resolved (downward API fields, ConfigMap and Secret keys) as the kubelet
  does (kubelet_pods.go makeEnvironmentVariables; expansion rules of third_party/forked
  golang/expansion);
- command line: `command` (else the image's entrypoint) + `args`, `$(VAR)`-expanded.

Ports are the runtime's business (it knows which flag a program listens on).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

# (kind "configMap"|"secret", name, key) -> the value, or None when missing.
RefLookup = Callable[[str, str, str], str | None]
_FIELD = re.compile(r"^metadata\.(labels|annotations)\['(.+)'\]$")


def container(pod: dict[str, Any], name: str) -> dict[str, Any]:
    """The regular container `name` of the pod (KeyError when there is none)."""
    for c in (pod.get("spec") or {}).get("containers") or []:
        if c.get("name") == name:
            return dict(c)
    raise KeyError(f"pod has no container {name!r}")


def container_port(spec: dict[str, Any], name_or_number: str | int) -> int | None:
    """A container port by number or by name (as probes and Services name them)."""
    for port in spec.get("ports") or []:
        if str(port.get("containerPort")) == str(name_or_number) or \
                port.get("name") == name_or_number:
            return int(port["containerPort"])
    return None


# -- volumes ----------------------------------------------------------------------------------
def volume_dirs(pod: dict[str, Any], root: Path) -> dict[str, Path]:
    """One directory per volume of the pod, under the pod's own directory `root`."""
    return {str(v["name"]): root / "volumes" / str(v["name"])
            for v in (pod.get("spec") or {}).get("volumes") or [] if v.get("name")}


def mounts(spec: dict[str, Any], dirs: Mapping[str, Path]) -> list[tuple[str, Path]]:
    """(mountPath, directory) of a container's mounts, longest mountPath first.

    A mount of `/` is left out: rewriting every absolute path would move the process's
    whole view of the machine, which is not what a volume mounted there means.
    """
    out = []
    for mount in spec.get("volumeMounts") or []:
        path = str(mount.get("mountPath") or "").rstrip("/")
        directory = dirs.get(str(mount.get("name")))
        if not path or directory is None:
            continue
        sub = str(mount.get("subPath") or "")
        out.append((path, directory / sub if sub else directory))
    return sorted(out, key=lambda m: len(m[0]), reverse=True)


def map_path(value: str, mounted: Sequence[tuple[str, Path]]) -> str:
    """`value` with each absolute path under a mountPath moved to the volume's directory.

    A path counts where it starts the value or follows `=`, `:` or `,` (flag values, PATH-like
    lists) and ends at `/`, `:`, `,` or the end: `/data` in `--dir=/data/x` maps, in
    `/database` or `/srv/data` it does not.
    """
    if not mounted:
        return value
    # One pass, longest mountPath first: a rewritten path is never rewritten again (the
    # pod's directory may itself lie under a mountPath such as /tmp).
    targets = {path: str(directory) for path, directory in mounted}
    pattern = re.compile(r"(^|[=:,])(" + "|".join(
        re.escape(p) for p in sorted(targets, key=len, reverse=True)) + r")(?=$|[/:,])")
    return pattern.sub(lambda m: m.group(1) + targets[m.group(2)], value)


# -- environment and command line ----------------------------------------------------------------
def expand(text: str, env: Mapping[str, str]) -> str:
    """Kubernetes `$(VAR)` expansion: defined names replaced, `$$` escapes, the rest kept."""
    out: list[str] = []
    i = 0
    while i < len(text):
        if text[i] == "$" and i + 1 < len(text):
            nxt = text[i + 1]
            if nxt == "$":
                out.append("$")
                i += 2
                continue
            if nxt == "(":
                end = text.find(")", i + 2)
                if end != -1:
                    name = text[i + 2:end]
                    out.append(env[name] if name in env else text[i:end + 1])
                    i = end + 1
                    continue
        out.append(text[i])
        i += 1
    return "".join(out)


def service_env(host: str, port: int) -> dict[str, str]:
    """The variables the kubelet sets for the `default/kubernetes` Service (port name https)."""
    addr = f"tcp://{host}:{port}"
    return {
        "KUBERNETES_SERVICE_HOST": host, "KUBERNETES_SERVICE_PORT": str(port),
        "KUBERNETES_SERVICE_PORT_HTTPS": str(port), "KUBERNETES_PORT": addr,
        f"KUBERNETES_PORT_{port}_TCP": addr, f"KUBERNETES_PORT_{port}_TCP_PROTO": "tcp",
        f"KUBERNETES_PORT_{port}_TCP_PORT": str(port), f"KUBERNETES_PORT_{port}_TCP_ADDR": host,
    }


def field_value(pod: dict[str, Any], path: str, pod_ip: str, host_ip: str) -> str:
    """A downward-API `fieldRef` of the pod (the paths env vars may use)."""
    meta, spec = pod.get("metadata") or {}, pod.get("spec") or {}
    match = _FIELD.match(path)
    if match:
        return str((meta.get(match.group(1)) or {}).get(match.group(2), ""))
    values = {
        "metadata.name": meta.get("name"), "metadata.namespace": meta.get("namespace"),
        "metadata.uid": meta.get("uid"), "spec.nodeName": spec.get("nodeName"),
        "spec.serviceAccountName": spec.get("serviceAccountName"),
        "status.podIP": pod_ip, "status.podIPs": pod_ip, "status.hostIP": host_ip,
        "status.hostIPs": host_ip,
    }
    if path not in values:
        raise ValueError(f"unsupported fieldRef {path!r}")
    return str(values[path] or "")


def container_env(pod: dict[str, Any], spec: dict[str, Any], base: Mapping[str, str],
                  lookup: RefLookup, pod_ip: str, host_ip: str) -> dict[str, str]:
    """The container's environment: `base` (the Service variables), then its `env` in order.

    `envFrom` is left out (the control-plane pod does not use it). A missing ConfigMap or
    Secret key fails the start, as it does on a real kubelet (CreateContainerConfigError),
    unless the reference is `optional`.
    """
    env = dict(base)
    for var in spec.get("env") or []:
        name = str(var["name"])
        source = var.get("valueFrom")
        if source is None:
            env[name] = expand(str(var.get("value") or ""), env)
            continue
        if "fieldRef" in source:
            env[name] = field_value(pod, source["fieldRef"]["fieldPath"], pod_ip, host_ip)
        elif "configMapKeyRef" in source or "secretKeyRef" in source:
            kind = "configMap" if "configMapKeyRef" in source else "secret"
            ref = source[f"{kind}KeyRef"]
            value = lookup(kind, str(ref.get("name", "")), str(ref["key"]))
            if value is None:
                if ref.get("optional"):
                    continue
                raise ValueError(f"couldn't find key {ref['key']} in {kind} "
                                 f"{pod['metadata'].get('namespace')}/{ref.get('name')}")
            env[name] = value
        elif "resourceFieldRef" in source:
            continue  # limits as numbers: nothing here reads them
    return env


def command_line(spec: dict[str, Any], entrypoint: Sequence[str],
                 env: Mapping[str, str]) -> list[str]:
    """`command` (else the image's entrypoint) and `args`, with `$(VAR)` expanded."""
    command = list(spec.get("command") or entrypoint)
    return [expand(str(a), env) for a in [*command, *(spec.get("args") or [])]]


def env_refs(spec: dict[str, Any]) -> set[tuple[str, str]]:
    """The (kind, name) of every ConfigMap and Secret the container's env reads."""
    refs = set()
    for var in spec.get("env") or []:
        source = var.get("valueFrom") or {}
        for kind in ("configMap", "secret"):
            ref = source.get(f"{kind}KeyRef")
            if ref:
                refs.add((kind, str(ref.get("name", ""))))
    return refs
