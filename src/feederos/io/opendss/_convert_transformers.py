"""OpenDSS transformers, transformer codes and regulator controls to the model.

Properties are interpreted in order, as OpenDSS does: ``wdg=`` selects the winding that
``bus= conn= kv= kva= %r= tap=`` apply to; the array forms set all windings at once.

Examples
--------
>>> from feederos.io.opendss._script import parse_script
>>> s = parse_script("New Circuit.c\\nNew Transformer.t buses=[a b] kvs=[115 4.16] %loadloss=1")
>>> t = convert_transformer(s.objects["transformer", "t"], Context(), {})
>>> [w.r_pct for w in t.windings], t.windings[1].v_kv
([0.5, 0.5], 4.16)
"""

from __future__ import annotations

import copy
from typing import Any

from feederos.io.opendss._convert_base import (
    Context,
    as_array,
    as_bool,
    as_count,
    as_float,
    as_float_array,
    as_int,
    fail,
    parse_terminal,
)
from feederos.io.opendss._script import DssObject
from feederos.model import (
    Connection,
    PhaseShift,
    PowerTransformer,
    RatioTapChanger,
    TapChangerPhase,
    TransformerCode,
    TransformerWinding,
    WindingRating,
)

__all__ = ["convert_regcontrol", "convert_transformer", "convert_xfmrcode"]


def _conn(text: str) -> Connection:
    word = text.strip().lower()
    return Connection.DELTA if word.startswith(("d", "ll")) else Connection.WYE


def _new_winding() -> dict[str, Any]:
    return {"bus": None, "conn": Connection.WYE, "kv": 12.47, "kva": 1000.0, "r": 0.2,
            "tap": 1.0, "maxtap": 1.1, "mintap": 0.9, "numtaps": 32, "rneut": -1.0,
            "xneut": 0.0}


