"""Built-in feeders shipped with feederos as JSON documents.

Every ``*.json`` file in the package folder ``feederos/feeders/data/`` is a feeder,
named by its file stem (``streetgrid``, and ``ieee13``/``ieee123`` once the OpenDSS
importer has written them); ``tools/gen_builtin_feeders.py`` regenerates them.

Examples
--------
>>> "streetgrid" in list_feeders()
True
>>> load_feeder("streetgrid").name
'streetgrid'
"""

from __future__ import annotations

from importlib import resources

from feederos.errors import UnknownFeederError
from feederos.model import Network

__all__ = ["UnknownFeederError", "list_feeders", "load_feeder"]

_PACKAGE = "feederos.feeders"
_FOLDER = "data"


def _data_files() -> dict[str, str]:
    folder = resources.files(_PACKAGE).joinpath(_FOLDER)
    if not folder.is_dir():
        return {}
    return {
        entry.name[: -len(".json")]: entry.name
        for entry in folder.iterdir()
        if entry.is_file() and entry.name.endswith(".json")
    }


def list_feeders() -> list[str]:
    """Names of the built-in feeders, sorted (always including ``"streetgrid"``).

    Returns
    -------
    list[str]
        One name per shipped JSON file.

    Examples
    --------
    >>> "streetgrid" in list_feeders()
    True
    """
    return sorted({*_data_files(), "streetgrid"})


def load_feeder(name: str) -> Network:
    """Read a built-in feeder.

    Parameters
    ----------
    name
        One of :func:`list_feeders`.

    Returns
    -------
    Network
        A fresh network object (callers may change it freely).

    Raises
    ------
    UnknownFeederError
        No built-in feeder has that name.

    Examples
    --------
    >>> net = load_feeder("streetgrid")
    >>> len(net.buses)
    18
    """
    files = _data_files()
    if name not in files:
        if name == "streetgrid":  # the JSON is missing (source checkout not regenerated)
            from feederos.feeders.streetgrid import streetgrid_street

            return streetgrid_street()
        raise UnknownFeederError(
            f"no built-in feeder {name!r}; known: {', '.join(list_feeders())}"
        )
    path = resources.files(_PACKAGE).joinpath(_FOLDER).joinpath(files[name])
    text = path.read_text(encoding="utf-8")
    return Network.model_validate_json(text)
