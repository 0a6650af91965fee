"""`./dev sandbox`: the demo prints a URL that answers, and Ctrl-C tears everything down."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import wait_for

pytestmark = [pytest.mark.sandbox, pytest.mark.tools]
ROOT = Path(__file__).resolve().parents[2]


def test_demo_serves_the_example_until_ctrl_c(tmp_path: Path) -> None:
    out, err = tmp_path / "out.txt", tmp_path / "err.txt"
    with out.open("w") as stdout, err.open("w") as stderr:
        demo = subprocess.Popen(
            [sys.executable, "-m", "preview", "sandbox", "--example", str(ROOT / "examples" / "app"),
             "--kubeconfig", str(tmp_path / "kubeconfig")], stdout=stdout, stderr=stderr,
            cwd=tmp_path)
        try:
            wait_for(lambda: "Press Ctrl-C" in out.read_text() or demo.poll() is not None,
                     timeout=240, interval=0.5, what="the demo to be ready")
            printed = out.read_text()
            assert demo.poll() is None, printed + err.read_text()
            assert "environment pr-1 of example/app is ready" in printed, printed
            url = re.search(r"^  (http://pr-1-app\.localhost:\d+)/$", printed, re.M)
            assert url, printed
            port = url.group(1).rsplit(":", 1)[1]
            assert f"curl -H 'Host: pr-1-app.localhost' http://127.0.0.1:{port}/" in printed
            assert "preview kubeconfig --repo example/app --pr 1 --tunnel" in printed
            request = urllib.request.Request(f"http://127.0.0.1:{port}/",
                                             headers={"Host": "pr-1-app.localhost"})
            with urllib.request.urlopen(request, timeout=10) as response:
                page = response.read().decode()
            assert response.status == 200 and "pull request <strong>#1</strong>" in page

            # What it prints about sleeping and waking works as printed: sleep, then the URL
            # answers with the wake page, which wakes it; the command finds it awake.
            kubeconfig = tmp_path / "kubeconfig"
            lines = printed.splitlines()
            sleep = (f"  .venv/bin/preview sleep --repo example/app --pr 1 --kubeconfig "
                     f"{kubeconfig} --policy {kubeconfig}.policy.yaml")
            wake = f"  .venv/bin/preview wake --repo example/app --pr 1 --kubeconfig {kubeconfig}"
            assert sleep in lines and wake in lines, printed
            assert any(line.startswith(f"  curl -i -H 'Host: pr-1-app.localhost' "
                                       f"http://127.0.0.1:{port}/") for line in lines), printed
            done = subprocess.run([sys.executable, "-m", "preview", *sleep.split()[1:]],
                                  capture_output=True, text=True, timeout=240)
            assert done.returncode == 0 and "is asleep" in done.stdout, done.stderr
            with pytest.raises(urllib.error.HTTPError) as answered:
                urllib.request.urlopen(request, timeout=30)
            assert answered.value.code == 503
            assert "is waking up" in answered.value.read().decode()

            def answers() -> bool:
                try:
                    with urllib.request.urlopen(request, timeout=30) as response:
                        return response.status == 200
                except urllib.error.HTTPError:
                    return False
            wait_for(answers, timeout=240, interval=1, what="the app to answer again")
            done = subprocess.run([sys.executable, "-m", "preview", *wake.split()[1:]],
                                  capture_output=True, text=True, timeout=240)
            assert done.returncode == 0 and "was ready already" in done.stdout, done.stderr
        finally:
            demo.send_signal(signal.SIGINT)
            code = demo.wait(timeout=120)
    assert code == 0, err.read_text()
    assert "Environment pr-1 torn down" in out.read_text()
    assert "Traceback" not in err.read_text(), err.read_text()


def test_demo_with_api_installs_the_platform_and_says_how_to_use_it(tmp_path: Path) -> None:
    """`./dev sandbox --api`: charts/preview-platform runs in the sandbox, and the printed
    commands reach its API with a token of the local issuer (`down` of an environment never
    made: login, authorization and the answer, without a second environment's cost; `up`
    through the API is tests/serve/test_in_cluster.py's)."""
    out, err = tmp_path / "out.txt", tmp_path / "err.txt"
    with out.open("w") as stdout, err.open("w") as stderr:
        demo = subprocess.Popen(
            [sys.executable, "-m", "preview", "sandbox", "--api", "--kubeconfig",
             str(tmp_path / "kubeconfig")], stdout=stdout, stderr=stderr, cwd=tmp_path)
        try:
            wait_for(lambda: "Press Ctrl-C" in out.read_text() or demo.poll() is not None,
                     timeout=300, interval=0.5, what="the demo to be ready")
            printed = out.read_text()
            assert demo.poll() is None, printed + err.read_text()
            assert "environment pr-1 of example/app is ready" in printed, printed
            assert "API mode (charts/preview-platform in namespace preview-platform" in printed
            env = dict(re.findall(r"^  export (ACTIONS_ID_TOKEN_REQUEST_\w+)='?([^'\n]+)'?$",
                                  printed, re.M))
            assert set(env) == {"ACTIONS_ID_TOKEN_REQUEST_URL",
                                "ACTIONS_ID_TOKEN_REQUEST_TOKEN"}, printed
            up = re.search(r"^  \.venv/bin/preview up --api (\S+) .*--pr 2 --sha [0-9a-f]{40} "
                           r"--config \S+preview\.yaml$", printed, re.M)
            assert up, printed
            with urllib.request.urlopen(f"{up.group(1)}/readyz", timeout=10) as response:
                assert response.status == 200
            down = re.search(r"^  \.venv/bin/preview (down --api .*)$", printed, re.M)
            assert down, printed
            environ = {k: v for k, v in os.environ.items()
                       if not k.startswith(("GITHUB_", "ACTIONS_", "KUBECONFIG"))}
            done = subprocess.run([sys.executable, "-m", "preview", *down.group(1).split()],
                                  capture_output=True, text=True, timeout=120,
                                  env={**environ, **env})
            assert done.returncode == 0, done.stderr
            assert "pr-2" in done.stdout and "Traceback" not in done.stderr, done.stdout
        finally:
            demo.send_signal(signal.SIGINT)
            code = demo.wait(timeout=120)
    assert code == 0, err.read_text()
    assert "Traceback" not in err.read_text(), err.read_text()
