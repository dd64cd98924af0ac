"""Regulator and capacitor controls of a snapshot power flow (OpenDSS STATIC mode).

:mod:`~feederos.powerflow.controls.regulators` and
:mod:`~feederos.powerflow.controls.capacitors` compile each kind of control into a table
and decide, as pure functions of a solved state, what every control wants;
:mod:`~feederos.powerflow.controls.static` runs OpenDSS's control loop (solve, sample,
queue by delay, act on the nearest actions, re-solve) around a solver callback. Its
module docstring is the contract for the solver.
"""

from feederos.powerflow.controls._types import TerminalKey
from feederos.powerflow.controls.capacitors import (
    CapacitorControlTable,
    CapacitorSample,
    capacitor_control_table,
    capacitor_sample,
    switch_capacitor,
)
from feederos.powerflow.controls.regulators import (
    RegulatorSample,
    RegulatorTable,
    at_least_one_tap,
    regulator_sample,
    regulator_table,
    tap_number,
)
from feederos.powerflow.controls.static import (
    ControlAction,
    ControlOutcome,
    ControlState,
    SolveOutput,
    initial_control_state,
    run_static_controls,
    terminal_currents_from_blocks,
)

__all__ = [
    "CapacitorControlTable",
    "CapacitorSample",
    "ControlAction",
    "ControlOutcome",
    "ControlState",
    "RegulatorSample",
    "RegulatorTable",
    "SolveOutput",
    "TerminalKey",
    "at_least_one_tap",
    "capacitor_control_table",
    "capacitor_sample",
    "initial_control_state",
    "regulator_sample",
    "regulator_table",
    "run_static_controls",
    "switch_capacitor",
    "tap_number",
    "terminal_currents_from_blocks",
]
