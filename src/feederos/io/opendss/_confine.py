"""Keep a script's file reads inside one folder (for scripts a server did not write).

``Redirect``, ``Compile``, ``BusCoords`` and ``mult=(file=…)`` may name any path; a
service importing uploaded ``.dss`` files must not let them read the server's own files
(``Redirect /etc/passwd``, or ``mult=(file=/var/lib/…)`` copying its numbers into a
network the uploader then downloads). :func:`confined_to` sets, for the current thread or
task, the folder every read must stay in; :func:`outside_root` tells whether a path leaves
it (after resolving ``..`` and symbolic links).

Examples
--------
>>> from pathlib import Path
>>> with confined_to(Path("/srv/upload")):
...     outside_root(Path("/srv/upload/codes.dss")), outside_root(Path("/etc/passwd"))
(False, True)
>>> outside_root(Path("/etc/passwd"))
False
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

__all__ = ["confined_to", "outside_root"]

_ROOT: ContextVar[Path | None] = ContextVar("feederos_dss_root", default=None)


@contextmanager
def confined_to(root: str | os.PathLike[str]) -> Iterator[None]:
    """Within the block, script file reads must stay inside ``root``."""
    token = _ROOT.set(Path(os.path.realpath(root)))
    try:
        yield
    finally:
        _ROOT.reset(token)


def outside_root(path: Path) -> bool:
    """Whether reading ``path`` would leave the folder set by :func:`confined_to`."""
    root = _ROOT.get()
    if root is None:
        return False
    real = Path(os.path.realpath(path))
    return real != root and root not in real.parents
