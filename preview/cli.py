"""The `preview` command line: parses flags, calls one operation, renders its result."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from pathlib import Path

import click

from preview import __version__, logs
from preview.cli_vcluster import vcluster
from preview.errors import PreviewError
from preview.sandbox.server import ServerConfig

DEFAULT_SANDBOX_KUBECONFIG = Path(".sandbox/kubeconfig")
DEFAULT_SYNC = ("pods", "services", "endpoints", "configmaps", "secrets",
                "persistentvolumeclaims", "ingresses")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="preview")
@click.option("-v", "--verbose", count=True, help="More log output (repeat for debug).")
def main(verbose: int) -> None:
    """Ephemeral preview environments: one virtual Kubernetes cluster per pull request."""
    logs.configure(logging.WARNING - 10 * min(verbose, 2))


@main.group(invoke_without_command=True)
@click.option("--port", type=int, default=0, show_default="a free port",
              help="Port to serve the emulated API on (127.0.0.1).")
@click.option("--kubeconfig", "kubeconfig_path", type=click.Path(path_type=Path),
              default=DEFAULT_SANDBOX_KUBECONFIG, show_default=True,
              help="Where to write the admin kubeconfig.")
@click.pass_context
def sandbox(ctx: click.Context, port: int, kubeconfig_path: Path) -> None:
    """Run the built-in emulated cluster (no real Kubernetes needed).

    Without a subcommand: start an emulated cluster in the foreground and print how to
    use it with kubectl and helm. Stop it with Ctrl-C.
    """
    if ctx.invoked_subcommand is None:
        _serve(port, kubeconfig_path, ServerConfig(), demo=True)


@sandbox.command("apiserver")
@click.option("--port", type=int, default=0, show_default="a free port",
              help="Port to listen on (127.0.0.1).")
@click.option("--kubeconfig", "kubeconfig_path", type=click.Path(path_type=Path),
              default=DEFAULT_SANDBOX_KUBECONFIG, show_default=True,
              help="Where to write the admin kubeconfig once the server is serving.")
@click.option("--service-cidr", default="10.96.0.0/12", show_default=True,
              help="Range Service cluster IPs are allocated from.")
@click.option("--flavour", type=click.Choice(["host", "virtual"]), default="host",
              show_default=True,
              help="host: nodes, scheduler and kubelet run pods; virtual: a control plane "
                   "only (like k3s in a virtual cluster), pods stay Pending.")
@click.option("--nodes", type=click.IntRange(min=0), default=3, show_default=True,
              help="Nodes of a host-flavour cluster.")
@click.option("--tls-san", "tls_sans", multiple=True, metavar="NAME|IP",
              help="Extra name or IP in the serving certificate (as k3s's --tls-san). "
                   "Repeatable.")
def sandbox_apiserver(port: int, kubeconfig_path: Path, service_cidr: str, flavour: str,
                      nodes: int, tls_sans: tuple[str, ...]) -> None:
    """Serve the Kubernetes API emulator in the foreground until SIGINT/SIGTERM.

    Prints one JSON line {"url": ..., "kubeconfig": ...} once it accepts connections.
    """
    _serve(port, kubeconfig_path, ServerConfig(service_cidr=service_cidr, flavour=flavour,
                                               nodes=nodes, tls_sans=tls_sans), demo=False)


def _serve(port: int, kubeconfig_path: Path, server_config: ServerConfig, demo: bool) -> None:
    from preview.sandbox.runner import serve_forever

    def ready(url: str) -> None:
        path = kubeconfig_path.resolve()
        if demo:
            click.echo(f"Sandbox cluster serving at {url}")
            click.echo(f"Admin kubeconfig: {path}\n")
            click.echo("Try, in another terminal:")
            click.echo(f"  export KUBECONFIG={path}")
            click.echo("  .tools/bin/kubectl get nodes")
            click.echo("  .tools/bin/kubectl create deployment web --image=nginx --replicas=3")
            click.echo("  .tools/bin/kubectl rollout status deployment/web")
            click.echo("\nPress Ctrl-C to stop.")
        else:
            click.echo(json.dumps({"url": url, "kubeconfig": str(path)}))
        sys.stdout.flush()

    try:
        asyncio.run(serve_forever(server_config, "127.0.0.1", port, kubeconfig_path, ready))
    except OSError as e:
        raise click.ClickException(f"cannot serve on 127.0.0.1:{port}: {e.strerror}") from e


@main.command("syncer")
@click.option("--name", envvar="PREVIEW_VCLUSTER_NAME", required=True,
              help="Name of the virtual cluster (the value of its ownership label).")
@click.option("--host-namespace", envvar="PREVIEW_HOST_NAMESPACE", default="",
              help="Host namespace synced objects live in.  [default: the pod's own]")
@click.option("--virtual-kubeconfig", envvar="PREVIEW_VIRTUAL_KUBECONFIG", required=True,
              type=click.Path(path_type=Path),
              help="Admin kubeconfig of the virtual control plane (k3s writes it; waited for).")
@click.option("--host-kubeconfig", envvar="PREVIEW_HOST_KUBECONFIG", default=None,
              type=click.Path(path_type=Path),
              help="Kubeconfig of the host cluster.  [default: in-cluster ServiceAccount]")
@click.option("--sync", "kinds", envvar="PREVIEW_SYNC", default=",".join(DEFAULT_SYNC),
              show_default=True, help="Comma-separated kinds to sync.")
@click.option("--configs", type=click.Choice(["referenced", "all"]), default="referenced",
              show_default=True, help="Which ConfigMaps/Secrets to copy to the host.")
@click.option("--workload-service-account", envvar="PREVIEW_WORKLOAD_SERVICE_ACCOUNT",
              default="default", show_default=True,
              help="Host ServiceAccount synced pods run as (give it no permissions).")
@click.option("--api-host", envvar="PREVIEW_API_HOST", default="",
              help="Address pods use to reach the virtual API (KUBERNETES_SERVICE_HOST).")
@click.option("--api-port", envvar="PREVIEW_API_PORT", type=int, default=443,
              show_default=True)
@click.option("--dns-ip", envvar="PREVIEW_DNS_IP", default="",
              help="Cluster IP of the virtual cluster's DNS service, if any.")
@click.option("--storage-class", "storage_classes", multiple=True, metavar="VIRTUAL=HOST",
              help="Map a virtual StorageClass to a host one ('=HOST' for claims without "
                   "a class). Repeatable.")
@click.option("--node-selector", "node_selector", multiple=True, metavar="KEY=VALUE",
              help="Host node pool for synced pods. Repeatable.")
@click.option("--toleration", "tolerations", multiple=True, metavar="KEY[=VALUE][:EFFECT]",
              help="Toleration added to every synced pod (for a tainted node pool). "
                   "Repeatable.")
@click.option("--api-service", envvar="PREVIEW_API_SERVICE", default="",
              help="Host Service in front of the virtual API; its cluster IP becomes --api-host.")
@click.option("--kubeconfig-secret", envvar="PREVIEW_KUBECONFIG_SECRET", default="",
              help="Publish the virtual cluster's kubeconfig as this host Secret.")
@click.option("--kubeconfig-server", envvar="PREVIEW_KUBECONFIG_SERVER", default="",
              help="Server URL written into the published kubeconfig "
                   "(e.g. https://NAME.NAMESPACE.svc:443).")
@click.option("--allow", "allowed", multiple=True,
              type=click.Choice(["privileged", "host-path", "host-namespaces", "host-ports",
                                 "node-pinning"]),
              help="Relax an isolation rule (all are enforced by default). Repeatable.")
@click.option("--node-sync", type=click.Choice(["fake", "real"]), default="fake",
              show_default=True,
              help="Virtual nodes: synthetic (fake), or mirrors of the host nodes (real; "
                   "needs read access to nodes cluster-wide).")
@click.option("--workers", type=click.IntRange(min=1), default=8, show_default=True)
@click.option("--port", envvar="PREVIEW_SYNCER_PORT", type=int, default=8443,
              show_default=True,
              help="Port for /healthz, /readyz, /metrics and the virtual nodes' kubelet API.")
@click.option("--advertise-address", envvar="POD_IP", default="",
              help="Address the virtual API server reaches this syncer at (its pod IP).")
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
def syncer_command(name: str, host_namespace: str, virtual_kubeconfig: Path,
                   host_kubeconfig: Path | None, kinds: str, configs: str,
                   workload_service_account: str, api_host: str, api_port: int, dns_ip: str,
                   storage_classes: tuple[str, ...], node_selector: tuple[str, ...],
                   tolerations: tuple[str, ...], api_service: str, kubeconfig_secret: str,
                   kubeconfig_server: str, allowed: tuple[str, ...], node_sync: str, workers: int, port: int,
                   advertise_address: str, log_format: str) -> None:
    """Run the syncer of one virtual cluster (the chart's syncer container runs this).

    Makes the host namespace run what is created in the virtual cluster and reports back
    what happened there, until SIGTERM/SIGINT.
    """
    from preview.kube.connection import service_account_dir
    from preview.syncer import main as syncer_main
    from preview.syncer.context import Isolation, SyncContext
    from preview.syncer.syncer import SyncOptions

    # A long-running component: at least INFO, so its actions can be followed.
    logs.configure(min(logging.getLogger().level, logging.INFO),
                   json_lines=log_format == "json")
    if not host_namespace:
        if host_kubeconfig is not None:
            raise click.UsageError("--host-namespace is required with --host-kubeconfig")
        ns_file = service_account_dir() / "namespace"
        if not ns_file.exists():
            raise click.UsageError("--host-namespace is required outside a pod")
        host_namespace = ns_file.read_text().strip()
    sync = tuple(k.strip() for k in kinds.split(",") if k.strip())
    unknown = sorted(set(sync) - set(DEFAULT_SYNC))
    if unknown:
        raise click.BadParameter(f"unknown kinds {unknown}; choose from {list(DEFAULT_SYNC)}",
                                 param_hint="--sync")
    context = SyncContext(
        vcluster=name, host_namespace=host_namespace,
        host_service_account=workload_service_account, api_host=api_host, api_port=api_port,
        dns_ip=dns_ip,
        isolation=Isolation(**{f"allow_{a.replace('-', '_')}": True for a in allowed}),
        node_selector=tuple(_pairs(node_selector, "--node-selector")),
        tolerations=tuple(_toleration(t) for t in tolerations),
        storage_classes=tuple(_pairs(storage_classes, "--storage-class")))
    options = SyncOptions(kinds=sync, workers=workers, configs=configs, node_sync=node_sync,
                          kubelet_address=advertise_address, kubelet_port=port)
    if kubeconfig_secret and not kubeconfig_server:
        raise click.UsageError("--kubeconfig-secret needs --kubeconfig-server")
    config = syncer_main.SyncerConfig(context=context, virtual_kubeconfig=virtual_kubeconfig,
                                      host_kubeconfig=host_kubeconfig, options=options,
                                      port=port, kubeconfig_secret=kubeconfig_secret,
                                      kubeconfig_server=kubeconfig_server,
                                      api_service=api_service)
    asyncio.run(syncer_main.run(config))


def _pairs(values: tuple[str, ...], flag: str) -> list[tuple[str, str]]:
    out = []
    for value in values:
        key, sep, val = value.partition("=")
        if not sep:
            raise click.BadParameter(f"{value!r} is not KEY=VALUE", param_hint=flag)
        out.append((key, val))
    return out


def _toleration(text: str) -> tuple[tuple[str, str], ...]:
    """`key[=value][:effect]` as the sorted items of a toleration."""
    key_value, _, effect = text.partition(":")
    key, sep, value = key_value.partition("=")
    if not key:
        raise click.BadParameter(f"{text!r}: a toleration needs a key", param_hint="--toleration")
    if effect and effect not in ("NoSchedule", "PreferNoSchedule", "NoExecute"):
        raise click.BadParameter(f"{text!r}: effect must be NoSchedule, PreferNoSchedule or "
                                 "NoExecute", param_hint="--toleration")
    toleration = {"key": key, "operator": "Equal" if sep else "Exists"}
    if sep:
        toleration["value"] = value
    if effect:
        toleration["effect"] = effect
    return tuple(sorted(toleration.items()))


main.add_command(vcluster)


def run() -> None:
    """Console entry point: a PreviewError becomes one clear line and exit code 1."""
    import aiohttp

    from preview.kube.client import ApiError

    try:
        main(standalone_mode=True)
    except PreviewError as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(1)
    except ApiError as e:
        hint = {401: "the credentials in the kubeconfig were not accepted",
                403: "the kubeconfig's user lacks a permission named in the message"}
        click.echo(f"error: the Kubernetes API answered {e.status} {e.reason}: {e.message}"
                   + (f"\nhint: {hint[e.status]}" if e.status in hint else ""), err=True)
        sys.exit(1)
    except aiohttp.ClientConnectionError as e:
        click.echo(f"error: cannot reach the Kubernetes API server: {e}\n"
                   "hint: check the kubeconfig's server address and that the cluster is up",
                   err=True)
        sys.exit(1)
