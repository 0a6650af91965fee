"""The production entry points load no emulator module (the import contracts in pyproject.toml,
run by `./dev test`, keep the static arrows; this checks what really loads)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_LOADED = ("import json, sys; {imports}; "
           "print(json.dumps(sorted(m for m in sys.modules if m.startswith('preview.sandbox'))))")


@pytest.mark.parametrize("imports", [
    "import preview.cli",
    "import preview.cli; from preview.cli import main; import preview.syncer.main",
    "import preview.serve.login",
])
def test_production_imports_load_no_sandbox_module(imports: str) -> None:
    out = subprocess.run([sys.executable, "-c", _LOADED.format(imports=imports)],
                         capture_output=True, text=True, check=True, cwd=ROOT).stdout
    assert json.loads(out) == []


def test_syncer_help_loads_no_sandbox_module() -> None:
    """What the issue asks anyone to check: `python -X importtime -m preview syncer --help`."""
    result = subprocess.run([sys.executable, "-X", "importtime", "-m", "preview", "syncer",
                             "--help"], capture_output=True, text=True, check=True, cwd=ROOT)
    assert "Usage:" in result.stdout
    assert "preview.sandbox" not in result.stderr
    assert "preview.syncer" in result.stderr or "preview.cli" in result.stderr
