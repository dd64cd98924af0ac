"""Commands → the twin: which assets a feeder has, and the setpoints apps put in force.

Every asset an app may watch or command is named by one topic-level id:

=================  ===========================  ======================================
asset id           what                          actions it takes
=================  ===========================  ======================================
``<bus>``          a bus (``675``)               none (measured only)
``inverter.<n>``   a PV system or battery        ``set_p_limit_pct``, ``set_q_kvar``,
                                                 ``set_p_kw`` (PV: a cap [kW])
``regulator.<n>``  a regulator (tap changer)     ``set_tap``
``capacitor.<n>``  a capacitor bank              ``set_cap_steps``
``switch.<n>``     a switch                      ``open``, ``close``
``load.<n>``       a load                        ``curtail_pct``
=================  ===========================  ======================================

Element ids carry their kind as :class:`~feederos.powerflow.PowerFlowResult` names them,
so a load named like its bus (IEEE 13's ``671``) stays apart from the bus. Elements whose
names are not valid topic levels cannot be addressed and are left out.

A command that fits its asset changes the :class:`Setpoints`; one that does not is
refused with a reason (:func:`check_command`), never raised. A regulator, capacitor or
switch an app commands leaves its local control: the twin then keeps the app's tap or
steps (a remote/manual mode) instead of letting its own controller move them.

Examples
--------
>>> from datetime import datetime, UTC
>>> from feederos.feeders import load_feeder
>>> from feederos.runtime.messages import Action, Command
>>> assets = AssetCatalogue.of(load_feeder("ieee13"))
>>> assets.kind("load.671"), assets.kind("671")
(<AssetKind.LOAD: 'load'>, <AssetKind.BUS: 'bus'>)
>>> cmd = Command(ts=datetime(2026, 6, 1, tzinfo=UTC), asset="regulator.reg1",
...               action=Action.SET_TAP, setpoint=40, issuer="app")
>>> print(check_command(assets, cmd))
tap 40 is outside regulator.reg1's range -16…16
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum

import numpy as np

from feederos.errors import TopicError
from feederos.model import DerKind, Network, PowerElectronicsConnection
from feederos.model.transformers import RatioTapChanger, WindingRating
from feederos.powerflow.compiled import CompiledNetwork
from feederos.powerflow.controls import tap_number
from feederos.powerflow.injections.base import InjectionSet
from feederos.powerflow.injections.inverters import InverterInjections
from feederos.powerflow.injections.loads import LoadSet
from feederos.runtime.messages import Action, Command
from feederos.runtime.topics import check_id

__all__ = ["AssetCatalogue", "AssetKind", "Setpoints", "check_command", "setting_of"]


class AssetKind(StrEnum):
    """What an asset id names."""

    BUS = "bus"
    INVERTER = "inverter"
    REGULATOR = "regulator"
    CAPACITOR = "capacitor"
    SWITCH = "switch"
    LOAD = "load"


_ACTIONS: dict[AssetKind, tuple[Action, ...]] = {
    AssetKind.BUS: (),
    AssetKind.INVERTER: (Action.SET_P_LIMIT_PCT, Action.SET_P_KW, Action.SET_Q_KVAR),
    AssetKind.REGULATOR: (Action.SET_TAP,),
    AssetKind.CAPACITOR: (Action.SET_CAP_STEPS,),
    AssetKind.SWITCH: (Action.OPEN, Action.CLOSE),
    AssetKind.LOAD: (Action.CURTAIL_PCT,),
}


@dataclass(frozen=True)
class AssetCatalogue:
    """Every addressable asset of a network: id → (kind, element name), in network order."""

    network: Network
    assets: dict[str, tuple[AssetKind, str]]

    @classmethod
    def of(cls, network: Network) -> AssetCatalogue:
        """The assets of ``network`` (see the module docstring for the ids)."""
        found: dict[str, tuple[AssetKind, str]] = {}

        def add(kind: AssetKind, name: str, asset: str) -> None:
            try:
                check_id(asset, what="asset id")
            except TopicError:
                return  # no topic can name it: not addressable
            found[asset] = (kind, name)

        for bus in network.buses:
            add(AssetKind.BUS, bus.name, bus.name)
        groups: Sequence[tuple[AssetKind, Sequence[str]]] = (
            (AssetKind.INVERTER, [i.name for i in network.inverters if i.enabled]),
            (AssetKind.REGULATOR, [r.name for r in network.regulators]),
            (AssetKind.CAPACITOR, [c.name for c in network.capacitors]),
            (AssetKind.SWITCH, [s.name for s in network.switches]),
            (AssetKind.LOAD, [ld.name for ld in network.loads]),
        )
        for kind, names in groups:
            for name in names:
                add(kind, name, f"{kind.value}.{name}")
        return cls(network, found)

    def kind(self, asset: str) -> AssetKind | None:
        """The asset's kind, ``None`` if the feeder has no such asset."""
        entry = self.assets.get(asset)
        return None if entry is None else entry[0]

    def name(self, asset: str) -> str:
        """The element (or bus) name behind ``asset``."""
        return self.assets[asset][1]

    def inverter(self, asset: str) -> PowerElectronicsConnection:
        name = self.name(asset)
        return next(i for i in self.network.inverters if i.name == name)

    def regulator(self, asset: str) -> tuple[RatioTapChanger, WindingRating, int]:
        """The regulator, its tap winding's rating and that winding's 0-based index."""
        name = self.name(asset)
        reg = next(r for r in self.network.regulators if r.name == name)
        transformer = next(t for t in self.network.transformers if t.name == reg.transformer)
        w = (reg.tap_winding or reg.winding) - 1
        return reg, transformer.windings[w], w


