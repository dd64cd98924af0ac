"""Uploaded OpenDSS files → a network: a zip archive or several files, read in a sandbox.

The files are written to a fresh temporary folder and the master script is read with
:func:`feederos.io.opendss.read_opendss` confined to that folder, so a ``Redirect`` or
``file=`` naming a path outside the upload is refused. Archives are checked before
anything is extracted: no absolute or ``..`` member paths, at most
:data:`MAX_FILES` members and :data:`MAX_EXPANDED_BYTES` once expanded (a zip bomb is
refused without being inflated). Error messages name the uploaded file (its path inside
the upload, never the server's temporary folder) and line.

The master file is the one named ``main``; else the only ``.dss`` file; else the one
whose name starts with ``master`` (case-insensitive, e.g. ``Master.dss``,
``IEEE13Master.dss`` does not count); else the request is refused asking for ``main``.

Examples
--------
>>> net = network_from_upload([("tiny.dss", b"New Circuit.tiny basekv=12.47 bus1=src\\n"
...     b"New Line.l1 bus1=src bus2=b r1=0.1 x1=0.3 length=1 units=km\\n")])
>>> net.name, [b.name for b in net.buses]
('tiny', ['src', 'b'])
>>> network_from_upload([("a.txt", b"hello")])  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
feederos.errors.NetworkImportError: no .dss file in the upload (got a.txt); ...
"""

from __future__ import annotations

import io
import tempfile
import warnings
import zipfile
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from feederos.errors import NetworkImportError
from feederos.io.opendss import read_opendss
from feederos.model import Network

__all__ = ["MAX_EXPANDED_BYTES", "MAX_FILES", "network_from_upload"]

MAX_FILES = 2000
"""Most files an upload (or an archive in it) may hold."""
MAX_EXPANDED_BYTES = 500_000_000
"""Most bytes an upload may hold once its archives are expanded."""


def _safe_name(name: str, what: str) -> PurePosixPath:
    path = PurePosixPath(name.replace("\\", "/"))
    if not name or path.is_absolute() or ".." in path.parts or name.startswith("/"):
        raise NetworkImportError(f"{what} {name!r}: file names must be relative paths without '..'")
    return path


def _expand(files: Sequence[tuple[str, bytes]]) -> list[tuple[PurePosixPath, bytes]]:
    out: list[tuple[PurePosixPath, bytes]] = []
    total = 0
    for name, data in files:
        if data[:4] == b"PK\x03\x04" or name.lower().endswith(".zip"):
            try:
                archive = zipfile.ZipFile(io.BytesIO(data))
            except zipfile.BadZipFile as exc:
                raise NetworkImportError(f"{name}: not a readable zip archive ({exc})") from None
            with archive:
                members = [m for m in archive.infolist() if not m.is_dir()]
                if len(members) > MAX_FILES:
                    raise NetworkImportError(
                        f"{name}: {len(members)} files; an upload may hold {MAX_FILES}"
                    )
                declared = sum(m.file_size for m in members)
                if total + declared > MAX_EXPANDED_BYTES:
                    raise NetworkImportError(
                        f"{name}: expands to {declared:,} bytes; an upload may hold "
                        f"{MAX_EXPANDED_BYTES:,}"
                    )
                for member in members:
                    path = _safe_name(member.filename, f"{name}: member")
                    try:
                        content = archive.read(member)
                    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
                        raise NetworkImportError(
                            f"{name}: member {member.filename!r} cannot be read ({exc})"
                        ) from None
                    total += len(content)
                    out.append((path, content))
        else:
            total += len(data)
            out.append((_safe_name(name, "file"), data))
        if len(out) > MAX_FILES or total > MAX_EXPANDED_BYTES:
            raise NetworkImportError(
                f"the upload holds more than {MAX_FILES} files or {MAX_EXPANDED_BYTES:,} bytes"
            )
    return out


def _master(paths: Sequence[PurePosixPath], main: str | None) -> PurePosixPath:
    if main:
        wanted = PurePosixPath(main.replace("\\", "/"))
        matches = [p for p in paths if p == wanted] or [p for p in paths if p.name == main]
        if len(matches) != 1:
            listing = ", ".join(str(p) for p in paths[:20])
            raise NetworkImportError(
                f"main file {main!r} is not in the upload (or is ambiguous); files: {listing}"
            )
        return matches[0]
    scripts = [p for p in paths if p.suffix.lower() == ".dss"]
    if not scripts:
        listing = ", ".join(str(p) for p in paths[:20]) or "nothing"
        raise NetworkImportError(
            f"no .dss file in the upload (got {listing}); upload the OpenDSS scripts"
        )
    if len(scripts) == 1:
        return scripts[0]
    masters = [p for p in scripts if p.name.lower().startswith("master")]
    if len(masters) == 1:
        return masters[0]
    listing = ", ".join(str(p) for p in scripts[:20])
    raise NetworkImportError(
        f"several .dss files ({listing}): name the master script with the 'main' field"
    )


def network_from_upload(files: Sequence[tuple[str, bytes]], main: str | None = None) -> Network:
    """Read uploaded ``(file name, content)`` pairs into a network (module docstring).

    Raises :class:`~feederos.errors.NetworkImportError` (or its ``DssSyntaxError``)
    naming the uploaded file and line and what to fix.
    """
    entries = _expand(files)
    names = [p for p, _ in entries]
    if len(set(names)) != len(names):
        dup = sorted({str(p) for p in names if names.count(p) > 1})
        raise NetworkImportError(f"the upload holds {', '.join(dup)} more than once")
    master = _master(names, main)
    with tempfile.TemporaryDirectory(prefix="feederos-upload-") as folder:
        root = Path(folder).resolve()
        for path, content in entries:
            target = root.joinpath(*path.parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
        try:
            with warnings.catch_warnings():
                # The importer warns of properties the model has no place for; the service
                # has no console to show them on.
                warnings.simplefilter("ignore")
                return read_opendss(root.joinpath(*master.parts), root=root)
        except NetworkImportError as exc:
            raise _relative(exc, root) from None


def _relative(exc: NetworkImportError, root: Path) -> NetworkImportError:
    """The same error with the temporary folder taken out of its file names."""
    prefix = str(root) + "/"
    file = exc.file[len(prefix) :] if exc.file and exc.file.startswith(prefix) else exc.file
    message = exc.message.replace(prefix, "").replace(str(root), ".")
    return type(exc)(message, file=file, line=exc.line)
