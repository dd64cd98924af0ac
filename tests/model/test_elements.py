"""Element-level rules of the model: each invalid combination is refused with a clear reason."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from feederos.model import (
    ACLineSegment,
    Bus,
    Curve,
    DerKind,
    EnergyConsumer,
    LinearShuntCompensator,
    LineImpedance,
    LoadModel,
    LoadShape,
    PowerElectronicsConnection,
    PowerTransformer,
    ReactivePowerMode,
    StudySettings,
    Switch,
    Terminal,
    TransformerWinding,
)

T = Terminal(bus="a")


@pytest.mark.parametrize(
    ("factory", "kwargs", "reason"),
    [
        (LineImpedance, {"r_matrix_ohm_per_km": [[1.0]]}, "give both"),
        (LineImpedance, {"r_matrix_ohm_per_km": [[1.0]], "x_matrix_ohm_per_km": [[1.0, 2.0]]},
         "must be 1×1"),
        (LineImpedance, {"r_matrix_ohm_per_km": [], "x_matrix_ohm_per_km": []}, "at least one"),
        (LineImpedance, {"r0_ohm_per_km": 1.0}, "give phase matrices"),
        (ACLineSegment, {"name": "l", "bus1": T, "bus2": T, "length_km": 1.0}, "exactly one"),
        (ACLineSegment, {"name": "l", "bus1": T, "bus2": T, "length_km": 1.0, "spacing": "s"},
         "needs wires"),
        (ACLineSegment, {"name": "l", "bus1": T, "bus2": T, "length_km": 0.0, "line_code": "c"},
         "greater than 0"),
        (LoadShape, {"name": "s", "p_mult": [1.0, 2.0], "q_mult": [1.0]}, "q_mult"),
        (LoadShape, {"name": "s", "p_mult": [1.0], "hours": [0.0, 1.0]}, "hours"),
        (LoadShape, {"name": "s", "p_mult": [1.0], "interval_h": None}, "interval_h or hours"),
        (Curve, {"name": "c", "x": [0.0, 1.0], "y": [1.0, 2.0, 3.0]}, "same number"),
        (Curve, {"name": "c", "x": [1.0, 0.0], "y": [1.0, 2.0]}, "non-decreasing"),
        (PowerElectronicsConnection, {"name": "b", "kind": DerKind.BATTERY, "terminal": T,
                                      "v_kv": 0.24, "s_kva": 5}, "energy_kwh"),
        (PowerElectronicsConnection, {"name": "p", "kind": DerKind.PV, "terminal": T,
                                      "v_kv": 0.24, "s_kva": 5,
                                      "q_mode": ReactivePowerMode.VOLT_VAR}, "volt_var_curve"),
        (EnergyConsumer, {"name": "z", "terminal": T, "v_kv": 1, "p_kw": 1, "q_kvar": 0,
                          "model": LoadModel.ZIP}, "zip_coefficients"),
        (EnergyConsumer, {"name": "z", "terminal": T, "v_kv": 1, "p_kw": 1, "q_kvar": 0,
                          "v_min_pu": 1.1, "v_max_pu": 1.0}, "v_max_pu"),
        (LinearShuntCompensator, {"name": "c", "terminal": T, "v_kv": 1, "q_kvar": [1.0, 2.0],
                                  "states": [1]}, "one 0 or 1 per step"),
        (Bus, {"name": "a.b"}, "pattern"),
        (Bus, {"name": "a", "x": float("inf")}, "finite"),
        (StudySettings, {"number": 0}, "greater than or equal to 1"),
    ],
)
def test_invalid_elements_are_refused(factory: Any, kwargs: dict[str, Any], reason: str) -> None:
    with pytest.raises(ValidationError, match=reason):
        factory(**kwargs)


def test_three_winding_transformer_needs_all_reactances() -> None:
    w = [TransformerWinding(terminal=Terminal(bus=b), v_kv=7.2, s_kva=25) for b in "abb"]
    with pytest.raises(ValidationError, match="xht_pct and xlt_pct"):
        PowerTransformer(name="t", phases=1, windings=w)
    t = PowerTransformer(name="t", phases=1, windings=w, xht_pct=2.0, xlt_pct=2.0)
    assert t.is_center_tapped
    assert w[0].tap_step_pu == pytest.approx(0.2 / 32)


def test_defaults_that_depend_on_other_fields() -> None:
    assert Switch(name="s", bus1=T, bus2=T, normal_open=True).open is True
    assert Switch(name="s", bus1=T, bus2=T, normal_open=True, open=False).open is False
    cap = LinearShuntCompensator(name="c", terminal=T, v_kv=1, q_kvar=[1.0, 2.0, 3.0])
    assert cap.states == [1, 1, 1]
    shape = LoadShape(name="s", p_mult=[1.0, 2.0], hours=[0.5, 3.0], interval_h=None)
    assert shape.duration_h == 3.0 and shape.n_points == 2
    z = LineImpedance(r_matrix_ohm_per_km=[[1.0]], x_matrix_ohm_per_km=[[2.0]])
    assert z.form == "matrix" and z.n_phases == 1
    line = ACLineSegment(name="l", bus1=T, bus2=T, length_km=1, spacing="s", wires=["w"])
    assert line.impedance_source == "spacing"
    assert ACLineSegment(name="l", bus1=T, bus2=T, length_km=1,
                         geometry="g").impedance_source == "geometry"
    assert Bus(name="b").v_base_ln_kv is None