def inverter_rating_kw(inv: PowerElectronicsConnection) -> float:
    """What a ``set_p_limit_pct`` percentage is of: the array's Pmpp, else the kVA [kW]."""
    return inv.p_rated_kw if inv.p_rated_kw is not None else inv.s_kva


def check_command(assets: AssetCatalogue, command: Command) -> str | None:
    """Why ``command`` cannot be applied to the twin, or ``None`` if it can."""
    kind = assets.kind(command.asset)
    if kind is None:
        return f"feeder has no asset {command.asset!r}"
    if command.action not in _ACTIONS[kind]:
        allowed = ", ".join(a.value for a in _ACTIONS[kind]) or "none (measured only)"
        return (
            f"action {command.action.value} does not fit {kind.value} {command.asset}; "
            f"it takes {allowed}"
        )
    sp = command.setpoint
    if kind is AssetKind.INVERTER:
        inv = assets.inverter(command.asset)
        if command.action is Action.SET_P_KW and inv.kind is DerKind.BATTERY:
            return (
                "set_p_kw on a battery is not supported by the twin: its dispatch books "
                "stored energy from its own schedule (timeseries.dispatch)"
            )
        if command.action is Action.SET_P_KW and sp is not None and sp < 0:
            return f"set_p_kw {sp} on PV {command.asset} must be ≥ 0 kW"
    if kind is AssetKind.REGULATOR and sp is not None:
        _, winding, _ = assets.regulator(command.asset)
        half = winding.n_taps // 2
        if not -half <= int(sp) <= half:
            return f"tap {int(sp)} is outside {command.asset}'s range -{half}…{half}"
    if kind is AssetKind.CAPACITOR and sp is not None:
        cap = next(c for c in assets.network.capacitors if c.name == assets.name(command.asset))
        if not 0 <= int(sp) <= len(cap.q_kvar):
            return f"{int(sp)} steps is outside {command.asset}'s 0…{len(cap.q_kvar)}"
    return None


