"""PV systems and batteries, with IEEE 1547-2018 volt-var and volt-watt, as OpenDSS has them.

An inverter (OpenDSS ``PVSystem`` or ``Storage``) decides its active and reactive power
from its resource and settings (OpenDSS ``ComputeInverterPower``): a PV array delivers
``irradiance × Pmpp`` (nothing below the 20 % cut-out), capped at ``%Pmpp``; a battery its
dispatched kW (minus its idling losses when idle). Reactive power follows a power factor
or a fixed kvar, limited to ``kvarMax``/``kvarMaxAbs``; if the result exceeds the kVA
rating, active power is backed off (reactive priority, OpenDSS's default; an idle battery
backs off reactive power instead). The element then injects that power per phase with the
generator's branch model (:func:`~feederos.powerflow.injections.generators.branch_currents`,
constant power within ``[0.9, 1.1]`` pu).

Under an inverter control (OpenDSS ``InvControl``) the reactive set point is a volt-var
curve and the active limit a volt-watt curve, both read at the element's monitored voltage
(the mean of its phase conductors' magnitudes to ground in per unit of its own base,
OpenDSS ``GetMonVoltage``; ``monVoltageCalc`` selects max, min or one phase instead).
OpenDSS reaches those set points by control iterations, each moving part of the way
(``deltaQ_factor``) and stopping once voltage and vars change less than
``VoltageChangeTolerance``/``VarChangeTolerance``. Here the curves are part of
:meth:`InverterInjections.currents`: the current at a voltage is the one whose power is
the curve's value *at that voltage*, so a power flow converges to the exact fixed point of
the curve that OpenDSS approaches within its tolerances. The volt-var output is
``y(v) × headroom`` with headroom ``√(kVA² − P²)`` (``RefReactivePower=VARAVAL``) or
``kvarMax`` (``VARMAX``), limited as OpenDSS's ``Check_Qlimits``; the volt-watt limit is
``y(v) × Pmpp`` (``VoltwattYAxis=PMPPPU``; also ``PAVAILABLEPU``, ``PCTPMPPPU``,
``KVARATINGPU``), limited as ``Check_Plimits``. Where OpenDSS's iteration has no fixed
point of its own (an array at or above its kVA rating under ``VARAVAL``) the limit of
that iteration is used: no reactive power, and under volt-watt a constant power factor
at the kVA rating.

Curves are OpenDSS ``XYCurve`` lookups: linear between points, extrapolated from the end
segments, snapped to a point's ``y`` within 1e-5 of its ``x``.

Examples
--------
>>> import numpy as np
>>> xs, ys = np.array([0.92, 0.98, 1.02, 1.08]), np.array([0.44, 0.0, 0.0, -0.44])
>>> y, dy = curve_values(xs, ys, np.array([1.05, 1.2]))
>>> y.round(4).tolist(), dy.round(4).tolist()
([-0.22, -1.32], [-7.3333, -7.3333])
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from feederos.errors import FeederosError
from feederos.model import (
    BatteryState,
    Connection,
    DerKind,
    InverterControl,
    InverterControlMode,
    Network,
    PowerElectronicsConnection,
    ReactivePowerMode,
)
from feederos.powerflow.injections.base import ComplexArray, FloatArray, IntArray
from feederos.powerflow.injections.generators import (
    BranchLayout,
    branch_admittance_block,
    branch_currents,
    branch_layout,
    branch_voltages,
    complex_to_real_jacobian,
    stamp_branch_jacobian,
)
from feederos.powerflow.nodes import NodeIndex
from feederos.powerflow.primitives.block import PrimitiveBlock

__all__ = [
    "InverterControlSettings",
    "InverterInjections",
    "control_settings",
    "curve_values",
    "inverter_injections",
]

BoolArray = npt.NDArray[np.bool_]

_SQRT3 = math.sqrt(3.0)
_SNAP = 1e-5  # OpenDSS XYCurve: "if close to an actual point, just use it"

PV_CUT_OUT_PCT = 20.0
"""OpenDSS ``PVSystem`` default ``%cutout`` (and ``%cutin``) of the kVA rating [%]."""

MON_AVG, MON_MAX, MON_MIN = -1, -2, -3
"""``monVoltageCalc``: mean, largest, smallest phase; ``0, 1, ...`` one phase."""
_VW_YAXIS = {"pavailablepu": 0, "pmpppu": 1, "pctpmpppu": 2, "kvaratingpu": 3}


def curve_values(xs: FloatArray, ys: FloatArray, x: FloatArray) -> tuple[FloatArray, FloatArray]:
    """OpenDSS ``XYCurve.GetYValue`` at ``x`` and the slope there.

    Linear between points, extrapolated from the first or last segment outside them, and
    exactly a point's ``y`` within 1e-5 of its ``x`` (the slope reported there is the
    segment's, which is what a Newton step wants).
    """
    n = xs.shape[0]
    if n == 1:
        return np.full_like(x, ys[0]), np.zeros_like(x)
    i = np.searchsorted(xs, x - _SNAP, side="right")  # first point with xs > x - 1e-5
    hi = np.clip(i, 1, n - 1)
    lo = hi - 1
    den = xs[hi] - xs[lo]
    slope = np.where(den != 0, (ys[hi] - ys[lo]) / np.where(den != 0, den, 1.0), 0.0)
    y = ys[hi] + (x - xs[hi]) * slope
    below_first = x < xs[0]
    snap = (~below_first) & (i < n) & (np.abs(xs[np.minimum(i, n - 1)] - x) < _SNAP)
    y = np.where(snap, ys[np.minimum(i, n - 1)], y)
    return y.astype(np.float64), slope.astype(np.float64)


@dataclass(frozen=True)
class InverterControlSettings:
    """What an inverter control does, read from an :class:`InverterControl`."""

    volt_var_curve: str | None
    volt_watt_curve: str | None
    var_max_reference: bool
    """Volt-var ``y`` in per unit of ``kvarMax`` (``VARMAX``), else of available vars."""
    monitor: int
    """:data:`MON_AVG`, :data:`MON_MAX`, :data:`MON_MIN`, or a 0-based phase."""
    volt_watt_y_axis: int
    """0 available power, 1 Pmpp, 2 %Pmpp × Pmpp, 3 kVA rating (OpenDSS ``VoltwattYAxis``)."""


def _setting(ctrl: InverterControl, *keys: str) -> str | None:
    for key in keys:
        if key in ctrl.settings:
            return ctrl.settings[key].strip().strip("\"'").lower()
    return None


def control_settings(ctrl: InverterControl) -> InverterControlSettings:
    """Read ``ctrl``, refusing what the fixed-point model does not reproduce.

    Raises
    ------
    FeederosError
        For modes other than volt-var, volt-watt and both, for ``monBus``, averaging
        x-axis references (``voltage_curvex_ref=avg|ravg``) and volt-var hysteresis.
    """
    where = f"inverter control {ctrl.name!r}"
    vv = ctrl.mode in (InverterControlMode.VOLT_VAR, InverterControlMode.VOLT_VAR_VOLT_WATT)
    vw = ctrl.mode in (InverterControlMode.VOLT_WATT, InverterControlMode.VOLT_VAR_VOLT_WATT)
    if not (vv or vw):
        raise FeederosError(f"{where}: mode {ctrl.mode.value!r} is not supported")
    if vv and ctrl.volt_var_curve is None:
        raise FeederosError(f"{where}: volt-var needs vvc_curve1")
    if vw and ctrl.volt_watt_curve is None:
        raise FeederosError(f"{where}: volt-watt needs voltwatt_curve")
    ref = _setting(ctrl, "voltage_curvex_ref")
    if ref is not None and not ref.startswith("rat"):
        raise FeederosError(f"{where}: voltage_curvex_ref={ref} is not supported")
    if _setting(ctrl, "monbus") not in (None, "", "[]", "()"):
        raise FeederosError(f"{where}: monBus is not supported")
    hyst = _setting(ctrl, "hysteresis_offset")
    if hyst is not None and float(hyst) != 0.0:
        raise FeederosError(f"{where}: volt-var hysteresis is not supported")
    combi = _setting(ctrl, "combimode")
    if combi is not None and combi not in ("vv_vw", ""):
        raise FeederosError(f"{where}: combimode={combi} is not supported")
    ref_q = _setting(ctrl, "refreactivepower", "vv_refreactivepower") or "varaval"
    mon_text = _setting(ctrl, "monvoltagecalc") or "avg"
    monitor = {"avg": MON_AVG, "max": MON_MAX, "min": MON_MIN}.get(mon_text)
    if monitor is None:
        monitor = int(mon_text) - 1
    yaxis_text = _setting(ctrl, "voltwattyaxis") or "pmpppu"
    if yaxis_text not in _VW_YAXIS:
        raise FeederosError(f"{where}: VoltwattYAxis={yaxis_text} is not supported")
    return InverterControlSettings(
        volt_var_curve=ctrl.volt_var_curve if vv else None,
        volt_watt_curve=ctrl.volt_watt_curve if vw else None,
        var_max_reference=ref_q.startswith("varmax"),
        monitor=monitor,
        volt_watt_y_axis=_VW_YAXIS[yaxis_text],
    )


def _controlled_names(ctrl: InverterControl) -> list[str]:
    if ctrl.der:
        return [d.lower() for d in ctrl.der]
    legacy = ctrl.settings.get("pvsystemlist")
    if legacy:
        return ["pvsystem." + n.lower() for n in re.split(r"[\s,\[\]()\"']+", legacy) if n]
    return []


def _dss_name(inv: PowerElectronicsConnection) -> str:
    return ("pvsystem." if inv.kind is DerKind.PV else "storage.") + inv.name.lower()


def _controls_by_inverter(network: Network) -> dict[str, InverterControlSettings]:
    """Which control governs each inverter (the first that names it; empty list = all)."""
    out: dict[str, InverterControlSettings] = {}
    all_names = [_dss_name(inv) for inv in network.inverters if inv.enabled]
    for ctrl in network.inverter_controls:
        names = _controlled_names(ctrl) or all_names
        settings = control_settings(ctrl)
        for name in names:
            out.setdefault(name, settings)
    return out


def _own_control(inv: PowerElectronicsConnection) -> InverterControlSettings | None:
    vv = inv.q_mode is ReactivePowerMode.VOLT_VAR
    if not vv and inv.volt_watt_curve is None:
        return None
    return InverterControlSettings(
        volt_var_curve=inv.volt_var_curve if vv else None, volt_watt_curve=inv.volt_watt_curve,
        var_max_reference=False, monitor=MON_AVG, volt_watt_y_axis=1)


@dataclass(frozen=True, eq=False)
class InverterInjections:
    """``m`` PV systems and batteries with one conductor layout (see the module docstring).

    Powers are per element [kW, kvar, kVA]; ``v_base_v`` is OpenDSS's ``VBase`` (line to
    neutral for 2- and 3-phase elements, the rating for 1-phase ones), which is also the
    base of the monitored voltage.
    """

    names: tuple[str, ...]
    conductors: IntArray
    layout: BranchLayout
    is_pv: BoolArray
    s_kva: FloatArray
    p_dc_kw: FloatArray
    """Available active power: PV ``irradiance × Pmpp`` or the battery's dispatch [kW]."""
    p_cap_kw: FloatArray
    """``%Pmpp × Pmpp`` or the battery's kW rating [kW]."""
    inverter_on: BoolArray
    idle: BoolArray
    pf_mode: BoolArray
    pf: FloatArray
    q_set_kvar: FloatArray
    kvar_max: FloatArray
    kvar_max_abs: FloatArray
    v_base_v: FloatArray
    v_min_pu: FloatArray
    v_max_pu: FloatArray
    y_nominal_s: ComplexArray
    """OpenDSS's Yprim admittance per branch [S] (only shapes convergence)."""
    volt_var: BoolArray
    volt_watt: BoolArray
    vv_curve: IntArray
    vw_curve: IntArray
    var_max_reference: BoolArray
    monitor: IntArray
    vw_base_kw: FloatArray
    vw_y_axis: IntArray
    """The volt-watt curve's y axis: 0 available power, 1 and 2 ``Pmpp``, 3 kVA."""
    cut_in_kw: FloatArray
    """Output that turns an inverter that is off on (OpenDSS ``%cutin`` × kVA) [kW]."""
    cut_out_kw: FloatArray
    """Output below which an inverter that is on turns off (``%cutout`` × kVA) [kW]."""
    curves: tuple[tuple[FloatArray, FloatArray], ...]
    kind: str = "inverters"

    @property
    def controlled(self) -> BoolArray:
        """Elements whose power depends on their voltage through a curve."""
        return np.asarray(self.volt_var | self.volt_watt)

    def nominal_block(self) -> PrimitiveBlock:
        """OpenDSS's PVSystem/Storage Yprim (``-YEQ`` or ``∓`` the battery's rated Y)."""
        return branch_admittance_block(self.kind, self.names, self.conductors, self.layout,
                                       self.y_nominal_s)

    # -- control voltage -------------------------------------------------------------
    def monitored_pu(self, v_cond: ComplexArray) -> tuple[FloatArray, ComplexArray]:
        """Monitored voltage ``(m,)`` [pu] and ``∂v/∂V`` (holomorphic part) ``(m, k)``."""
        m, k = v_cond.shape
        n = self.layout.n_phases
        vp = v_cond[:, :n]
        mag = np.abs(vp)
        weight = np.zeros((m, n))
        weight[self.monitor == MON_AVG] = 1.0 / n
        for code, pick in ((MON_MAX, np.argmax), (MON_MIN, np.argmin)):
            rows = np.flatnonzero(self.monitor == code)
            weight[rows, pick(mag[rows], axis=1)] = 1.0
        for ph in range(n):
            weight[self.monitor == ph, ph] = 1.0
        weight /= self.v_base_v[:, None]
        v_pu = (weight * mag).sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            h = np.where(mag > 0, weight * np.conj(vp) / (2.0 * np.where(mag > 0, mag, 1.0)),
                         0.0)
        dv = np.zeros((m, k), dtype=np.complex128)
        dv[:, :n] = h
        return v_pu.astype(np.float64), dv

    def _curve(self, ids: IntArray, v_pu: FloatArray) -> tuple[FloatArray, FloatArray]:
        y = np.zeros_like(v_pu)
        dy = np.zeros_like(v_pu)
        for c in np.unique(ids[ids >= 0]):
            rows = ids == c
            y[rows], dy[rows] = curve_values(*self.curves[int(c)], v_pu[rows])
        return y, dy

    # -- power -----------------------------------------------------------------------
    def powers(self, v_pu: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
        """Active and reactive output at monitored voltage ``v_pu`` and their slopes.

        Returns ``p_kw, dp_dv, q_kvar, dq_dv`` ``(m,)`` [kW, kvar, kW/pu, kvar/pu];
        uncontrolled elements ignore ``v_pu``.
        """
        s = self.s_kva
        lim, lim_neg = self.kvar_max, self.kvar_max_abs
        zero = np.zeros_like(s)
        # Active power before reactive power (OpenDSS kWOut_Calc).
        p0 = np.where(self.is_pv, np.minimum(self.p_dc_kw, self.p_cap_kw),
                      np.where(self.idle, self.p_dc_kw,
                               np.clip(self.p_dc_kw, -self.p_cap_kw, self.p_cap_kw)))
        y_vw, dy_vw = self._curve(self.vw_curve, v_pu)
        p_vw = np.minimum(y_vw * self.vw_base_kw, self.p_cap_kw)
        dp_vw = np.where(y_vw * self.vw_base_kw < self.p_cap_kw, dy_vw * self.vw_base_kw, 0.0)
        vw_bites = self.volt_watt & (p_vw < p0)
        p = np.where(vw_bites, p_vw, p0)
        dp = np.where(vw_bites, dp_vw, zero)
        p = np.where(self.inverter_on, p, zero)
        dp = np.where(self.inverter_on, dp, zero)

        # Reactive power at a power factor (OpenDSS VARMODEPF), limited to kvarMax(Abs).
        pf = np.where(self.pf == 0, 1.0, self.pf)
        tan = np.sqrt(np.maximum(1.0 / pf**2 - 1.0, 0.0)) * np.sign(pf)
        q_pf = p * tan
        dq_pf = dp * tan
        over = (np.abs(q_pf) > lim) | (np.abs(q_pf) > lim_neg)
        q_pf_lim = np.where(q_pf > 0, lim, lim_neg) * np.sign(p) * np.sign(pf)
        idle_q = np.where((q_pf > 0) & (q_pf > lim), lim,
                          np.where((q_pf < 0) & (-q_pf > lim_neg),
                                   lim_neg * np.sign(self.q_set_kvar), q_pf))
        q_a = np.where(self.idle, idle_q, np.where(over, q_pf_lim, q_pf))
        dq_a = np.where(self.idle, np.where(idle_q == q_pf, dq_pf, 0.0),
                        np.where(over, 0.0, dq_pf))

        # Reactive power requested: fixed kvar or the volt-var curve (OpenDSS
        # CalcQVVcurve_desiredpu, Calc_QHeadRoom, Check_Qlimits at the fixed point).
        y_vv, dy_vv = self._curve(self.vv_curve, v_pu)
        full = np.abs(p) >= s
        head = np.sqrt(np.maximum(s**2 - p**2, 0.0))
        with np.errstate(divide="ignore", invalid="ignore"):
            dhead = np.where(full, 0.0, -p * dp / np.where(head > 0, head, 1.0))
        head_pos = np.where(self.var_max_reference, lim, head)
        head_neg = np.where(self.var_max_reference, lim_neg, head)
        dh_pos = np.where(self.var_max_reference, 0.0, dhead)
        dh_neg = dh_pos
        with np.errstate(divide="ignore", invalid="ignore"):
            cap_pos = np.minimum(1.0, lim / np.where(head_pos > 0, head_pos, 1.0))
            cap_neg = np.minimum(1.0, lim_neg / np.where(head_neg > 0, head_neg, 1.0))
        pos = y_vv >= 0
        cap = np.where(pos, cap_pos, cap_neg)
        head_q = np.where(pos, head_pos, head_neg)
        dhead_q = np.where(pos, dh_pos, dh_neg)
        capped = np.abs(y_vv) > cap
        y_end = np.where(capped, cap * np.sign(y_vv), y_vv)
        lim_q = np.where(pos, lim, lim_neg)
        with np.errstate(divide="ignore", invalid="ignore"):
            d_cap = np.where(cap < 1.0, -lim_q * dhead_q / np.where(head_q > 0, head_q, 1.0)**2,
                             0.0)
        dy_end = np.where(capped, d_cap * np.sign(y_vv), dy_vv)
        q_vv = y_end * head_q
        dq_vv = dy_end * head_q + y_end * dhead_q
        no_head = full & ~self.var_max_reference  # OpenDSS's iteration drives Q to 0 here
        q_vv = np.where(no_head, 0.0, q_vv)
        dq_vv = np.where(no_head, 0.0, dq_vv)
        q_req = np.where(self.volt_var, q_vv, self.q_set_kvar)
        dq_req = np.where(self.volt_var, dq_vv, zero)
        over_pos = (q_req > 0) & (q_req >= lim)
        over_neg = (q_req < 0) & (-q_req >= lim_neg)
        q_b = np.where(over_pos, lim, np.where(over_neg, -lim_neg, q_req))
        dq_b = np.where(over_pos | over_neg, 0.0, dq_req)

        use_pf = self.pf_mode & ~self.volt_var
        q = np.where(use_pf, q_a, q_b)
        dq = np.where(use_pf, dq_a, dq_b)

        # kVA limit: back off P (reactive priority), or Q for an idle battery.
        exceeded = p**2 + q**2 > s**2
        with np.errstate(invalid="ignore", divide="ignore"):
            rest_p = np.sqrt(np.maximum(s**2 - q**2, 0.0))
            rest_q = np.sqrt(np.maximum(s**2 - p**2, 0.0))
            d_rest_p = np.where(rest_p > 0, -q * dq / np.where(rest_p > 0, rest_p, 1.0), 0.0)
            d_rest_q = np.where(rest_q > 0, -p * dp / np.where(rest_q > 0, rest_q, 1.0), 0.0)
        back_q = exceeded & self.idle
        back_p = exceeded & ~self.idle
        # Under volt-watt OpenDSS also caps P at √(kVA² − Q²) with Q from the previous
        # step; with Q tied to P by a power factor that converges to the kVA circle at
        # that power factor (or at kvarMax, once Q is limited).
        at_pf = back_p & self.volt_watt & use_pf
        pf_q_at_s = s * np.sqrt(np.maximum(1.0 - pf**2, 0.0))
        q_circle = np.where((pf_q_at_s <= lim) & (pf_q_at_s <= lim_neg),
                            pf_q_at_s * np.sign(pf), np.where(tan > 0, lim, -lim_neg))
        p_circle = np.sqrt(np.maximum(s**2 - q_circle**2, 0.0))
        p_new = np.where(back_p, rest_p * np.sign(p), p)
        dp_new = np.where(back_p, d_rest_p * np.sign(p), dp)
        q_new = np.where(back_q, rest_q * np.sign(q), q)
        dq_new = np.where(back_q, d_rest_q * np.sign(q), dq)
        p_new = np.where(at_pf, p_circle * np.sign(p), p_new)
        q_new = np.where(at_pf, q_circle * np.sign(p), q_new)
        dp_new = np.where(at_pf, 0.0, dp_new)
        dq_new = np.where(at_pf, 0.0, dq_new)
        return (p_new.astype(np.float64), dp_new.astype(np.float64),
                q_new.astype(np.float64), dq_new.astype(np.float64))

    # -- currents --------------------------------------------------------------------
    def _parts(self, v_cond: ComplexArray) -> tuple[ComplexArray, ComplexArray, ComplexArray]:
        lay = self.layout
        v_pu, dv = self.monitored_pu(v_cond)
        v_pu = np.where(self.controlled, v_pu, 1.0)
        p, dp, q, dq = self.powers(v_pu)
        scale = 1000.0 / lay.n_phases
        s_va = ((p + 1j * q) * scale).astype(np.complex128)
        v_b = branch_voltages(lay, v_cond)
        i_b, g, d_g = branch_currents(v_b, s_va, self.v_base_v, self.v_min_pu, self.v_max_pu,
                                      delta=lay.delta, n_phases=lay.n_phases)
        hol, anti = stamp_branch_jacobian(lay, np.conj(s_va)[:, None] * d_g[0],
                                          np.conj(s_va)[:, None] * d_g[1])
        # Through the controls: d i_b = g · conj(dS), dS = (dP + j dQ) · dv.
        c = np.where(self.controlled, (dp - 1j * dq) * scale, 0.0)
        gb = np.einsum("ib,mb->mib", lay.incidence, g * c[:, None])  # (m, k, n_phases)
        hol = hol + gb.sum(axis=2)[:, :, None] * dv[:, None, :]
        anti = anti + gb.sum(axis=2)[:, :, None] * np.conj(dv)[:, None, :]
        return i_b, hol.astype(np.complex128), anti.astype(np.complex128)

    def currents(self, v_cond: ComplexArray) -> ComplexArray:
        """Currents into each inverter per conductor ``(m, k)`` [A]."""
        i_b, _, _ = self._parts(v_cond)
        out: ComplexArray = np.einsum("ib,mb->mi", self.layout.incidence, i_b).astype(
            np.complex128)
        return out

    def jacobian(self, v_cond: ComplexArray) -> FloatArray:
        """Analytic ``∂(Re I, Im I)/∂(Re V, Im V)`` ``(m, 2k, 2k)`` [S]."""
        _, hol, anti = self._parts(v_cond)
        return complex_to_real_jacobian(hol, anti)


def _v_base_v(v_kv: float, n_phases: int) -> float:
    return v_kv * 1000.0 / _SQRT3 if n_phases in (2, 3) else v_kv * 1000.0


def inverter_injections(network: Network, nodes: NodeIndex) -> list[InverterInjections]:
    """The enabled PV systems and batteries of ``network``, one set per conductor layout.

    The model's ``%cutin``/``%cutout`` (default 20 % of kVA for PV, 0 for a battery),
    ``%Pmpp``, ``kvarMax``/``kvarMaxAbs`` and ``Vminpu``/``Vmaxpu`` apply; OpenDSS
    settings the model does not carry take OpenDSS's defaults: no efficiency or
    temperature curve, reactive-power priority. A PV inverter starts on, as OpenDSS's
    do: a snapshot turns it off below ``%cutout``.
    """
    controls = _controls_by_inverter(network)
    curve_index: dict[str, int] = {}
    curves: list[tuple[FloatArray, FloatArray]] = []
    by_name = {c.name.lower(): c for c in network.curves}

    def curve_id(name: str | None) -> int:
        if name is None:
            return -1
        key = name.lower()
        if key not in curve_index:
            if key not in by_name:
                raise FeederosError(f"curve {name!r} is not in the network")
            curve_index[key] = len(curves)
            curves.append((np.asarray(by_name[key].x, dtype=np.float64),
                           np.asarray(by_name[key].y, dtype=np.float64)))
        return curve_index[key]

    groups: dict[tuple[int, bool], list[PowerElectronicsConnection]] = {}
    for inv in network.inverters:
        if inv.enabled:
            key = (inv.phases, inv.connection is Connection.DELTA)
            groups.setdefault(key, []).append(inv)
    out: list[InverterInjections] = []
    for (n_ph, delta), invs in groups.items():
        lay = branch_layout(n_ph, delta)
        rows = [_row(inv, n_ph, controls.get(_dss_name(inv)) or _own_control(inv), curve_id)
                for inv in invs]
        cols = {key: np.array([r[key] for r in rows]) for key in rows[0]}
        built = InverterInjections(
            names=tuple(inv.name for inv in invs),
            conductors=np.stack([nodes.conductors(inv.terminal, lay.n_conductors)
                                 for inv in invs]),
            layout=lay,
            curves=tuple(curves),
            is_pv=cols["is_pv"].astype(bool), s_kva=cols["s_kva"], p_dc_kw=cols["p_dc_kw"],
            p_cap_kw=cols["p_cap_kw"], inverter_on=cols["inverter_on"].astype(bool),
            idle=cols["idle"].astype(bool), pf_mode=cols["pf_mode"].astype(bool),
            pf=cols["pf"], q_set_kvar=cols["q_set_kvar"], kvar_max=cols["kvar_max"],
            kvar_max_abs=cols["kvar_max_abs"], v_base_v=cols["v_base_v"],
            v_min_pu=cols["v_min_pu"], v_max_pu=cols["v_max_pu"],
            y_nominal_s=cols["y_nominal_s"].astype(np.complex128) / (3.0 if delta else 1.0),
            volt_var=cols["volt_var"].astype(bool), volt_watt=cols["volt_watt"].astype(bool),
            vv_curve=cols["vv_curve"].astype(np.int64), vw_curve=cols["vw_curve"].astype(np.int64),
            var_max_reference=cols["var_max_reference"].astype(bool),
            monitor=cols["monitor"].astype(np.int64), vw_base_kw=cols["vw_base_kw"],
            vw_y_axis=cols["vw_y_axis"].astype(np.int64), cut_in_kw=cols["cut_in_kw"],
            cut_out_kw=cols["cut_out_kw"],
        )
        p, _, q, _ = built.powers(np.ones(len(invs)))
        y_pv = -(p - 1j * q) * 1000.0 / n_ph / built.v_base_v**2 / (3.0 if delta else 1.0)
        out.append(replace(built, y_nominal_s=np.where(built.is_pv, y_pv, built.y_nominal_s)))
    return out


def _row(inv: PowerElectronicsConnection, n_ph: int, ctrl: InverterControlSettings | None,
         curve_id: Callable[[str | None], int]) -> dict[str, object]:
    """One element's parameters (compile-time bookkeeping)."""
    pv = inv.kind is DerKind.PV
    v_base = _v_base_v(inv.v_kv, n_ph)
    cut_default = PV_CUT_OUT_PCT if pv else 0.0
    cut_in, cut_out = ((pct if pct is not None else cut_default) / 100.0 * inv.s_kva
                       for pct in (inv.cut_in_pct, inv.cut_out_pct))
    if pv:
        p_rated = inv.p_rated_kw if inv.p_rated_kw is not None else inv.p_kw
        p_dc = inv.irradiance_kw_m2 * p_rated if inv.p_rated_kw is not None else inv.p_kw
        on = p_dc >= cut_out  # OpenDSS starts with the inverter on
        p_cap = inv.p_max_pct / 100.0 * p_rated
        idle = False
    else:
        p_rated = inv.p_rated_kw if inv.p_rated_kw is not None else inv.s_kva
        p_dc = inv.p_kw
        on = True
        p_cap = p_rated
        idle = inv.state is BatteryState.IDLE
    pf_mode = inv.q_mode is not ReactivePowerMode.CONSTANT_Q
    vv = ctrl is not None and ctrl.volt_var_curve is not None
    has_vw = ctrl is not None and ctrl.volt_watt_curve is not None
    # A battery's volt-watt curve limits discharging only (charging needs OpenDSS's
    # separate voltwattCH_curve).
    vw = has_vw and (pv or inv.state is BatteryState.DISCHARGING)
    y_axis = ctrl.volt_watt_y_axis if ctrl is not None else 1
    kvar_max = inv.kvar_max if inv.kvar_max is not None else inv.s_kva
    vw_base = (p_dc if y_axis == 0 else p_rated if y_axis in (1, 2) else inv.s_kva)
    # OpenDSS Yprim: a battery's is ∓ kWrated/V² by state (a PV system's, -conj(S)/V²
    # at its output, is set once the set is built).
    sign = {BatteryState.CHARGING: 1.0, BatteryState.DISCHARGING: -1.0}.get(inv.state, 0.0)
    y_nom = 0j if pv else complex(sign * p_rated * 1000.0 / v_base**2 / n_ph, 0.0)
    return {
        "is_pv": pv, "s_kva": inv.s_kva, "p_dc_kw": p_dc, "p_cap_kw": p_cap,
        "inverter_on": on, "idle": idle, "pf_mode": pf_mode, "pf": inv.pf,
        "q_set_kvar": inv.q_kvar if not pf_mode else 0.0,
        "kvar_max": kvar_max,
        "kvar_max_abs": inv.kvar_max_abs if inv.kvar_max_abs is not None else kvar_max,
        "v_base_v": v_base, "v_min_pu": inv.v_min_pu, "v_max_pu": inv.v_max_pu,
        "y_nominal_s": y_nom, "volt_var": vv, "volt_watt": vw,
        "vv_curve": curve_id(ctrl.volt_var_curve) if vv and ctrl is not None else -1,
        "vw_curve": curve_id(ctrl.volt_watt_curve) if has_vw and ctrl is not None else -1,
        "var_max_reference": ctrl.var_max_reference if ctrl is not None else False,
        "monitor": ctrl.monitor if ctrl is not None else MON_AVG, "vw_base_kw": vw_base,
        "vw_y_axis": y_axis, "cut_in_kw": cut_in, "cut_out_kw": cut_out,
    }
