"""App bundles (``.fos``): a signed zip of an app's manifest and sources.

Why zip and not tar.gz: a zip has a central directory, so the verifier reads the list
of entries, their types and declared sizes, and the ``SIGNATURE`` and ``app.toml`` alone,
before decompressing anything; a zip bomb or a symlink is refused from the directory
without unpacking the rest. A tar.gz must be inflated front to back to learn what it
holds. Both are in the standard library.

Installing is verify-then-extract-then-rename: every file is checked against the signed
hashes while it is written to a temporary folder next to the destination, and only a
bundle that passed every check is renamed into place, so a bad bundle never leaves a
half-installed version.

Examples
--------
>>> import tempfile
>>> work = Path(tempfile.mkdtemp())
>>> (work / "src").mkdir()
>>> _ = (work / "src" / "app.toml").write_text(
...     'name = "hello"\\nversion = "1.0.0"\\nentrypoint = "hello:Hello"\\n')
>>> _ = (work / "src" / "hello.py").write_text(
...     "from feederos.runtime.app import App\\nclass Hello(App):\\n    pass\\n")
>>> key = load_private_key(generate_keypair()[0])
>>> bundle = build_bundle(work / "src", work / "hello.fos", key=key)
>>> (work / "keys").mkdir()
>>> _ = (work / "keys" / "dev.pem").write_bytes(public_pem(key))
>>> opened = open_bundle(bundle, trusted_keys=load_trusted_keys(work / "keys"))
>>> opened.manifest.name, opened.signed_by == key_id(key.public_key())
('hello', True)
>>> sorted(opened.files)
['app.toml', 'hello.py']
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import tempfile
import tomllib
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from feederos.errors import BundleError
from feederos.runtime.manifest import MANIFEST_FILE, Manifest, parse_manifest, read_manifest
from feederos.runtime.signing import (
    SIGNATURE_FILE,
    Signature,
    generate_keypair,
    key_id,
    load_private_key,
    load_trusted_keys,
    sign_files,
    verify_files,
)

__all__ = [
    "BUNDLE_SUFFIX",
    "BundleLimits",
    "OpenedBundle",
    "build_bundle",
    "extract_bundle",
    "generate_keypair",
    "key_id",
    "load_private_key",
    "load_trusted_keys",
    "open_bundle",
    "public_pem",
]

BUNDLE_SUFFIX = ".fos"

_SKIPPED_DIRS = {"__pycache__", ".git", ".mypy_cache", ".pytest_cache", ".ruff_cache"}
_CHUNK_BYTES = 64 * 1024
# Fixed timestamp: the same sources give the same bundle bytes.
_ZIP_DATE = (2020, 1, 1, 0, 0, 0)


@dataclass(frozen=True, slots=True)
class BundleLimits:
    """Size limits a bundle must keep to (a guard against zip bombs)."""

    max_files: int = 2000
    max_file_bytes: int = 16 * 1024 * 1024
    max_total_bytes: int = 64 * 1024 * 1024
    max_ratio: float = 200.0
    """Largest uncompressed/compressed size ratio of one entry [-]."""


@dataclass(frozen=True, slots=True)
class OpenedBundle:
    """A bundle whose directory, manifest and signature were checked."""

    path: Path
    manifest: Manifest
    files: Mapping[str, str]
    """Path → SHA-256 hex of every file but ``SIGNATURE``, as the archive declares."""
    signed_by: str | None
    """Key id of the trusted signer, ``None`` if unsigned (and allowed)."""


def public_pem(key: Ed25519PrivateKey) -> bytes:
    """The PEM of ``key``'s public half."""
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _source_files(source_dir: Path) -> dict[str, Path]:
    files: dict[str, Path] = {}
    for root, dirs, names in os.walk(source_dir, followlinks=False):
        dirs[:] = sorted(d for d in dirs if d not in _SKIPPED_DIRS)
        for d in dirs:
            if (Path(root) / d).is_symlink():
                raise BundleError(f"{Path(root) / d}: symlinks cannot go into a bundle")
        for name in sorted(names):
            path = Path(root) / name
            rel = path.relative_to(source_dir).as_posix()
            if name.endswith((".pyc", ".pyo")) or rel == SIGNATURE_FILE:
                continue
            if path.is_symlink():
                raise BundleError(f"{path}: symlinks cannot go into a bundle; copy the file")
            files[rel] = path
    return files


