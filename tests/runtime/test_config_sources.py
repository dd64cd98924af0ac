"""Bundle sources against real services: a git repository made here, a local HTTP server."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import tarfile
import zipfile
from pathlib import Path

import pytest

from feederos.errors import ConfigBundleError
from feederos.runtime.config_bundle import read_bundle
from feederos.runtime.config_sources import extract_archive, fetch_bundle

DATA = Path(__file__).resolve().parents[1] / "data" / "runtime" / "config"


def git(repo: Path, *args: str) -> str:
    result = subprocess.run(
        [
            "git",
            "-C",
            str(repo),
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.com",
            "-c",
            "commit.gpgsign=false",
            "-c",
            "tag.gpgsign=false",
            *args,
        ],
        capture_output=True,
        check=True,
        text=True,
    )
    return result.stdout.strip()


def set_gain(folder: Path, v1_pu: float) -> None:
    path = folder / "apps" / "volt-watt.json"
    config = json.loads(path.read_text())
    config["v1_pu"] = v1_pu
    path.write_text(json.dumps(config))


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repo: commit 1 (v1_pu 1.06) tagged v1 on main, commit 2 (1.07) on main,
    commit 3 (1.08) on branch 'next'; the working tree has an uncommitted 1.09."""
    repo = Path(shutil.copytree(DATA / "good", tmp_path / "cfg"))
    git(repo, "init", "--quiet", "--initial-branch=main")
    git(repo, "add", "-A")
    git(repo, "commit", "--quiet", "-m", "one")
    git(repo, "tag", "v1")
    set_gain(repo, 1.07)
    git(repo, "commit", "--quiet", "-am", "two")
    git(repo, "checkout", "--quiet", "-b", "next")
    set_gain(repo, 1.08)
    git(repo, "commit", "--quiet", "-am", "three")
    git(repo, "checkout", "--quiet", "main")
    set_gain(repo, 1.09)
    return repo


def v1_pu(bundle_source: str, ref: str | None = None) -> float:
    bundle = fetch_bundle(bundle_source, ref=ref)
    return float(bundle.app_configs["volt-watt"]["v1_pu"])


def test_git_refs_branch_tag_commit_and_head(repo: Path) -> None:
    status_before = git(repo, "status", "--porcelain")
    head_before = git(repo, "rev-parse", "HEAD")
    first = git(repo, "rev-parse", "v1")
    assert v1_pu(str(repo), "v1") == 1.06
    assert v1_pu(str(repo), "main") == 1.07
    assert v1_pu(str(repo), "next") == 1.08
    assert v1_pu(str(repo), first) == 1.06
    assert v1_pu(str(repo), first[:7]) == 1.06
    assert v1_pu(f"git+{repo}") == 1.07  # HEAD of the repository, not the working tree
    assert v1_pu(str(repo)) == 1.09  # a folder without --ref: as it is on disk
    bundle = fetch_bundle(f"git+{repo}", ref="next")
    assert bundle.source == f"git+{repo.resolve()}@{git(repo, 'rev-parse', 'next')}"
    # The user's clone is only read.
    assert git(repo, "status", "--porcelain") == status_before
    assert git(repo, "rev-parse", "HEAD") == head_before
    assert git(repo, "stash", "list") == ""


@pytest.mark.parametrize("ref", ["no-such-branch", "deadbeef", "-u"])
def test_git_unknown_ref_is_a_clear_error(repo: Path, ref: str) -> None:
    with pytest.raises(ConfigBundleError, match=f"ref '{ref}'") as caught:
        fetch_bundle(str(repo), ref=ref)
    assert str(repo.resolve()) in str(caught.value) or ref == "-u"


def test_git_repository_that_does_not_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigBundleError, match="not found or repository unreachable"):
        fetch_bundle(f"git+{tmp_path / 'nope'}", ref="main")


def test_git_tree_without_bundle(tmp_path: Path) -> None:
    repo = tmp_path / "empty"
    repo.mkdir()
    (repo / "README").write_text("not a bundle")
    git(repo, "init", "--quiet")
    git(repo, "add", "-A")
    git(repo, "commit", "--quiet", "-m", "x")
    with pytest.raises(ConfigBundleError, match=r"holds no bundle\.toml or bundle\.json"):
        fetch_bundle(f"git+{repo}")


# ---------------------------------------------------------------------------- HTTP


def tar_gz(folder: Path, *, prefix: str) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        tar.add(folder, arcname=prefix)
    return buf.getvalue()


def zipped(folder: Path) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        for path in sorted(folder.rglob("*")):
            archive.write(path, path.relative_to(folder).as_posix())
    return buf.getvalue()


def test_http_tar_gz_and_zip(server: tuple[str, dict[str, bytes]]) -> None:
    url, files = server
    files["/cfg.tar.gz"] = tar_gz(DATA / "good", prefix="cfg-1.0")
    files["/cfg.zip"] = zipped(DATA / "good")
    local = read_bundle(DATA / "good")
    for name in ("/cfg.tar.gz", "/cfg.zip"):
        bundle = fetch_bundle(url + name)
        assert bundle.digest == local.digest
        assert bundle.source.startswith(f"{url}{name}#sha256:")


