"""Reading OpenDSS scripts into the feederos network model.

Examples
--------
>>> import pathlib, tempfile
>>> path = pathlib.Path(tempfile.mkdtemp()) / "tiny.dss"
>>> _ = path.write_text(
...     "New Circuit.tiny basekv=12.47 bus1=src\\n"
...     "New Line.l1 bus1=src bus2=b r1=0.1 x1=0.3 length=1 units=km\\n"
...     "New Load.ld bus1=b kv=12.47 kw=100 pf=1\\n")
>>> net = read_opendss(path)
>>> dss_class_counts(net)["Load"], [b.name for b in net.buses]
(1, ['src', 'b'])
"""

from __future__ import annotations

import os

from feederos.io.opendss._confine import confined_to
from feederos.io.opendss._convert import DssImportWarning, convert_script, dss_class_counts
from feederos.io.opendss._script import read_script
from feederos.model import Network

__all__ = ["DssImportWarning", "dss_class_counts", "read_opendss"]


def read_opendss(
    path: str | os.PathLike[str], *, root: str | os.PathLike[str] | None = None
) -> Network:
    """Read an OpenDSS master file (and everything it redirects to) into a Network.

    Parameters
    ----------
    path
        The ``.dss`` file to run, as OpenDSS's ``Compile`` would.
    root
        If given, every file the script reads (``Redirect``, ``Compile``, ``BusCoords``,
        ``file=`` data) must lie inside this folder, or a ``DssSyntaxError`` names the
        command: for scripts from someone else, e.g. files uploaded to the service.

    Returns
    -------
    Network
        The network model.

    Raises
    ------
    feederos.errors.DssSyntaxError
        A command or value is malformed (the message names file and line).
    feederos.errors.NetworkImportError
        An element's data does not make a valid model element; the message names the
        file and line, the element (``line.l1``), the model field and the OpenDSS
        property it came from. A bad ``Set`` option names the master file and option.

    Warns
    -----
    DssImportWarning
        Once, listing the classes and properties that have no place in the model.
    """
    if root is None:
        return convert_script(read_script(path))
    with confined_to(root):
        return convert_script(read_script(path))
