"""Where config bundles come from: a local folder, a git repository or an HTTP(S) archive.

:func:`fetch_bundle` reads a source named the way the ``fos config`` command takes it:

=====================================  =================================================
``/srv/feeder-cfg``                    a bundle folder, read as it is on disk
``/srv/feeder-cfg`` with ``ref``       that folder's git repository at ``ref``
``git+<path-or-url>``, ``*.git``,      a git repository at ``ref`` (default ``HEAD``):
``ssh://…``, ``git@host:…``            a branch, a tag or a commit (full or short sha)
``https://host/cfg.tar.gz``            a ``.tar.gz``, ``.tar`` or ``.zip`` served over HTTP(S)
``./cfg.zip``, ``./cfg.tar.gz``        such an archive as a local file (e.g. the bundle
                                       ``POST /networks/{id}/feeder-os`` answers)
=====================================  =================================================

Git is driven through its command line into a private temporary bare repository, so the
user's working tree and index are never touched; the bundle's ``source`` names the
resolved commit (``git+/srv/feeder-cfg@<sha>``) so a history entry says exactly what
was applied. Archives are size-limited when downloaded and when unpacked, and unpacked
only if every member is a plain file or folder inside the archive (no absolute paths,
no ``..``, no links or devices).

Examples
--------
>>> import io, tarfile, tempfile, pathlib
>>> buf = io.BytesIO()
>>> with tarfile.open(fileobj=buf, mode="w") as tar:
...     info = tarfile.TarInfo("../evil.txt"); info.size = 0
...     tar.addfile(info, io.BytesIO(b""))
>>> extract_archive(buf.getvalue(), pathlib.Path(tempfile.mkdtemp()), name="x.tar")
...     # doctest: +ELLIPSIS
Traceback (most recent call last):
...
feederos.errors.ConfigBundleError: x.tar: member '../evil.txt' leaves the archive's folder ...
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import stat
import subprocess
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
import zlib
from pathlib import Path, PurePosixPath
from typing import IO

from feederos import __version__
from feederos.errors import ConfigBundleError
from feederos.runtime.config_bundle import META_FILES, ConfigBundle, read_bundle

__all__ = [
    "DEFAULT_TIMEOUT_S",
    "MAX_ARCHIVE_BYTES",
    "MAX_ARCHIVE_MEMBERS",
    "MAX_EXTRACTED_BYTES",
    "extract_archive",
    "fetch_archive_file",
    "fetch_bundle",
    "fetch_folder",
    "fetch_git",
    "fetch_http",
]

MAX_ARCHIVE_BYTES = 32 * 1024 * 1024
"""Largest archive downloaded (or produced by ``git archive``) [bytes]."""

MAX_EXTRACTED_BYTES = 128 * 1024 * 1024
"""Largest total size of an archive's files once unpacked [bytes]; stops zip bombs."""

MAX_ARCHIVE_MEMBERS = 10_000
"""Most files and folders an archive may hold."""

DEFAULT_TIMEOUT_S = 60.0
"""Time a git command or an HTTP request may take [s]."""

_CHUNK_BYTES = 64 * 1024
_HEX_REF = re.compile(r"[0-9a-fA-F]{4,64}")
_GIT_URL_PREFIXES = ("ssh://", "git://", "git@", "file://")


_ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz")


