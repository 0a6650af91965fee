"""`preview sandbox --serve` and the ingress ports of `preview sandbox apiserver`."""

from __future__ import annotations

import http.client
import json
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.sandbox


def test_serve_prints_kubeconfig_and_ingress_ports(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    proc = subprocess.Popen([sys.executable, "-m", "preview", "sandbox", "--serve",
                             "--kubeconfig", str(kubeconfig)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(4)]
        assert lines[0].startswith("Sandbox cluster serving at https://127.0.0.1:")
        assert lines[1] == f"Kubeconfig: {kubeconfig}\n" and kubeconfig.exists()
        http_port = int(re.fullmatch(r"Ingress HTTP port: (\d+)\n", lines[2]).group(1))  # type: ignore[union-attr]
        assert re.fullmatch(r"Ingress HTTPS port: \d+\n", lines[3])
        conn = http.client.HTTPConnection("127.0.0.1", http_port, timeout=10)
        conn.request("GET", "/", headers={"Host": "nothing.localhost"})
        assert conn.getresponse().status == 404  # the ingress answers: no rule yet
        conn.close()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        proc.kill()
        proc.wait()


def test_apiserver_json_line_has_the_ingress_ports(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        wanted = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "preview", "sandbox", "apiserver",
                             "--kubeconfig", str(tmp_path / "k"),
                             "--ingress-http-port", str(wanted)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        ready = json.loads(proc.stdout.readline())
        assert ready["ingress"]["http"] == wanted and ready["ingress"]["https"] > 0
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
    finally:
        proc.kill()
        proc.wait()


def test_ingress_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        out = subprocess.run([sys.executable, "-m", "preview", "sandbox", "--serve",
                              "--ingress-https-port", str(port),
                              "--kubeconfig", str(tmp_path / "k")],
                             capture_output=True, text=True, timeout=30)
    assert out.returncode != 0
    assert f"or ingress port {port})" in out.stderr and "Traceback" not in out.stderr


def test_api_goes_with_the_demo_not_with_serve() -> None:
    done = subprocess.run([sys.executable, "-m", "preview", "sandbox", "--serve", "--api"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "--serve runs no demo: pass one of them" in done.stderr
