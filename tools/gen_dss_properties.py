"""Generate ``src/feederos/io/opendss/dss_properties.json`` from OpenDSS (dss-python).

The OpenDSS script layer resolves abbreviated and positional property names, command
names and ``Set`` option names the way OpenDSS does: by their order in OpenDSS's own
lists. This script asks the OpenDSS engine (dss-python, a dev dependency) for those
lists once and stores them as data, so feederos needs no OpenDSS at run time.

Run from the repository root::

    .venv/bin/python tools/gen_dss_properties.py

The file holds:

``classes``
    lower-case class name -> ordered list of lower-case property names.
``commands``
    ordered list of lower-case executive command names.
``options``
    ordered list of lower-case ``Set`` option names.
``defaults``
    lower-case class name -> names of the objects OpenDSS creates on ``Clear``.
``source``
    the OpenDSS version the lists were read from.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

OUT = (
    Path(__file__).resolve().parents[1]
    / "src"
    / "feederos"
    / "io"
    / "opendss"
    / ("dss_properties.json")
)


def main() -> None:
    """Query OpenDSS and write the JSON file."""
    from dss import DSS  # a dev-only dependency

    text = DSS.Text
    circuit = DSS.ActiveCircuit
    text.Command = "clear"
    text.Command = "new circuit.gen_props"

    defaults: dict[str, list[str]] = {}
    for cls in DSS.Classes:
        circuit.SetActiveClass(cls)
        names = [n.lower() for n in circuit.ActiveClass.AllNames if n]
        if names and cls.lower() != "vsource":  # the source comes from `New Circuit`
            defaults[cls.lower()] = names

    # Objects some classes need before they can be created.
    for setup in (
        "new line.gen_props_x bus1=a bus2=b",
        "new transformer.gen_props_x",
        "new capacitor.gen_props_x bus1=a",
    ):
        text.Command = setup

    classes: dict[str, list[str]] = {}
    for cls in DSS.Classes:
        circuit.SetActiveClass(cls)
        if circuit.ActiveClass.Count == 0 or cls.lower() == "vsource":
            for extra in (
                "transformer=gen_props_x capacitor=gen_props_x",
                "switchedobj=line.gen_props_x",
            ):
                # OpenDSS reports missing targets and redefinitions as errors, but the
                # object exists afterwards, which is all we need.
                with contextlib.suppress(Exception):
                    text.Command = f"new {cls}.gen_props_x element=line.gen_props_x {extra}"
        circuit.SetActiveClass(cls)
        active = circuit.ActiveClass
        if active.Count == 0:
            print(f"skipping {cls}: could not create an object")
            continue
        _ = active.First  # reading First activates the first object
        names = list(circuit.ActiveDSSElement.AllPropertyNames)
        classes[cls.lower()] = [n.lower() for n in names]

    executive = DSS.Executive
    commands = [executive.Command(i).lower() for i in range(1, executive.NumCommands + 1)]
    options = [executive.Option(i).lower() for i in range(1, executive.NumOptions + 1)]

    data = {
        "source": DSS.Version.splitlines()[0],
        "classes": dict(sorted(classes.items())),
        "commands": commands,
        "options": options,
        "defaults": dict(sorted(defaults.items())),
    }
    OUT.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {OUT} ({len(classes)} classes)")


if __name__ == "__main__":
    main()
