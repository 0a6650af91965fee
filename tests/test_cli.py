"""`preview sandbox apiserver` in the foreground: kubeconfig once serving, clean stop."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from kubernetes import client, config

pytestmark = pytest.mark.sandbox


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_apiserver_serves_until_signalled(tmp_path: Path, sig: signal.Signals) -> None:
    kubeconfig = tmp_path / "nested" / "kubeconfig"
    proc = subprocess.Popen([sys.executable, "-m", "preview", "sandbox", "apiserver",
                             "--kubeconfig", str(kubeconfig)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        ready = json.loads(proc.stdout.readline())  # printed once the port accepts
        assert ready["kubeconfig"] == str(kubeconfig)
        assert ready["url"].startswith("https://127.0.0.1:")
        with config.new_client_from_config(str(kubeconfig)) as api:
            names = {ns.metadata.name for ns in client.CoreV1Api(api).list_namespace().items}
        assert {"default", "kube-system"} <= names
        proc.send_signal(sig)
        assert proc.wait(timeout=10) == 0
    finally:
        proc.kill()
        proc.wait()


def test_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        out = subprocess.run([sys.executable, "-m", "preview", "sandbox", "apiserver",
                              "--port", str(port), "--kubeconfig", str(tmp_path / "k")],
                             capture_output=True, text=True, timeout=30)
    assert out.returncode != 0
    assert f"cannot serve on 127.0.0.1:{port}" in out.stderr
    assert "Traceback" not in out.stderr
