"""Imported transformer parameters against OpenDSS's primitive admittance matrix (YPrim).

For every transformer of the feeders below, the driving-point admittance at the first
conductor of winding 1, with every other conductor of the transformer grounded, is
computed from *our* imported parameters and compared with ``Y[0, 0]`` of the YPrim that
OpenDSS (dss-python) builds for the same element. The model is OpenDSS's transformer
model (``Transformer.pas``, ``TTransfObj.CalcY_Terminal``; OpenDSS manual, "Transformer
Object"): leakage impedances in per unit of winding 1's kVA, winding resistances in per
unit, short-circuit impedances between windings, each winding scaled to ohms by its own
voltage and tap.

Formulas (all per-unit values on winding 1's rating):

* two windings: ``Zsc = (r1 + r2)/100 + j·XHL/100``;
* three windings: ``Z_ij = (r_i + r_j)/100 + j·X_ij/100`` for HL, HT, LT, the star
  equivalent ``Z_H = (Z_HL + Z_HT − Z_LT)/2``, ``Z_L = (Z_HL + Z_LT − Z_HT)/2``,
  ``Z_T = (Z_HT + Z_LT − Z_HL)/2``, and with L and T shorted
  ``Zsc = Z_H + Z_L·Z_T/(Z_L + Z_T)``;
* impedance base of one winding ``Zb = kV_w² · 1000 / kVA_phase`` with ``kV_w`` the
  voltage across one winding (three-phase wye ``kV_LL/√3``, three-phase delta
  ``kV_LL``, single-phase ``kV`` as given) and ``kVA_phase = kVA/phases``;
* the tap of winding 1 scales its voltage, so ``Zb`` is taken at ``kV_w·tap1``
  (admittance ∝ ``1/tap1²``); taps of the other windings do not enter ``Y[0, 0]``
  (which is why regulators moved by a ``Solve`` in the script still agree);
* OpenDSS's anti-floating reactance (``ppm_antifloat``, default 1 ppm) adds
  ``−j·(ppm/2)/Zb`` to every winding conductor (verified against YPrim);
* the no-load loss and magnetising shunt (``G = %noloadloss/100/Zb``,
  ``B = −%imag/100/Zb``) is placed by OpenDSS on winding **2**, not winding 1
  (verified: ``Y[0, 0]`` does not change with ``%imag``), so it is checked on the
  driving point of winding 2's first conductor (``Y[k, k]``, ``k`` = conductors per
  terminal; skipped for regulators whose winding-2 tap a ``Solve`` in the script has
  moved away from the scripted tap that we import), whose series part is
  ``1/(Zsc₂·Zb₂)`` with ``Zsc₂ = Zsc`` for two windings and
  ``Z_L + Z_H·Z_T/(Z_H + Z_T)`` for three, and ``Zb₂`` on winding 1's kVA;
* a three-phase delta winding: the first conductor is common to two windings (AB and
  CA), so the series admittance counts twice.

Run with ``-s`` to see the largest relative error per feeder and kind.
"""

from __future__ import annotations

import math
import warnings
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from feederos.io.opendss import DssImportWarning, read_opendss
from feederos.model import Connection, PowerTransformer

dss_mod = pytest.importorskip("dss")

FEEDERS = [
    "13Bus/IEEE13Nodeckt.dss",
    "34Bus/ieee34Mod1.dss",
    "37Bus/ieee37.dss",
    "123Bus/IEEE123Master.dss",
    "8500-Node/Master.dss",
]
RTOL = 1e-6
PPM_ANTIFLOAT = 1e-6


def _kind(t: PowerTransformer) -> str:
    w = t.windings
    if t.is_center_tapped:
        return "centre-tapped 1-phase"
    if any(x.connection is Connection.DELTA for x in w):
        return f"{t.phases}-phase with delta"
    if t.phases == 1:
        return "1-phase 2-winding"
    return "3-phase wye-wye"