def fetch_bundle(
    source: str,
    *,
    ref: str | None = None,
    max_bytes: int = MAX_ARCHIVE_BYTES,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> ConfigBundle:
    """Fetch and read the bundle ``source`` names (see the module docstring for the forms).

    Raises
    ------
    ConfigBundleError
        The source cannot be reached, the ref does not exist, the archive is unsafe or
        too big, or the bundle is malformed (an :class:`InvalidBundleError` listing
        every problem).
    """
    if source.startswith(("http://", "https://")):
        if source.removesuffix("/").endswith(".git"):
            return fetch_git(source, ref=ref, timeout_s=timeout_s)
        if ref is not None:
            raise ConfigBundleError(
                f"{source}: a ref ({ref!r}) applies to git sources only; write "
                f"git+{source} if it is a git repository"
            )
        return fetch_http(source, max_bytes=max_bytes, timeout_s=timeout_s)
    if source.startswith("git+"):
        return fetch_git(source.removeprefix("git+"), ref=ref, timeout_s=timeout_s)
    if source.startswith(_GIT_URL_PREFIXES) or source.removesuffix("/").endswith(".git"):
        return fetch_git(source, ref=ref, timeout_s=timeout_s)
    path = Path(source)
    if path.is_dir():
        if ref is not None:
            return fetch_git(source, ref=ref, timeout_s=timeout_s)
        return fetch_folder(path)
    if path.is_file() and source.lower().endswith(_ARCHIVE_SUFFIXES):
        if ref is not None:
            raise ConfigBundleError(f"{source}: a ref ({ref!r}) applies to git sources only")
        return fetch_archive_file(path, max_bytes=max_bytes)
    raise ConfigBundleError(
        f"{source}: not a folder, an archive file (.zip, .tar, .tar.gz), a git repository "
        "(git+<url>) or an http(s) URL of an archive; give one of those"
    )


def fetch_folder(folder: str | Path) -> ConfigBundle:
    """Read a bundle folder as it is on disk; its source is ``dir:<absolute path>``."""
    return read_bundle(folder, source=f"dir:{Path(folder).resolve()}")


def fetch_git(
    repository: str, *, ref: str | None = None, timeout_s: float = DEFAULT_TIMEOUT_S
) -> ConfigBundle:
    """Read the bundle at the root of ``repository`` at ``ref`` (``HEAD`` if ``None``).

    The ref is fetched into a temporary bare repository (shallow when the server allows
    it) and its tree unpacked with ``git archive``; the user's clone is only read.

    Parameters
    ----------
    repository
        A local path or any URL git understands.
    ref
        A branch, tag or commit sha (4-64 hex digits); ``HEAD`` if not given.
    timeout_s
        Time each git command may take [s].
    """
    if shutil.which("git") is None:
        raise ConfigBundleError("git is not on PATH; install git to fetch bundles from git")
    target = "HEAD" if ref is None else ref
    if not target or target.startswith("-") or any(c.isspace() or c == "\0" for c in target):
        raise ConfigBundleError(f"{repository}: ref {target!r} is not a valid git ref")
    if repository.startswith("-"):
        raise ConfigBundleError(f"{repository!r} is not a git repository path or URL")
    local = Path(repository)
    url = str(local.resolve()) if "://" not in repository and local.exists() else repository
    with tempfile.TemporaryDirectory(prefix="fos-config-git-") as tmp:
        bare = Path(tmp) / "repo.git"
        _git(["init", "--quiet", "--bare", str(bare)], what=url, timeout_s=timeout_s)
        fetched = _git(
            ["-C", str(bare), "fetch", "--quiet", "--no-tags", "--depth", "1", "--", url, target],
            what=url,
            timeout_s=timeout_s,
            check=False,
        )
        if fetched.returncode == 0:
            sha = _rev_parse(bare, "FETCH_HEAD", url=url, timeout_s=timeout_s)
        elif _HEX_REF.fullmatch(target):
            # Servers refuse a commit that is no branch or tag tip in a shallow fetch:
            # fetch every branch and tag, then look the (possibly short) sha up.
            _git(
                [
                    "-C",
                    str(bare),
                    "fetch",
                    "--quiet",
                    "--",
                    url,
                    "+refs/heads/*:refs/heads/*",
                    "+refs/tags/*:refs/tags/*",
                ],
                what=url,
                timeout_s=timeout_s,
            )
            sha = _rev_parse(bare, target, url=url, timeout_s=timeout_s)
        else:
            detail = _last_line(fetched.stderr)
            raise ConfigBundleError(
                f"git {url}: ref {target!r} not found or repository unreachable ({detail}); "
                "give an existing branch, tag or commit"
            )
        archive = _git(
            ["-C", str(bare), "archive", "--format=tar", sha], what=url, timeout_s=timeout_s
        )
        tree = Path(tmp) / "tree"
        tree.mkdir()
        extract_archive(archive.stdout, tree, name=f"git {url}@{sha[:12]}")
        return read_bundle(
            _bundle_root(tree, name=f"git {url}@{sha[:12]}"), source=f"git+{url}@{sha}"
        )


def fetch_http(
    url: str, *, max_bytes: int = MAX_ARCHIVE_BYTES, timeout_s: float = DEFAULT_TIMEOUT_S
) -> ConfigBundle:
    """Download a ``.tar.gz``/``.tar``/``.zip`` bundle archive and read it.

    The bundle may sit at the archive's root or in its single top folder. Its source is
    ``<url>#sha256:<digest of the archive>``.
    """
    request = urllib.request.Request(url, headers={"User-Agent": f"feederos/{__version__}"})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            length = response.headers.get("Content-Length")
            if length is not None and length.isdigit() and int(length) > max_bytes:
                raise ConfigBundleError(
                    f"{url}: archive of {int(length)} bytes exceeds the {max_bytes} byte limit"
                )
            data = response.read(max_bytes + 1)
    except urllib.error.HTTPError as exc:
        exc.close()
        raise ConfigBundleError(f"{url}: HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        raise ConfigBundleError(f"{url}: cannot fetch: {exc.reason}") from None
    except (OSError, ValueError) as exc:
        raise ConfigBundleError(f"{url}: cannot fetch: {exc}") from None
    if len(data) > max_bytes:
        raise ConfigBundleError(f"{url}: archive exceeds the {max_bytes} byte limit")
    return _read_archive(data, name=url)


def fetch_archive_file(path: str | Path, *, max_bytes: int = MAX_ARCHIVE_BYTES) -> ConfigBundle:
    """Read a ``.tar.gz``/``.tar``/``.zip`` bundle archive from a local file, as
    :func:`fetch_http` reads a downloaded one; its source is ``file:<absolute
    path>#sha256:<digest>``."""
    file = Path(path).resolve()
    try:
        size = file.stat().st_size
        if size > max_bytes:
            raise ConfigBundleError(
                f"{file}: archive of {size} bytes exceeds the {max_bytes} byte limit"
            )
        data = file.read_bytes()
    except OSError as exc:
        raise ConfigBundleError(f"{file}: cannot read: {exc.strerror or exc}") from None
    return _read_archive(data, name=f"file:{file}")


def _read_archive(data: bytes, *, name: str) -> ConfigBundle:
    digest = hashlib.sha256(data).hexdigest()
    with tempfile.TemporaryDirectory(prefix="fos-config-archive-") as tmp:
        tree = Path(tmp)
        extract_archive(data, tree, name=name)
        return read_bundle(_bundle_root(tree, name=name), source=f"{name}#sha256:{digest}")


def extract_archive(
    data: bytes,
    dest: Path,
    *,
    name: str,
    max_extracted_bytes: int = MAX_EXTRACTED_BYTES,
    max_members: int = MAX_ARCHIVE_MEMBERS,
) -> None:
    """Unpack a tar, gzip'd tar or zip archive into the empty folder ``dest``, safely.

    Every member must be a plain file or folder whose path stays inside ``dest``; the
    unpacked total may not exceed ``max_extracted_bytes`` [bytes] nor the member count
    ``max_members``. ``name`` names the archive in errors.
    """
    budget = _Budget(name, max_extracted_bytes, max_members)
    if data[:2] == b"\x1f\x8b":
        _check_gzip_ends(data, budget)
        _extract_tar(data, "r|gz", dest, budget)
    elif data[:4] == b"PK\x03\x04":
        _extract_zip(data, dest, budget)
    elif data[257:262] == b"ustar":
        _extract_tar(data, "r|", dest, budget)
    else:
        raise ConfigBundleError(
            f"{name}: not a .tar.gz, .tar or .zip archive (starts with {data[:8]!r})"
        )


class _Budget:
    """Counts members and unpacked bytes against the limits."""

    def __init__(self, name: str, max_bytes: int, max_members: int) -> None:
        self.name, self.max_bytes, self.max_members = name, max_bytes, max_members
        self.bytes = 0
        self.members = 0

    def member(self) -> None:
        self.members += 1
        if self.members > self.max_members:
            raise ConfigBundleError(f"{self.name}: more than {self.max_members} members; refused")

    def add(self, n_bytes: int) -> None:
        self.bytes += n_bytes
        if self.bytes > self.max_bytes:
            raise ConfigBundleError(
                f"{self.name}: unpacks to more than {self.max_bytes} bytes; refused"
            )


def _safe_target(dest: Path, member: str, name: str) -> Path:
    """Where ``member`` goes under ``dest``; refuse paths that could leave it."""
    if "\\" in member or "\0" in member:
        raise ConfigBundleError(f"{name}: member {member!r} has a backslash or NUL; refused")
    parts = [p for p in PurePosixPath(member).parts if p != "."]
    if member.startswith("/") or ".." in parts or (parts and ":" in parts[0]):
        raise ConfigBundleError(
            f"{name}: member {member!r} leaves the archive's folder "
            "(absolute path or '..'); refused"
        )
    return dest.joinpath(*parts) if parts else dest


def _write_member(source: IO[bytes], target: Path, member: str, budget: _Budget) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        out = target.open("xb")
    except FileExistsError:
        raise ConfigBundleError(
            f"{budget.name}: member {member!r} appears twice; refused"
        ) from None
    with out:
        while chunk := source.read(_CHUNK_BYTES):
            budget.add(len(chunk))
            out.write(chunk)


def _check_gzip_ends(data: bytes, budget: _Budget) -> None:
    """Refuse a gzip stream cut short: tar's stream reader may stop quietly at a header."""
    stream = zlib.decompressobj(wbits=31)
    pending, unpacked = data, 0
    try:
        while pending and not stream.eof:
            unpacked += len(stream.decompress(pending, _CHUNK_BYTES))
            if unpacked > budget.max_bytes:
                return  # extraction refuses it for its size, naming the limit
            pending = stream.unconsumed_tail
    except zlib.error as exc:
        raise ConfigBundleError(f"{budget.name}: not a readable archive: {exc}") from None
    if not stream.eof:
        raise ConfigBundleError(
            f"{budget.name}: not a readable archive: the gzip stream ends early (truncated?)"
        )


def _extract_tar(data: bytes, mode: str, dest: Path, budget: _Budget) -> None:
    try:
        # Stream mode: members are read in order and a member's declared size is
        # checked before its bytes are decompressed.
        with tarfile.open(fileobj=io.BytesIO(data), mode=mode) as tar:  # type: ignore[call-overload]
            for info in tar:
                budget.member()
                target = _safe_target(dest, info.name, budget.name)
                if info.isdir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                if not info.isreg():
                    raise ConfigBundleError(
                        f"{budget.name}: member {info.name!r} is a link or device, not a "
                        "plain file; refused"
                    )
                if budget.bytes + info.size > budget.max_bytes:
                    budget.add(info.size)
                source = tar.extractfile(info)
                if source is None:  # pragma: no cover - isreg() members always have data
                    raise ConfigBundleError(f"{budget.name}: cannot read {info.name!r}")
                _write_member(source, target, info.name, budget)
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        raise ConfigBundleError(f"{budget.name}: not a readable archive: {exc}") from None


def _extract_zip(data: bytes, dest: Path, budget: _Budget) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for info in archive.infolist():
                budget.member()
                target = _safe_target(dest, info.filename, budget.name)
                # Unix file type bits, when the archiver set them (many leave them 0).
                kind = stat.S_IFMT(info.external_attr >> 16)
                if info.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                if kind and kind != stat.S_IFREG:
                    raise ConfigBundleError(
                        f"{budget.name}: member {info.filename!r} is a link or device, not a "
                        "plain file; refused"
                    )
                with archive.open(info) as source:
                    _write_member(source, target, info.filename, budget)
    except (zipfile.BadZipFile, zlib.error, OSError, RuntimeError, EOFError) as exc:
        raise ConfigBundleError(f"{budget.name}: not a readable archive: {exc}") from None


def _bundle_root(tree: Path, *, name: str) -> Path:
    """The unpacked bundle's folder: the archive's root or its single top folder."""
    if any((tree / meta).is_file() for meta in META_FILES):
        return tree
    entries = list(tree.iterdir())
    if len(entries) == 1 and entries[0].is_dir():
        inner = entries[0]
        if any((inner / meta).is_file() for meta in META_FILES):
            return inner
    raise ConfigBundleError(
        f"{name}: holds no {' or '.join(META_FILES)} at its root or in its single top "
        "folder; is it a config bundle?"
    )


def _git(
    args: list[str], *, what: str, timeout_s: float, check: bool = True
) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}
    try:
        result = subprocess.run(
            ["git", *args], capture_output=True, timeout=timeout_s, env=env, check=False
        )
    except subprocess.TimeoutExpired:
        raise ConfigBundleError(
            f"git {what}: 'git {args[2] if len(args) > 2 else args[0]}' took longer than "
            f"{timeout_s:g} s; check the URL and the network"
        ) from None
    if check and result.returncode != 0:
        raise ConfigBundleError(f"git {what}: {_last_line(result.stderr)}")
    return result


def _rev_parse(bare: Path, rev: str, *, url: str, timeout_s: float) -> str:
    result = _git(
        ["-C", str(bare), "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"],
        what=url,
        timeout_s=timeout_s,
        check=False,
    )
    if result.returncode != 0:
        raise ConfigBundleError(
            f"git {url}: ref {rev!r} not found; give an existing branch, tag or commit"
        )
    return result.stdout.decode().strip()


def _last_line(stderr: bytes) -> str:
    lines = [line.strip() for line in stderr.decode(errors="replace").splitlines() if line]
    return lines[-1] if lines else "no message from git"