def test_http_404_garbage_and_size_limit(server: tuple[str, dict[str, bytes]]) -> None:
    url, files = server
    with pytest.raises(ConfigBundleError, match=r"/missing.tar.gz: HTTP 404 Not Found"):
        fetch_bundle(url + "/missing.tar.gz")
    files["/garbage.tar.gz"] = b"<html>this is not an archive</html>"
    with pytest.raises(ConfigBundleError, match=r"not a .tar.gz, .tar or .zip archive"):
        fetch_bundle(url + "/garbage.tar.gz")
    files["/truncated.tar.gz"] = tar_gz(DATA / "good", prefix="x")[:300]
    with pytest.raises(ConfigBundleError, match="not a readable archive"):
        fetch_bundle(url + "/truncated.tar.gz")
    files["/big.tar.gz"] = tar_gz(DATA / "good", prefix="x")
    with pytest.raises(ConfigBundleError, match="exceeds the 1000 byte limit"):
        fetch_bundle(url + "/big.tar.gz", max_bytes=1000)
    with pytest.raises(ConfigBundleError, match="applies to git sources only"):
        fetch_bundle(url + "/big.tar.gz", ref="main")


def test_http_unreachable() -> None:
    with pytest.raises(ConfigBundleError, match="cannot fetch"):
        fetch_bundle("http://127.0.0.1:9/x.tar.gz", timeout_s=5)


# ---------------------------------------------------------------------- extraction


def _tar(*members: tarfile.TarInfo, gz: bool = False) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz" if gz else "w") as tar:
        for info in members:
            tar.addfile(info, io.BytesIO(b"x" * info.size) if info.isreg() else None)
    return buf.getvalue()


def _member(
    name: str, *, kind: bytes = tarfile.REGTYPE, size: int = 1, link: str = ""
) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.size, info.linkname = kind, size if kind == tarfile.REGTYPE else 0, link
    return info


@pytest.mark.parametrize(
    ("member", "expected"),
    [
        (_member("/etc/passwd"), "leaves the archive's folder"),
        (_member("a/../../x"), "leaves the archive's folder"),
        (_member("link", kind=tarfile.SYMTYPE, link="/etc/passwd"), "is a link or device"),
        (_member("hard", kind=tarfile.LNKTYPE, link="a"), "is a link or device"),
        (_member("fifo", kind=tarfile.FIFOTYPE), "is a link or device"),
        (_member("a\\b"), "backslash"),
    ],
)
def test_unsafe_tar_members_are_refused(
    tmp_path: Path, member: tarfile.TarInfo, expected: str
) -> None:
    with pytest.raises(ConfigBundleError, match=expected):
        extract_archive(_tar(member, gz=True), tmp_path, name="t.tar.gz")
    assert list(tmp_path.iterdir()) == []


def test_archive_limits(tmp_path: Path) -> None:
    big = _tar(_member("a", size=600), _member("b", size=600))
    with pytest.raises(ConfigBundleError, match="unpacks to more than 1000 bytes"):
        extract_archive(big, tmp_path / "1", name="t.tar", max_extracted_bytes=1000)
    many = _tar(*(_member(f"f{i}") for i in range(5)))
    with pytest.raises(ConfigBundleError, match="more than 4 members"):
        extract_archive(many, tmp_path / "2", name="t.tar", max_members=4)
    twice = _tar(_member("a"), _member("a"))
    with pytest.raises(ConfigBundleError, match="'a' appears twice"):
        extract_archive(twice, tmp_path / "3", name="t.tar")
    # A zip bomb: 50 MB of zeros compresses to about 50 kB.
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("zeros", b"\0" * 50_000_000)
    assert len(buf.getvalue()) < 100_000
    with pytest.raises(ConfigBundleError, match="unpacks to more than 1000000 bytes"):
        extract_archive(buf.getvalue(), tmp_path / "4", name="z.zip", max_extracted_bytes=1_000_000)


def test_zip_symlink_and_escape_are_refused(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        info = zipfile.ZipInfo("link")
        info.external_attr = 0o120777 << 16
        archive.writestr(info, "/etc/passwd")
    with pytest.raises(ConfigBundleError, match="'link' is a link or device"):
        extract_archive(buf.getvalue(), tmp_path / "1", name="z.zip")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("../../escape", "x")
    with pytest.raises(ConfigBundleError, match="leaves the archive's folder"):
        extract_archive(buf.getvalue(), tmp_path / "2", name="z.zip")


def test_a_source_that_is_nothing(tmp_path: Path) -> None:
    with pytest.raises(ConfigBundleError, match="not a folder, an archive file"):
        fetch_bundle(str(tmp_path / "nothing-here"))