class _XfState:
    """Transformer data accumulated property by property."""

    def __init__(self) -> None:
        self.phases = 3
        self.windings = [_new_winding(), _new_winding()]
        self.active = 0
        self.x = {"xhl": 7.0, "xht": 35.0, "xlt": 30.0}
        self.noloadloss = 0.0
        self.imag = 0.0
        self.lead = PhaseShift.LAG
        self.normhkva: float | None = None
        self.emerghkva: float | None = None
        self.sub = False
        self.bank: str | None = None
        self.code: str | None = None

    def set_windings(self, n: int) -> None:
        while len(self.windings) < n:
            self.windings.append(_new_winding())
        del self.windings[n:]
        self.active = min(self.active, n - 1)

    def each(self, values: list[Any], key: str) -> None:
        for w, v in zip(self.windings, values, strict=False):
            w[key] = v

    def apply(self, obj: DssObject, prop: Any, codes: dict[str, _XfState]) -> bool:
        name = prop.name
        w = self.windings[self.active]
        if name == "phases":
            self.phases = as_count(obj, prop)
        elif name == "windings":
            self.set_windings(as_count(obj, prop))
        elif name == "wdg":
            i = as_int(prop)
            if not 1 <= i <= len(self.windings):
                raise fail(obj, f"winding {i} does not exist", prop)
            self.active = i - 1
        elif name == "bus":
            w["bus"] = prop.value
        elif name == "conn":
            w["conn"] = _conn(prop.value)
        elif name == "kv":
            w["kv"] = as_float(prop)
        elif name == "kva":
            w["kva"] = as_float(prop)
        elif name == "tap":
            w["tap"] = as_float(prop)
        elif name == "%r":
            w["r"] = as_float(prop)
        elif name in ("rneut", "xneut", "maxtap", "mintap"):
            w[name] = as_float(prop)
        elif name == "numtaps":
            w["numtaps"] = as_int(prop)
        elif name == "buses":
            self.each(as_array(prop), "bus")
        elif name == "conns":
            self.each([_conn(v) for v in as_array(prop)], "conn")
        elif name == "kvs":
            self.each(as_float_array(prop), "kv")
        elif name == "kvas":
            self.each(as_float_array(prop), "kva")
        elif name == "taps":
            self.each(as_float_array(prop), "tap")
        elif name == "%rs":
            self.each(as_float_array(prop), "r")
        elif name == "%loadloss":
            loss = as_float(prop)
            for winding in self.windings[:2]:
                winding["r"] = loss / 2.0
        elif name in ("xhl", "xht", "xlt"):
            self.x[name] = as_float(prop)
        elif name in ("x12", "x13", "x23"):
            self.x[{"x12": "xhl", "x13": "xht", "x23": "xlt"}[name]] = as_float(prop)
        elif name == "xscarray":
            values = as_float_array(prop)
            for key, v in zip(("xhl", "xht", "xlt"), values, strict=False):
                self.x[key] = v
        elif name == "%noloadloss":
            self.noloadloss = as_float(prop)
        elif name == "%imag":
            self.imag = as_float(prop)
        elif name == "leadlag":
            word = prop.value.strip().lower()
            self.lead = PhaseShift.LEAD if word.startswith(("lead", "euro")) else PhaseShift.LAG
        elif name == "normhkva":
            self.normhkva = as_float(prop)
        elif name == "emerghkva":
            self.emerghkva = as_float(prop)
        elif name == "sub":
            self.sub = as_bool(prop)
        elif name == "bank":
            self.bank = prop.value.strip().lower()
        elif name == "xfmrcode":
            key = prop.value.strip().lower()
            if key not in codes:
                raise fail(obj, f"no XfmrCode {key!r}", prop)
            self.copy_code(codes[key])
            self.code = key
        else:
            return False
        return True

    def copy_code(self, code: _XfState) -> None:
        buses = [w["bus"] for w in self.windings]
        self.phases = code.phases
        self.windings = copy.deepcopy(code.windings)
        for w, bus in zip(self.windings, buses, strict=False):
            w["bus"] = bus
        self.active = 0
        self.x = dict(code.x)
        self.noloadloss, self.imag, self.lead = code.noloadloss, code.imag, code.lead
        self.normhkva, self.emerghkva = code.normhkva, code.emerghkva

    def common(self) -> dict[str, Any]:
        three = len(self.windings) == 3
        kva = self.windings[0]["kva"]
        return {
            "phases": self.phases,
            "xhl_pct": self.x["xhl"],
            "xht_pct": self.x["xht"] if three else None,
            "xlt_pct": self.x["xlt"] if three else None,
            "no_load_loss_pct": self.noloadloss,
            "magnetizing_pct": self.imag,
            "phase_shift": self.lead,
            "normal_kva": self.normhkva if self.normhkva else 1.1 * kva,
            "emergency_kva": self.emerghkva if self.emerghkva else 1.5 * kva,
        }

    def rating(self, w: dict[str, Any]) -> dict[str, Any]:
        return {
            "connection": w["conn"], "v_kv": w["kv"], "s_kva": w["kva"], "r_pct": w["r"],
            "tap_pu": w["tap"], "min_tap_pu": w["mintap"], "max_tap_pu": w["maxtap"],
            "n_taps": w["numtaps"],
            "r_neutral_ohm": w["rneut"] if w["rneut"] >= 0 else None,
            "x_neutral_ohm": max(w["xneut"], 0.0),
        }


def read_xfmrcode(obj: DssObject, ctx: Context, codes: dict[str, _XfState]) -> _XfState:
    """Accumulate an ``XfmrCode``'s data (kept for transformers that use it)."""
    state = _XfState()
    for prop in obj.properties:
        if prop.name in ("bus", "buses") or not state.apply(obj, prop, codes):
            ctx.skip(obj, prop)
    return state


