"""Bundles: build, verify, extract all-or-nothing; tampering and unsafe archives refused."""

from __future__ import annotations

import shutil
import stat
import zipfile
from pathlib import Path

import pytest

from feederos.errors import BundleError
from feederos.runtime.bundle import (
    BundleLimits,
    build_bundle,
    extract_bundle,
    open_bundle,
)
from feederos.runtime.signing import generate_keypair, key_id, load_private_key, load_public_key

APPS = Path(__file__).parents[1] / "data" / "runtime" / "apps"


@pytest.fixture
def signed(tmp_path: Path) -> tuple[Path, dict[str, object]]:
    private_pem, public_pem = generate_keypair()
    key = load_private_key(private_pem)
    public = load_public_key(public_pem)
    bundle = build_bundle(APPS / "echo-1.0.0", tmp_path / "echo.fos", key=key)
    return bundle, {key_id(public): public}


def _rewrite(bundle: Path, change: dict[str, bytes | None], extra: dict[str, bytes] = {}) -> None:  # noqa: B006
    with zipfile.ZipFile(bundle) as z:
        entries = [(i, z.read(i)) for i in z.infolist()]
    with zipfile.ZipFile(bundle, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for info, data in entries:
            if info.filename in change:
                new = change[info.filename]
                if new is None:
                    continue
                data = new
            z.writestr(info, data)
        for name, data in extra.items():
            z.writestr(name, data)


def test_build_is_reproducible_and_skips_caches(tmp_path: Path) -> None:
    src = tmp_path / "src"
    shutil.copytree(APPS / "echo-1.0.0", src)
    (src / "__pycache__").mkdir()
    (src / "__pycache__" / "echo.cpython-311.pyc").write_bytes(b"\0")
    key = load_private_key(generate_keypair()[0])
    a = build_bundle(src, tmp_path / "a.fos", key=key)
    b = build_bundle(src, tmp_path / "b.fos", key=key)
    assert a.read_bytes() == b.read_bytes()  # Ed25519 signatures are deterministic
    assert sorted(zipfile.ZipFile(a).namelist()) == [
        "SIGNATURE",
        "app.toml",
        "config.schema.json",
        "echo.py",
    ]


def test_verify_and_extract(signed: tuple[Path, dict[str, object]], tmp_path: Path) -> None:
    bundle, trusted = signed
    opened = open_bundle(bundle, trusted_keys=trusted)  # type: ignore[arg-type]
    assert opened.manifest.name == "echo" and opened.signed_by in trusted
    dest = extract_bundle(opened, tmp_path / "apps" / "echo" / "1.0.0")
    assert (dest / "echo.py").read_bytes() == (APPS / "echo-1.0.0" / "echo.py").read_bytes()
    with pytest.raises(BundleError, match="already exists"):
        extract_bundle(opened, dest)


@pytest.mark.parametrize(
    ("change", "extra", "message"),
    [
        ({"echo.py": b"print('evil')\n"}, {}, "echo.py was changed after signing"),
        ({"echo.py": None}, {}, "echo.py is signed but missing"),
        ({}, {"evil.py": b"x"}, "evil.py is not covered by the signature"),
        ({"SIGNATURE": None}, {}, "unsigned bundle"),
        ({"SIGNATURE": b"{}"}, {}, "malformed signature document"),
        ({}, {"../evil.py": b"x"}, "escapes the bundle"),
        ({}, {"/etc/evil": b"x"}, "escapes the bundle"),
        ({"app.toml": None}, {}, "no app.toml"),
    ],
)
def test_bad_bundles_are_refused(
    signed: tuple[Path, dict[str, object]],
    change: dict[str, bytes | None],
    extra: dict[str, bytes],
    message: str,
) -> None:
    bundle, trusted = signed
    _rewrite(bundle, change, extra)
    with pytest.raises(BundleError, match=message):
        open_bundle(bundle, trusted_keys=trusted)  # type: ignore[arg-type]


def test_changed_source_caught_at_extraction_too(
    signed: tuple[Path, dict[str, object]], tmp_path: Path
) -> None:
    bundle, trusted = signed
    opened = open_bundle(bundle, trusted_keys=trusted)  # type: ignore[arg-type]
    _rewrite(bundle, {"echo.py": b"# swapped after the check\n"})
    dest = tmp_path / "apps" / "echo" / "1.0.0"
    with pytest.raises(BundleError, match=r"echo\.py was changed after signing"):
        extract_bundle(opened, dest)
    assert not dest.exists()
    assert list(dest.parent.iterdir()) == []  # no staging folder left behind


def test_symlinks_and_bombs_are_refused(tmp_path: Path) -> None:
    src = tmp_path / "src"
    shutil.copytree(APPS / "echo-1.0.0", src)
    bundle = build_bundle(src, tmp_path / "x.fos", key=None)
    with zipfile.ZipFile(bundle, "a") as z:
        link = zipfile.ZipInfo("link.py")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        z.writestr(link, "/etc/passwd")
    with pytest.raises(BundleError, match="symlink or special file"):
        open_bundle(bundle, trusted_keys={}, allow_unsigned=True)

    bomb = build_bundle(src, tmp_path / "bomb.fos", key=None)
    with zipfile.ZipFile(bomb, "a", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("zeros.bin", b"\0" * (4 * 1024 * 1024))
    with pytest.raises(BundleError, match="zip bomb"):
        open_bundle(bomb, trusted_keys={}, allow_unsigned=True)
    with pytest.raises(BundleError, match="over the 1000-byte limit"):
        open_bundle(
            bomb, trusted_keys={}, allow_unsigned=True, limits=BundleLimits(max_file_bytes=1000)
        )

    (src / "linked.py").symlink_to(src / "echo.py")
    with pytest.raises(BundleError, match="symlinks cannot go into a bundle"):
        build_bundle(src, tmp_path / "y.fos", key=None)


def test_unsigned_allowed_and_not_a_zip(tmp_path: Path) -> None:
    bundle = build_bundle(APPS / "echo-1.0.0", tmp_path / "u.fos", key=None)
    opened = open_bundle(bundle, trusted_keys={}, allow_unsigned=True)
    assert opened.signed_by is None and set(opened.files) == {
        "app.toml",
        "config.schema.json",
        "echo.py",
    }
    (tmp_path / "junk.fos").write_bytes(b"PK junk")
    with pytest.raises(BundleError, match=r"junk\.fos: not a \.fos bundle"):
        open_bundle(tmp_path / "junk.fos", trusted_keys={})
    with pytest.raises(BundleError, match="no such bundle file"):
        open_bundle(tmp_path / "absent.fos", trusted_keys={})