@dataclass
class Setpoints:
    """What apps have put in force on the twin, by asset id (see the module docstring)."""

    p_limit_pct: dict[str, float] = field(default_factory=dict)
    p_cap_kw: dict[str, float] = field(default_factory=dict)
    q_kvar: dict[str, float] = field(default_factory=dict)
    curtail_pct: dict[str, float] = field(default_factory=dict)
    taps: dict[str, int] = field(default_factory=dict)
    cap_steps: dict[str, int] = field(default_factory=dict)
    switch_open: dict[str, bool] = field(default_factory=dict)

    def apply(self, command: Command) -> bool:
        """Put a checked command in force; whether the network must be compiled again
        (a switch moved, or a regulator or capacitor left its local control)."""
        a, sp = command.asset, command.setpoint
        match command.action:
            case Action.SET_P_LIMIT_PCT:
                self.p_limit_pct[a] = float(sp or 0.0)
            case Action.SET_P_KW:
                self.p_cap_kw[a] = float(sp or 0.0)
            case Action.SET_Q_KVAR:
                self.q_kvar[a] = float(sp or 0.0)
            case Action.CURTAIL_PCT:
                self.curtail_pct[a] = float(sp or 0.0)
            case Action.SET_TAP:
                new = a not in self.taps
                self.taps[a] = int(sp or 0)
                return new
            case Action.SET_CAP_STEPS:
                new = a not in self.cap_steps
                self.cap_steps[a] = int(sp or 0)
                return new
            case Action.OPEN | Action.CLOSE:
                was = self.switch_open.get(a)
                self.switch_open[a] = command.action is Action.OPEN
                return was != self.switch_open[a]
        return False

    # -- the twin as the setpoints make it ------------------------------------------
    def network(self, assets: AssetCatalogue) -> Network:
        """The network with the switches as commanded and the commanded regulators and
        capacitors out of their local control (a copy; ``assets.network`` is kept)."""
        base = assets.network
        opened = {assets.name(a): o for a, o in self.switch_open.items()}
        manual_regs = {assets.name(a) for a in self.taps}
        manual_caps = {assets.name(a) for a in self.cap_steps}
        return base.model_copy(
            update={
                "switches": [
                    s.model_copy(update={"open": opened[s.name]}) if s.name in opened else s
                    for s in base.switches
                ],
                "regulators": [
                    r.model_copy(update={"enabled": False}) if r.name in manual_regs else r
                    for r in base.regulators
                ],
                "capacitors": [
                    c.model_copy(
                        update={"control": c.control.model_copy(update={"enabled": False})}
                    )
                    if c.name in manual_caps and c.control is not None
                    else c
                    for c in base.capacitors
                ],
            }
        )

    def control_state(self, assets: AssetCatalogue, compiled: CompiledNetwork) -> CompiledNetwork:
        """``compiled`` with the commanded taps and capacitor steps."""
        taps: dict[str, tuple[float, ...]] = {}
        for a, n in self.taps.items():
            reg, winding, w = assets.regulator(a)
            now = list(compiled.tap_pu[reg.transformer])
            now[w] = (winding.max_tap_pu + winding.min_tap_pu) / 2.0 + n * winding.tap_step_pu
            taps[reg.transformer] = tuple(now)
        states: dict[str, tuple[int, ...]] = {}
        for a, k in self.cap_steps.items():
            name = assets.name(a)
            size = len(compiled.capacitor_states[name])
            states[name] = (1,) * k + (0,) * (size - k)
        return compiled.with_state(tap_pu=taps, capacitor_states=states)

    def injections(
        self, assets: AssetCatalogue, sets: Sequence[InjectionSet]
    ) -> tuple[InjectionSet, ...]:
        """A step's injection sets with the commanded P limits, Q setpoints and load
        curtailments."""
        out: list[InjectionSet] = []
        for s in sets:
            if isinstance(s, InverterInjections):
                out.append(self._inverters(assets, s))
            elif isinstance(s, LoadSet) and self.curtail_pct:
                keep = np.array(
                    [1.0 - self.curtail_pct.get(f"load.{n}", 0.0) / 100.0 for n in s.names]
                )
                out.append(replace(s, mult=s.mult * keep))
            else:
                out.append(s)
        return tuple(out)

    def _inverters(self, assets: AssetCatalogue, s: InverterInjections) -> InverterInjections:
        cap = s.p_cap_kw.copy()
        q_set, pf_mode, volt_var = s.q_set_kvar.copy(), s.pf_mode.copy(), s.volt_var.copy()
        for i, name in enumerate(s.names):
            a = f"inverter.{name}"
            if a in self.p_limit_pct:
                rating = inverter_rating_kw(assets.inverter(a))
                cap[i] = min(cap[i], self.p_limit_pct[a] / 100.0 * rating)
            if a in self.p_cap_kw:
                cap[i] = min(cap[i], self.p_cap_kw[a])
            if a in self.q_kvar:
                # A remote Q setpoint replaces the power factor and any volt-var curve.
                q_set[i], pf_mode[i], volt_var[i] = self.q_kvar[a], False, False
        return replace(s, p_cap_kw=cap, q_set_kvar=q_set, pf_mode=pf_mode, volt_var=volt_var)


def setting_of(
    assets: AssetCatalogue,
    setpoints: Setpoints,
    compiled: CompiledNetwork,
    asset: str,
    action: Action,
) -> float:
    """The value ``action`` sets on ``asset`` as the twin has it now (NaN: none)."""
    match action:
        case Action.SET_P_LIMIT_PCT:
            return setpoints.p_limit_pct.get(asset, 100.0)
        case Action.SET_P_KW:
            return setpoints.p_cap_kw.get(asset, float("nan"))
        case Action.SET_Q_KVAR:
            return setpoints.q_kvar.get(asset, float("nan"))
        case Action.CURTAIL_PCT:
            return setpoints.curtail_pct.get(asset, 0.0)
        case Action.SET_TAP:
            reg, winding, w = assets.regulator(asset)
            return float(
                tap_number(
                    compiled.tap_pu[reg.transformer][w],
                    winding.min_tap_pu,
                    winding.max_tap_pu,
                    winding.tap_step_pu,
                )
            )
        case Action.SET_CAP_STEPS:
            return float(sum(compiled.capacitor_states[assets.name(asset)]))
        case Action.OPEN | Action.CLOSE:
            name = assets.name(asset)
            sw = next(s for s in compiled.network.switches if s.name == name)
            return 1.0 if sw.open else 0.0
    return float("nan")  # pragma: no cover - every action is matched above