def convert_xfmrcode(obj: DssObject, state: _XfState) -> TransformerCode:
    """The model's :class:`TransformerCode` of an accumulated ``XfmrCode``."""
    return TransformerCode(
        name=obj.name, windings=[WindingRating(**state.rating(w)) for w in state.windings],
        **state.common(),
    )


def convert_transformer(
    obj: DssObject, ctx: Context, codes: dict[str, _XfState]
) -> PowerTransformer:
    """Convert an OpenDSS ``Transformer``, interpreting its properties in order."""
    state = _XfState()
    for prop in obj.properties:
        if not state.apply(obj, prop, codes):
            ctx.skip(obj, prop)
    windings = []
    for i, w in enumerate(state.windings, start=1):
        if w["bus"] is None:
            raise fail(obj, f"winding {i} has no bus")
        wye = w["conn"] is Connection.WYE
        # A single-phase winding always spans two nodes; for delta both are phases
        # (e.g. 799.1.2), for wye the second is the neutral (ground by default).
        n_cond = state.phases + 1 if wye or state.phases == 1 else state.phases
        term = parse_terminal(w["bus"], n_conductors=n_cond, n_phases=state.phases,
                              wye_neutral=wye)
        windings.append(TransformerWinding(terminal=term, **state.rating(w)))
    return PowerTransformer(
        name=obj.name, windings=windings, code=state.code, bank=state.bank,
        is_substation=state.sub, **state.common(),
    )


_PT_PHASE = {"1": TapChangerPhase.A, "2": TapChangerPhase.B, "3": TapChangerPhase.C,
             "max": TapChangerPhase.MAX, "min": TapChangerPhase.MIN}


def convert_regcontrol(obj: DssObject, ctx: Context) -> RatioTapChanger:
    """Convert a ``RegControl`` to a :class:`RatioTapChanger`."""
    v: dict[str, Any] = {"winding": 1}
    transformer: str | None = None
    floats = {"vreg": "v_set_v", "band": "band_v", "ptratio": "pt_ratio",
              "ctprim": "ct_primary_a", "r": "ldc_r_v", "x": "ldc_x_v", "delay": "delay_s",
              "tapdelay": "tap_delay_s", "remoteptratio": "remote_pt_ratio",
              "revvreg": "rev_v_set_v", "revband": "rev_band_v", "revr": "rev_ldc_r_v",
              "revx": "rev_ldc_x_v", "revthreshold": "rev_threshold_kw",
              "revdelay": "rev_delay_s"}
    bools = {"reversible": "reversible", "inversetime": "inverse_time",
             "revneutral": "rev_neutral", "enabled": "enabled"}
    for prop in obj.properties:
        name = prop.name
        if name == "transformer":
            transformer = prop.value.strip().lower()
        elif name == "winding":
            v["winding"] = as_int(prop)
            v.pop("tap_winding", None)  # OpenDSS: setting winding resets TapWinding
        elif name == "tapwinding":
            v["tap_winding"] = as_int(prop)
        elif name in floats:
            v[floats[name]] = as_float(prop)
            if name == "ptratio":
                v.pop("remote_pt_ratio", None)  # OpenDSS: RemotePTRatio follows PTratio
        elif name in bools:
            v[bools[name]] = as_bool(prop)
        elif name == "maxtapchange":
            v["max_tap_change"] = max(as_int(prop), 0)
        elif name == "ptphase":
            key = prop.value.strip().lower()
            if key not in _PT_PHASE:
                raise fail(obj, "PTphase must be 1, 2, 3, max or min", prop)
            v["pt_phase"] = _PT_PHASE[key]
        elif name == "vlimit":
            limit = as_float(prop)
            v["v_limit_v"] = limit if limit > 0 else None
        elif name == "bus":
            bus = prop.value.strip().lower()
            v["monitored_bus"] = bus or None  # bus= (empty) regulates the winding again
        else:
            ctx.skip(obj, prop)
    if transformer is None:
        raise fail(obj, "needs transformer=")
    return RatioTapChanger(name=obj.name, transformer=transformer, **v)