def _z_base(t: PowerTransformer, i: int) -> float:
    """Ohm base of winding ``i`` at its tap, on winding 1's kVA per phase."""
    w = t.windings[i]
    kv = w.v_kv * w.tap_pu
    if t.phases == 3 and w.connection is Connection.WYE:
        kv /= math.sqrt(3)
    return kv**2 * 1000 / (t.windings[0].s_kva / t.phases)


def _z_sc(t: PowerTransformer, i: int) -> complex:
    """Per-unit impedance seen from winding ``i`` (0 or 1) with the others shorted."""
    r = [x.r_pct / 100 for x in t.windings]
    if len(r) == 2:
        return r[0] + r[1] + 1j * t.xhl_pct / 100
    assert t.xht_pct is not None and t.xlt_pct is not None
    zhl = r[0] + r[1] + 1j * t.xhl_pct / 100
    zht = r[0] + r[2] + 1j * t.xht_pct / 100
    zlt = r[1] + r[2] + 1j * t.xlt_pct / 100
    zh, zl, zt = (zhl + zht - zlt) / 2, (zhl + zlt - zht) / 2, (zht + zlt - zhl) / 2
    if i == 0:
        return zh + zl * zt / (zl + zt)
    return zl + zh * zt / (zh + zt)


def expected_driving_point(t: PowerTransformer, i: int) -> complex:
    """Our ``Y[k, k]`` for the first conductor of winding ``i`` (0 or 1), in siemens."""
    zb = _z_base(t, i)
    y = 1 / (_z_sc(t, i) * zb)
    if t.phases == 3 and t.windings[i].connection is Connection.DELTA:
        y *= 2
    y += -1j * PPM_ANTIFLOAT / 2 / zb
    if i == 1:
        y += (t.no_load_loss_pct - 1j * t.magnetizing_pct) / 100 / zb
    return y


def _dss_yprim(dss, name: str) -> tuple[np.ndarray, int]:
    dss.ActiveCircuit.SetActiveElement(f"Transformer.{name}")
    e = dss.ActiveCircuit.ActiveCktElement
    y = np.asarray(e.Yprim)
    n = e.NumConductors * e.NumTerminals
    return (y[0::2] + 1j * y[1::2]).reshape(n, n), int(e.NumConductors)


@pytest.fixture(scope="module")
def dss_engine():
    from dss import DSS

    return DSS


@pytest.mark.parametrize("rel", FEEDERS)
def test_transformer_yprim(feeders_dir: Path, dss_engine, rel: str) -> None:
    path = feeders_dir / rel
    if not path.exists():
        pytest.skip(f"{path} not available")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DssImportWarning)
        net = read_opendss(path)
    dss_engine.Text.Command = f'compile "{path}"'
    worst: dict[tuple[str, str], tuple[float, str]] = defaultdict(lambda: (0.0, ""))
    for t in net.transformers:
        y, ncond = _dss_yprim(dss_engine, t.name)
        dss_engine.ActiveCircuit.Transformers.Name = t.name
        dss_engine.ActiveCircuit.Transformers.Wdg = 2
        solved_tap = dss_engine.ActiveCircuit.Transformers.Tap
        for i, k in ((0, 0), (1, ncond)):
            if i == 1 and not math.isclose(solved_tap, t.windings[1].tap_pu, rel_tol=1e-12):
                continue  # a regulator moved by a Solve in the script: not our data
            ours = expected_driving_point(t, i)
            err = abs(ours - y[k, k]) / abs(y[k, k])
            key = (_kind(t), f"winding {i + 1}")
            if err >= worst[key][0]:
                worst[key] = (err, t.name)
    print()
    for (kind, wdg), (err, name) in sorted(worst.items()):
        print(f"{rel:28s} {kind:24s} {wdg}: max rel err {err:.2e} ({name})")
    assert worst
    bad = {k: v for k, v in worst.items() if v[0] > RTOL}
    assert not bad, bad
