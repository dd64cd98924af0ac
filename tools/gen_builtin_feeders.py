"""Regenerate the built-in feeder JSON files in ``src/feederos/feeders/data/``.

``streetgrid.json`` is written from :func:`feederos.feeders.streetgrid_street`;
``ieee13.json`` and ``ieee123.json`` from the OpenDSS test feeders in
``/work/shared/feeders`` (or ``--feeders DIR``) through
``feederos.io.opendss.read_opendss``, when that reader exists.

Usage::

    python tools/gen_builtin_feeders.py               # everything that can be built
    python tools/gen_builtin_feeders.py streetgrid    # only the street
    python tools/gen_builtin_feeders.py --check       # exit 1 if a file is out of date
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from feederos.feeders.streetgrid import streetgrid_street
from feederos.model import Network

DATA = Path(__file__).resolve().parents[1] / "src" / "feederos" / "feeders" / "data"
DEFAULT_FEEDERS = Path("/work/shared/feeders")
IEEE_MASTERS = {"ieee13": "13Bus/IEEE13Nodeckt.dss", "ieee123": "123Bus/IEEE123Master.dss"}


def to_json(network: Network) -> str:
    """The shipped form of a network: indented JSON without default values."""
    return network.model_dump_json(indent=1, exclude_defaults=True) + "\n"


def _opendss_builder(master: Path) -> Callable[[], Network] | str:
    """A builder for an IEEE feeder, or the reason it cannot be built."""
    try:
        from feederos.io import opendss
    except ImportError as exc:  # pragma: no cover - depends on the io package
        return f"feederos.io.opendss cannot be imported ({exc})"
    read = getattr(opendss, "read_opendss", None)
    if read is None:
        return "feederos.io.opendss.read_opendss does not exist yet"
    if not master.is_file():
        return f"{master} not found"
    return lambda: read(master)  # type: ignore[no-any-return]


def builders(feeders_dir: Path) -> dict[str, Callable[[], Network] | str]:
    """Every built-in feeder: a function building it, or why it cannot be built now."""
    out: dict[str, Callable[[], Network] | str] = {"streetgrid": streetgrid_street}
    for name, rel in IEEE_MASTERS.items():
        out[name] = _opendss_builder(feeders_dir / rel)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Write (or with ``--check`` compare) the built-in feeder files; return an exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="feeders to build (default: all)")
    parser.add_argument("--feeders", type=Path, default=DEFAULT_FEEDERS,
                        help="folder of the OpenDSS test feeders")
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args(argv)
    table = builders(args.feeders)
    names = args.names or list(table)
    status = 0
    for name in names:
        build = table.get(name)
        if build is None:
            print(f"unknown feeder {name!r}; known: {', '.join(table)}", file=sys.stderr)
            status = 2
            continue
        if isinstance(build, str):
            print(f"skipping {name}: {build}", file=sys.stderr)
            if args.names:  # asked for explicitly
                status = max(status, 1)
            continue
        text = to_json(build())
        path = DATA / f"{name}.json"
        if args.check:
            same = path.is_file() and path.read_text(encoding="utf-8") == text
            print(f"{name}: {'up to date' if same else 'OUT OF DATE'}")
            status = status if same else max(status, 1)
        else:
            DATA.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path} ({len(text):,} bytes)")
    return status


if __name__ == "__main__":
    sys.exit(main())
