"""preview/serve/bundle.py: a pull request's upload unpacked as hostile input — every refusal
leaves nothing outside the private directory."""

from __future__ import annotations

import gzip
import io
import tarfile
from pathlib import Path

import pytest

from preview import policy
from preview.serve.bundle import BundleRefused, Limits, limits_of, pack, unpack


def archive(*members: tuple[tarfile.TarInfo, bytes | None]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for info, content in members:
            if content is not None:
                info.size = len(content)
                tar.addfile(info, io.BytesIO(content))
            else:
                tar.addfile(info)
    return buffer.getvalue()


def file(name: str, content: bytes = b"x") -> tuple[tarfile.TarInfo, bytes]:
    return tarfile.TarInfo(name), content


def special(name: str, kind: bytes, link: str = "") -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, link
    return info, None


@pytest.fixture
def box(tmp_path: Path) -> tuple[Path, Path]:
    """(dest, the directory around it): nothing may appear around it."""
    around = tmp_path / "around"
    dest = around / "bundle"
    dest.mkdir(parents=True)
    return dest, around


def outside(around: Path, dest: Path) -> list[str]:
    return sorted(str(p.relative_to(around)) for p in around.rglob("*")
                  if not p.is_relative_to(dest)) + sorted(
        str(p) for p in Path("/tmp").glob("x-from-bundle*"))


def test_a_repository_round_trips(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "chart" / "templates").mkdir(parents=True)
    (repo / "chart" / "Chart.yaml").write_text("name: app\n")
    (repo / "chart" / "templates" / "cm.yaml").write_text("kind: ConfigMap\n")
    (repo / "preview.yaml").write_text("chart: {path: ./chart}\n")
    (repo / "secret.txt").write_text("not packed\n")
    data = pack(repo, [repo / "preview.yaml", repo / "chart"])
    dest = tmp_path / "out"
    dest.mkdir()
    assert sorted(unpack(data, dest)) == ["chart/Chart.yaml", "chart/templates/cm.yaml",
                                          "preview.yaml"]
    assert (dest / "chart" / "templates" / "cm.yaml").read_text() == "kind: ConfigMap\n"
    assert not (dest / "secret.txt").exists()


@pytest.mark.parametrize(("members", "words"), [
    ([file("../x-from-bundle")], "'..' leaves the bundle"),
    ([file("a/../../x-from-bundle")], "'..' leaves the bundle"),
    ([file("/tmp/x-from-bundle")], "an absolute path"),
    ([special("link", tarfile.SYMTYPE, "/etc/passwd")], "a link to /etc/passwd, outside"),
    ([special("link", tarfile.SYMTYPE, "../../x-from-bundle")], "outside the bundle"),
    ([special("dir", tarfile.SYMTYPE, "."), file("dir/../../x-from-bundle")], "leaves"),
    ([special("up", tarfile.SYMTYPE, "sub"), file("sub/.keep"), file("up/x")],
     "up is not a directory"),
    ([file("passwd"), special("hard", tarfile.LNKTYPE, "passwd")], "a hard link"),
    ([special("dev", tarfile.CHRTYPE)], "not a regular file"),
    ([special("fifo", tarfile.FIFOTYPE)], "not a regular file"),
    ([file("a"), file("a")], "twice in the bundle"),
])
def test_hostile_members_are_refused(box: tuple[Path, Path], members: list[
        tuple[tarfile.TarInfo, bytes | None]], words: str) -> None:
    dest, around = box
    with pytest.raises(BundleRefused) as caught:
        unpack(archive(*members), dest)
    assert words in caught.value.message and caught.value.status == 400
    assert outside(around, dest) == []


def test_a_link_inside_the_bundle_is_kept(box: tuple[Path, Path]) -> None:
    dest, _ = box
    unpack(archive(file("chart/values.yaml", b"a: 1\n"),
                   special("chart/link.yaml", tarfile.SYMTYPE, "values.yaml")), dest)
    assert (dest / "chart" / "link.yaml").read_text() == "a: 1\n"


def test_a_gzip_bomb_is_stopped_at_the_limit(box: tuple[Path, Path]) -> None:
    dest, around = box
    # 200 MB of zeros compress to ~200 KB: refused long before they are written.
    buffer = io.BytesIO()
    size = 200 * 1024 * 1024
    with tarfile.open(fileobj=buffer, mode="w|gz") as tar:
        info = tarfile.TarInfo("zeros")
        info.size = size

        class Zeros(io.RawIOBase):
            left = size

            def readable(self) -> bool:
                return True

            def readinto(self, b: bytearray) -> int:  # type: ignore[override]
                n = min(len(b), self.left)
                b[:n] = bytes(n)
                self.left -= n
                return n

        tar.addfile(info, io.BufferedReader(Zeros()))
    data = buffer.getvalue()
    assert len(data) < 1024 * 1024
    with pytest.raises(BundleRefused) as caught:
        unpack(data, dest)
    assert caught.value.status == 413 and "expands to more than" in caught.value.message
    assert (dest / "zeros").stat().st_size <= 100 * len(data) and outside(around, dest) == []


def test_too_many_files(box: tuple[Path, Path]) -> None:
    dest, _ = box
    data = archive(*(file(f"f{i}") for i in range(100_000)))
    with pytest.raises(BundleRefused) as caught:
        unpack(data, dest)
    assert caught.value.status == 413 and "more than 5000 files" in caught.value.message
    assert len(list(dest.iterdir())) == 5000


def test_the_limits_are_the_policys() -> None:
    rules = policy.parse({"bundles": {"maxBytes": 1000, "maxFiles": 3}}, "policy.yaml")
    assert limits_of(rules) == Limits(max_bytes=1000, max_files=3)
    assert limits_of(policy.DEFAULT) == Limits()


def test_too_large_and_not_an_archive(box: tuple[Path, Path]) -> None:
    dest, _ = box
    with pytest.raises(BundleRefused) as caught:
        unpack(b"x" * 2048, dest, Limits(max_bytes=1024))
    assert caught.value.status == 413
    with pytest.raises(BundleRefused, match="not a gzip'd tar archive"):
        unpack(gzip.compress(b"plain text, no tar"), dest)
    with pytest.raises(BundleRefused, match="not a gzip'd tar archive"):
        unpack(b"\x00" * 100, dest)
