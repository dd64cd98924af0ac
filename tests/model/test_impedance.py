"""line_phase_impedance on hand-made lines (OpenDSS agreement is in tests/io/opendss)."""

from __future__ import annotations

import numpy as np
import pytest

from feederos.model import ACLineSegment, LineCode, LineImpedance, Network, Terminal
from feederos.model.impedance import line_phase_impedance, sequence_to_phase


def _line(**kw: object) -> ACLineSegment:
    return ACLineSegment(name="l", bus1=Terminal(bus="a"), bus2=Terminal(bus="b"),
                         length_km=1.0, **kw)  # type: ignore[arg-type]


def test_sequence_rule() -> None:
    m = sequence_to_phase(1 + 2j, 4 + 8j, 3)
    assert m[0, 0] == pytest.approx(2 + 4j)
    assert m[0, 2] == pytest.approx(1 + 2j)


def test_frequency_scaling_and_capacitance() -> None:
    imp = LineImpedance(r1_ohm_per_km=0.1, x1_ohm_per_km=0.3, c1_nf_per_km=10.0,
                        frequency_hz=60.0)
    net = Network(name="n", base_frequency_hz=50.0)
    pz = line_phase_impedance(net, _line(impedance=imp, phases=1))
    assert pz.z_ohm_per_km[0, 0] == pytest.approx(0.1 + 0.25j)
    assert pz.y_shunt_s_per_km[0, 0] == pytest.approx(2j * np.pi * 50.0 * 10e-9)


def test_code_kron_reduction() -> None:
    imp = LineImpedance(r_matrix_ohm_per_km=[[1.0, 0.5], [0.5, 2.0]],
                        x_matrix_ohm_per_km=[[0.0, 0.0], [0.0, 0.0]])
    net = Network(name="n", line_codes=[LineCode(name="c", impedance=imp, kron_reduce=True)])
    pz = line_phase_impedance(net, _line(line_code="c", phases=1))
    assert pz.z_ohm_per_km.shape == (1, 1)
    assert pz.z_ohm_per_km[0, 0] == pytest.approx(1.0 - 0.25 / 2.0)


def test_missing_code() -> None:
    with pytest.raises(KeyError, match="no line code"):
        line_phase_impedance(Network(name="n"), _line(line_code="x"))


def test_single_phase_sequence_line_is_its_positive_sequence() -> None:
    # OpenDSS sets Z0 = Z1 and C0 = C1 for a one-phase line (Line.pas RecalcElementData)
    imp = LineImpedance(r1_ohm_per_km=0.1, x1_ohm_per_km=0.3, r0_ohm_per_km=0.4,
                        x0_ohm_per_km=0.9, c1_nf_per_km=10.0, c0_nf_per_km=4.0)
    pz = line_phase_impedance(Network(name="n"), _line(impedance=imp, phases=1))
    assert pz.z_ohm_per_km[0, 0] == pytest.approx(0.1 + 0.3j)
    assert pz.y_shunt_s_per_km[0, 0] == pytest.approx(2j * np.pi * 60.0 * 10e-9)
    code = LineCode(name="c", impedance=imp)
    net = Network(name="n", line_codes=[code])
    assert line_phase_impedance(net, _line(line_code="c", phases=1)).z_ohm_per_km[0, 0] == (
        pytest.approx(0.1 + 0.3j))
    three = line_phase_impedance(net, _line(line_code="c", phases=3)).z_ohm_per_km
    assert three[0, 0] == pytest.approx((2 * (0.1 + 0.3j) + (0.4 + 0.9j)) / 3)