def build_bundle(source_dir: Path, out: Path, *, key: Ed25519PrivateKey | None) -> Path:
    """Zip ``source_dir`` into the bundle ``out``, signed with ``key`` (unsigned if ``None``).

    The manifest is checked first, so a bundle that cannot install is never built.
    """
    source_dir = Path(source_dir)
    read_manifest(source_dir)
    files = _source_files(source_dir)
    hashes = {rel: hashlib.sha256(path.read_bytes()).hexdigest() for rel, path in files.items()}
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for rel, path in files.items():
            info = zipfile.ZipInfo(rel, date_time=_ZIP_DATE)
            info.external_attr = (stat.S_IFREG | 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
        if key is not None:
            info = zipfile.ZipInfo(SIGNATURE_FILE, date_time=_ZIP_DATE)
            info.external_attr = (stat.S_IFREG | 0o644) << 16
            archive.writestr(info, sign_files(hashes, key).to_bytes())
    tmp.replace(out)
    return out


def _check_entries(archive: zipfile.ZipFile, source: str, limits: BundleLimits) -> list[str]:
    infos = archive.infolist()
    if len(infos) > limits.max_files:
        raise BundleError(f"{source}: {len(infos)} entries, more than {limits.max_files}")
    names: list[str] = []
    total_bytes = 0
    for info in infos:
        name = info.filename
        if info.is_dir():
            continue
        pure = PurePosixPath(name)
        if name.startswith("/") or "\\" in name or pure.is_absolute() or ".." in pure.parts:
            raise BundleError(f"{source}: entry {name!r} escapes the bundle (absolute or '..')")
        if ":" in pure.parts[0] or any(part in ("", ".") for part in name.split("/")):
            raise BundleError(f"{source}: entry {name!r} is not a plain relative path")
        # Zips from other tools may leave the file-type bits out (0): a plain file.
        if stat.S_IFMT(info.external_attr >> 16) not in (0, stat.S_IFREG):
            raise BundleError(f"{source}: entry {name!r} is a symlink or special file")
        if info.file_size > limits.max_file_bytes:
            raise BundleError(
                f"{source}: entry {name!r} is {info.file_size} bytes, "
                f"over the {limits.max_file_bytes}-byte limit"
            )
        if info.file_size > 1024 * 1024 and info.file_size > limits.max_ratio * max(
            info.compress_size, 1
        ):
            raise BundleError(f"{source}: entry {name!r} compresses suspiciously well (zip bomb)")
        total_bytes += info.file_size
        if name in names:
            raise BundleError(f"{source}: entry {name!r} appears twice")
        names.append(name)
    if total_bytes > limits.max_total_bytes:
        raise BundleError(
            f"{source}: {total_bytes} bytes uncompressed, over the {limits.max_total_bytes} limit"
        )
    return names


def _read_entry(archive: zipfile.ZipFile, name: str, limits: BundleLimits, source: str) -> bytes:
    # Declared sizes can lie; count what actually comes out.
    chunks: list[bytes] = []
    size = 0
    with archive.open(name) as f:
        while chunk := f.read(_CHUNK_BYTES):
            size += len(chunk)
            if size > limits.max_file_bytes:
                raise BundleError(f"{source}: entry {name!r} inflates past its limit")
            chunks.append(chunk)
    return b"".join(chunks)


def open_bundle(
    path: Path,
    *,
    trusted_keys: Mapping[str, Ed25519PublicKey],
    allow_unsigned: bool = False,
    limits: BundleLimits = BundleLimits(),
) -> OpenedBundle:
    """Check a bundle's directory, signature, file hashes and manifest without extracting it.

    Raises :class:`BundleError` for a missing file, a bad archive, an entry that
    escapes, a missing or untrusted signature, a file not listed in (or missing from)
    the signature, or a bad manifest.
    """
    path = Path(path)
    source = str(path)
    try:
        archive = zipfile.ZipFile(path)
    except FileNotFoundError:
        raise BundleError(f"{source}: no such bundle file") from None
    except (zipfile.BadZipFile, OSError) as exc:
        raise BundleError(f"{source}: not a .fos bundle (zip): {exc}") from None
    with archive:
        names = _check_entries(archive, source, limits)
        try:
            if MANIFEST_FILE not in names:
                raise BundleError(f"{source}: no {MANIFEST_FILE} at the bundle's root")
            files = {n: "" for n in names if n != SIGNATURE_FILE}
            signed_by: str | None = None
            if SIGNATURE_FILE in names:
                signature = Signature.from_bytes(
                    _read_entry(archive, SIGNATURE_FILE, limits, source),
                    source=f"{source}!{SIGNATURE_FILE}",
                )
                signed_by = verify_files(
                    signature, trusted_keys, source=f"{source}!{SIGNATURE_FILE}"
                )
                _compare_lists(signature.files, files, source)
                files = dict(signature.files)
            elif not allow_unsigned:
                raise BundleError(
                    f"{source}: unsigned bundle (no {SIGNATURE_FILE}): sign it with "
                    "`fos app sign` or install with --allow-unsigned"
                )
            else:
                files = {
                    n: hashlib.sha256(_read_entry(archive, n, limits, source)).hexdigest()
                    for n in files
                }
            if signed_by is not None:
                # Bundles are small: hash every file now, so a refusal names the file
                # before anything is written (extraction checks again as it writes).
                for name in sorted(files):
                    _check_hash(name, _read_entry(archive, name, limits, source), files, source)
            manifest_bytes = _read_entry(archive, MANIFEST_FILE, limits, source)
            try:
                document = tomllib.loads(manifest_bytes.decode("utf-8"))
            except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
                raise BundleError(f"{source}!{MANIFEST_FILE}: not valid TOML: {exc}") from None
            schema_files = {
                n: _read_entry(archive, n, limits, source) for n in names if n.endswith(".json")
            }
        except zipfile.BadZipFile as exc:
            raise BundleError(f"{source}: damaged archive: {exc}") from None
    with tempfile.TemporaryDirectory() as tmp:
        for name, data in schema_files.items():
            target = Path(tmp, *PurePosixPath(name).parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        manifest = parse_manifest(document, source=f"{source}!{MANIFEST_FILE}", base_dir=Path(tmp))
    manifest.check_runtime()
    return OpenedBundle(path=path, manifest=manifest, files=files, signed_by=signed_by)


def _compare_lists(signed: Mapping[str, str], present: Mapping[str, str], source: str) -> None:
    missing = sorted(set(signed) - set(present))
    extra = sorted(set(present) - set(signed))
    if missing:
        raise BundleError(f"{source}: file {missing[0]} is signed but missing from the bundle")
    if extra:
        raise BundleError(
            f"{source}: file {extra[0]} is not covered by the signature (added after signing)"
        )


def _check_hash(name: str, data: bytes, files: Mapping[str, str], source: str) -> None:
    if hashlib.sha256(data).hexdigest() != files[name]:
        raise BundleError(
            f"{source}: file {name} was changed after signing (its SHA-256 does not match "
            f"the signature); rebuild and sign the bundle again"
        )


def extract_bundle(
    opened: OpenedBundle, dest: Path, *, limits: BundleLimits = BundleLimits()
) -> Path:
    """Extract a checked bundle to ``dest`` (which must not exist), all or nothing.

    Every file is hashed as it is written and compared with the signed hash.
    """
    dest = Path(dest)
    source = str(opened.path)
    if dest.exists():
        raise BundleError(f"{dest}: already exists; remove that version first")
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    try:
        with zipfile.ZipFile(opened.path) as archive:
            names = _check_entries(archive, source, limits)
            _compare_lists(opened.files, {n: "" for n in names if n != SIGNATURE_FILE}, source)
            for name in names:
                data = _read_entry(archive, name, limits, source)
                if name != SIGNATURE_FILE:
                    _check_hash(name, data, opened.files, source)
                target = staging.joinpath(*PurePosixPath(name).parts)
                if not target.resolve().is_relative_to(staging.resolve()):
                    raise BundleError(f"{source}: entry {name!r} escapes the bundle")
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
        staging.rename(dest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return dest
