"""A synthetic three-phase feeder that our engine and both peers hold identically.

:func:`three_phase_feeder` draws a seeded radial 12.47 kV feeder of exactly
``n_buses`` buses: a grounded Thevenin source at the head, untransposed three-phase
overhead lines with full Kron-reduced 3×3 impedance and capacitance matrices, and
unbalanced grounded-wye constant-PQ loads (three- and single-phase). No transformers,
switches, regulators or capacitors: power-grid-model (``asym_line``, ``asym_load``)
holds it exactly; pandapower holds its lines only as sequence data (see
:mod:`bench.peers.pandapower_3ph`).

Line data: Kersting's ID-500 pole (phases 2.5/4.5/7.0 ft apart at 28 ft, neutral 4 ft
below), conductor data from Kersting, *Distribution System Modeling and Analysis*,
4th ed., appendix B, modified Carson's equations at 60 Hz and 100 Ω·m, the neutral
Kron-reduced (Kersting eq. 4.56); shunt capacitance from Maxwell's potential
coefficients (Kersting §5.1). The 336,400 code is Kersting's example 4.1.

Topology: each new bus continues the current branch (probability 0.9) or starts a
branch at any earlier bus; conductors shrink with the number of buses downstream.

Loads sit on about 60 % of the buses, a quarter of them three-phase; their total is
``total_kw`` whatever the size, so a big feeder is denser, not heavier. Their voltage
bands are widened (0.5–1.5 pu) so that our loads stay constant PQ in any sensible
state, as the peers' loads always are.

Examples
--------
>>> net = three_phase_feeder(50, seed=1)
>>> len(net.buses), len(net.lines), len(net.sources)
(50, 49, 1)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

import numpy as np
import numpy.typing as npt

from feederos.model import (
    ACLineSegment,
    Bus,
    Connection,
    EnergyConsumer,
    EnergySource,
    LineCode,
    LineImpedance,
    Network,
    Terminal,
)
from feederos.model.impedance import sequence_to_phase
from feederos.model.line_constants import (
    EarthModel,
    kron_reduce,
    overhead_capacitance_nf_per_km,
    primitive_impedance,
)
from feederos.model.loads import LoadModel
from feederos.powerflow import PowerFlowResult

__all__ = [
    "FEEDER_V_KV",
    "bus_voltages_pu",
    "line_codes",
    "load_scenarios",
    "sequence_values",
    "three_phase_feeder",
    "transposed_twin",
    "with_load_powers",
]

FloatArray = npt.NDArray[np.float64]
ComplexArray = npt.NDArray[np.complex128]

FEEDER_V_KV = 12.47
"""Line-to-line voltage of the feeder [kV]."""

_FT = 0.3048  # m per ft
_IN = 0.0254  # m per inch
_MILE_KM = 1.609344
_FREQUENCY_HZ = 60.0
_RHO_OHM_M = 100.0


@dataclass(frozen=True)
class _Wire:
    r_ohm_per_mile: float  # at 50 °C, Kersting appendix B
    gmr_ft: float
    diameter_in: float
    amps: float


_WIRES: dict[str, _Wire] = {
    "556,500 26/7 ACSR": _Wire(0.1859, 0.0313, 0.927, 730.0),
    "336,400 26/7 ACSR": _Wire(0.306, 0.0244, 0.721, 530.0),
    "4/0 6/1 ACSR": _Wire(0.592, 0.00814, 0.563, 340.0),
    "1/0 6/1 ACSR": _Wire(1.12, 0.00446, 0.398, 230.0),
}
# Line code -> (phase wire, neutral wire), largest first.
_CODES: dict[str, tuple[str, str]] = {
    "556_ACSR": ("556,500 26/7 ACSR", "4/0 6/1 ACSR"),
    "336_ACSR": ("336,400 26/7 ACSR", "4/0 6/1 ACSR"),
    "4/0_ACSR": ("4/0 6/1 ACSR", "4/0 6/1 ACSR"),
    "1/0_ACSR": ("1/0 6/1 ACSR", "1/0 6/1 ACSR"),
}
# Kersting's ID-500 pole: phases a, b, c then the neutral [ft].
_POLE_X_FT = (-4.0, -1.5, 3.0, 0.0)
_POLE_H_FT = (28.0, 28.0, 28.0, 24.0)

# Share of all buses downstream above which a line takes each code (else the last).
_CODE_SHARE = (("556_ACSR", 0.25), ("336_ACSR", 0.03), ("4/0_ACSR", 0.003))

_P_CONTINUE = 0.9  # chance a new bus extends the current branch
_P_LOAD = 0.6  # chance a bus has a load
_P_THREE_PHASE_LOAD = 0.25
_SPAN_KM = (0.05, 0.2)  # beyond 1,000 buses shortened by sqrt(1000/n)
_SOURCE_V_PU = 1.03  # substation bus regulated a little high, as usual
_V_BAND_PU = (0.5, 1.5)  # loads constant PQ over this band (the peers' always are)


@cache
def line_codes() -> tuple[LineCode, ...]:
    """The feeder's line codes: 3×3 phase matrices with the neutral reduced out.

    Returns
    -------
    tuple of LineCode
        ``556_ACSR``, ``336_ACSR``, ``4/0_ACSR``, ``1/0_ACSR``, matrices in [Ω/km] and
        [nF/km] at 60 Hz.

    Examples
    --------
    >>> z = line_codes()[1].impedance  # Kersting ex. 4.1: z_aa = 0.4576 + j1.0780 Ω/mile
    >>> round(z.r_matrix_ohm_per_km[0][0] * 1.609344, 4), round(
    ...     z.x_matrix_ohm_per_km[0][0] * 1.609344, 3)
    (0.4575, 1.078)
    """
    x_m = [x * _FT for x in _POLE_X_FT]
    h_m = [h * _FT for h in _POLE_H_FT]
    codes = []
    for name, (phase, neutral) in _CODES.items():
        wires = [_WIRES[phase]] * 3 + [_WIRES[neutral]]
        r_ac = [w.r_ohm_per_mile / _MILE_KM for w in wires]
        z4 = primitive_impedance(
            x_m, h_m, [w.gmr_ft * _FT for w in wires], [w.diameter_in / 2 * _IN for w in wires],
            r_ac, [r / 1.02 for r in r_ac], frequency_hz=_FREQUENCY_HZ,
            earth_resistivity_ohm_m=_RHO_OHM_M, earth_model=EarthModel.CARSON,
        )
        z = kron_reduce(z4, 3)
        # The leading block of C = P⁻¹ is the capacitance with the neutral grounded.
        c = overhead_capacitance_nf_per_km(x_m, h_m, [w.diameter_in / 2 * _IN for w in wires])
        amps = _WIRES[phase].amps
        codes.append(LineCode(
            name=name, description=f"{phase} phases, {neutral} neutral, ID-500 pole",
            ampacity_normal_a=amps, ampacity_emergency_a=round(1.25 * amps, 1),
            impedance=LineImpedance(
                r_matrix_ohm_per_km=z.real.tolist(), x_matrix_ohm_per_km=z.imag.tolist(),
                c_matrix_nf_per_km=c[:3, :3].tolist(), frequency_hz=_FREQUENCY_HZ,
            ),
        ))
    return tuple(codes)


def _grow(n_buses: int, rng: np.random.Generator) -> npt.NDArray[np.int64]:
    """Parent of each bus (bus 0, the head, has -1); parents precede children."""
    parent = np.full(n_buses, -1, dtype=np.int64)
    go_on = rng.random(n_buses) < _P_CONTINUE
    for i in range(1, n_buses):
        parent[i] = i - 1 if go_on[i] else int(rng.integers(0, i))
    return parent


def three_phase_feeder(n_buses: int, seed: int, *, total_kw: float = 5000.0) -> Network:
    """A seeded radial three-phase feeder of exactly ``n_buses`` buses.

    Parameters
    ----------
    n_buses
        Number of buses, the head (``b0``, where the source is) included; at least 2.
    seed
        Seed of every random draw: the same seed gives the same feeder.
    total_kw
        Sum of the loads' active power [kW]; each load's power factor is 0.90–0.98.

    Returns
    -------
    Network
        Buses ``b0`` … ``b{n-1}``, line ``l{i}`` feeding bus ``b{i}``, loads ``ld{i}``
        on bus ``b{i}``, and source ``source`` (250 MVA three-phase, 230 MVA
        single-phase short-circuit level, X/R = 8 in both sequences, so that
        power-grid-model's source, which has one X/R, holds it exactly).

    Raises
    ------
    ValueError
        If ``n_buses < 2``.

    Examples
    --------
    >>> net = three_phase_feeder(200, seed=3)
    >>> sorted({ld.phases for ld in net.loads})
    [1, 3]
    >>> round(sum(ld.p_kw for ld in net.loads))
    5000
    """
    if n_buses < 2:
        raise ValueError(f"a feeder needs at least 2 buses, got {n_buses}")
    rng = np.random.default_rng(seed)
    parent = _grow(n_buses, rng)
    downstream = np.ones(n_buses, dtype=np.int64)
    for i in range(n_buses - 1, 0, -1):  # children come after parents
        downstream[parent[i]] += downstream[i]
    share = downstream / n_buses
    # Denser, not only longer: past 1,000 buses spans shrink so the length grows as √n.
    span_km = rng.uniform(*_SPAN_KM, size=n_buses) * min(1.0, math.sqrt(1000.0 / n_buses))

    buses = [Bus(name=f"b{i}", v_base_kv=FEEDER_V_KV) for i in range(n_buses)]
    lines = []
    for i in range(1, n_buses):
        code = next((c for c, s in _CODE_SHARE if share[i] >= s), "1/0_ACSR")
        lines.append(ACLineSegment(
            name=f"l{i}", bus1=Terminal(bus=f"b{parent[i]}", nodes=(1, 2, 3)),
            bus2=Terminal(bus=f"b{i}", nodes=(1, 2, 3)), phases=3,
            length_km=round(float(span_km[i]), 4), line_code=code,
        ))

    has_load = rng.random(n_buses) < _P_LOAD
    has_load[0] = False
    three = rng.random(n_buses) < _P_THREE_PHASE_LOAD
    phase = rng.integers(1, 4, size=n_buses)
    size = rng.lognormal(0.0, 0.6, size=n_buses) * np.where(three, 4.0, 1.0)
    pf = rng.uniform(0.90, 0.98, size=n_buses)
    at = np.flatnonzero(has_load)
    scale = total_kw / float(size[at].sum()) if at.size else 0.0
    v_ln_kv = round(FEEDER_V_KV / math.sqrt(3.0), 4)
    loads = []
    for i in at.tolist():
        p = float(size[i]) * scale
        q = p * math.tan(math.acos(float(pf[i])))
        loads.append(EnergyConsumer(
            name=f"ld{i}",
            terminal=Terminal(bus=f"b{i}", nodes=(1, 2, 3) if three[i] else (int(phase[i]),)),
            phases=3 if three[i] else 1, connection=Connection.WYE,
            v_kv=FEEDER_V_KV if three[i] else v_ln_kv, p_kw=p, q_kvar=q,
            model=LoadModel.CONSTANT_PQ, v_min_pu=_V_BAND_PU[0], v_low_pu=_V_BAND_PU[0] * 0.8,
            v_max_pu=_V_BAND_PU[1],
        ))

    source = EnergySource.from_short_circuit(
        name="source", terminal=Terminal(bus="b0"), v_kv=FEEDER_V_KV,
        mva_sc3=250.0, mva_sc1=230.0, x1_r1=8.0, x0_r0=8.0, v_pu=_SOURCE_V_PU,
    )
    return Network(
        name=f"three_phase_{n_buses}_s{seed}", voltage_bases_kv=[FEEDER_V_KV], buses=buses,
        sources=[source], line_codes=list(line_codes()), lines=lines, loads=loads,
    )


def load_scenarios(
    network: Network, n_scenarios: int, *, seed: int
) -> tuple[FloatArray, FloatArray]:
    """Hourly load powers: a daily and yearly shape times per-load noise.

    Scenario ``k`` is hour ``k`` of a year: the multiplier of every load is a
    residential-like daily curve (night trough, evening peak) times a seasonal cosine
    (winter and summer higher) times lognormal per-load noise (σ = 0.15); each load keeps
    its power factor.

    Parameters
    ----------
    network
        The network whose ``loads`` give the columns and the peak powers.
    n_scenarios
        Number of scenarios ``K`` (8760 for a year).
    seed
        Seed of the noise.

    Returns
    -------
    tuple of numpy.ndarray
        ``p_kw`` and ``q_kvar``, shape ``(K, n_loads)`` [kW], [kvar].

    Examples
    --------
    >>> net = three_phase_feeder(30, seed=2)
    >>> p, q = load_scenarios(net, 48, seed=0)
    >>> p.shape == (48, len(net.loads)), bool((p > 0).all())
    (True, True)
    """
    hour = np.arange(n_scenarios, dtype=np.float64)
    daily = 0.55 + 0.25 * np.cos(2 * np.pi * (hour % 24 - 19) / 24) + 0.1 * np.cos(
        4 * np.pi * (hour % 24 - 8) / 24
    )
    seasonal = 1.0 + 0.15 * np.cos(4 * np.pi * (hour / 8760.0 - 0.05))
    rng = np.random.default_rng(seed)
    noise = rng.lognormal(0.0, 0.15, size=(n_scenarios, len(network.loads)))
    mult = (daily * seasonal)[:, None] * noise
    p0 = np.array([ld.p_kw for ld in network.loads], dtype=np.float64)
    q0 = np.array([ld.q_kvar for ld in network.loads], dtype=np.float64)
    return mult * p0, mult * q0


def with_load_powers(network: Network, p_kw: npt.ArrayLike, q_kvar: npt.ArrayLike) -> Network:
    """The network with its loads set to one scenario's powers.

    Parameters
    ----------
    network
        The network.
    p_kw, q_kvar
        One power per load, in ``network.loads`` order [kW], [kvar].

    Returns
    -------
    Network
        A new network (the given one is not changed).
    """
    p = np.asarray(p_kw, dtype=np.float64).tolist()
    q = np.asarray(q_kvar, dtype=np.float64).tolist()
    if len(p) != len(network.loads) or len(q) != len(network.loads):
        raise ValueError(f"need one p_kw and q_kvar per load ({len(network.loads)})")
    loads = [ld.model_copy(update={"p_kw": pk, "q_kvar": qk})
             for ld, pk, qk in zip(network.loads, p, q, strict=True)]
    return network.model_copy(update={"loads": loads})


def bus_voltages_pu(result: PowerFlowResult) -> ComplexArray:
    """Our solved voltages as phasors per bus and phase, the layout the peers return.

    Parameters
    ----------
    result
        A solved power flow of a network whose buses all have phases 1, 2, 3.

    Returns
    -------
    numpy.ndarray
        Complex phase-to-ground voltages, shape ``(n_buses, 3)`` in ``network.buses``
        order, in pu of each bus's line-to-neutral base (angles absolute, phase a of the
        source at its ``angle_deg``); NaN where a bus lacks a phase.
    """
    nodes = result.compiled.nodes
    out = np.full((len(nodes.buses), 3), np.nan + 0j, dtype=np.complex128)
    phase = nodes.node <= 3
    out[nodes.bus[phase], nodes.node[phase] - 1] = (
        result.v[phase] / nodes.v_base_ln_v[phase]
    )
    return out


def sequence_values(z: ComplexArray) -> tuple[complex, complex]:
    """Positive- and zero-sequence values of a 3×3 phase matrix.

    The diagonal of ``A⁻¹·Z·A``, which ignores the coupling between sequences an
    untransposed line has (Kersting eq. 4.70).

    Parameters
    ----------
    z
        Symmetric 3×3 phase matrix (impedance or admittance, any unit).

    Returns
    -------
    tuple of complex
        ``(z1, z0)`` in the unit of ``z``.

    Examples
    --------
    >>> from feederos.model.impedance import sequence_to_phase
    >>> sequence_values(sequence_to_phase(1 + 2j, 3 + 6j, 3))
    ((1+2j), (3+6j))
    """
    zs = complex(np.trace(z)) / 3.0
    zm = (complex(z.sum()) - complex(np.trace(z))) / 6.0
    return zs - zm, zs + 2.0 * zm


def transposed_twin(network: Network) -> Network:
    """The network with every matrix line code replaced by its transposed equivalent.

    Each code's 3×3 series and shunt matrices become ``Zs = (2·Z1 + Z0)/3`` on the
    diagonal and ``Zm = (Z0 − Z1)/3`` off it, with ``Z1``, ``Z0`` from
    :func:`sequence_values`: the circuit that pandapower's sequence data describe
    exactly, used to tell a conversion error from the transposition approximation.

    Raises
    ------
    ValueError
        If a line code is not a 3×3 matrix code.
    """
    codes = []
    for code in network.line_codes:
        imp = code.impedance
        if imp.r_matrix_ohm_per_km is None or imp.x_matrix_ohm_per_km is None or len(
            imp.r_matrix_ohm_per_km
        ) != 3:
            raise ValueError(f"line code {code.name!r}: not a 3×3 matrix code")
        z = np.asarray(imp.r_matrix_ohm_per_km) + 1j * np.asarray(imp.x_matrix_ohm_per_km)
        c = np.asarray(imp.c_matrix_nf_per_km or np.zeros((3, 3)), dtype=np.complex128)
        zt = sequence_to_phase(*sequence_values(z), 3)
        ct = sequence_to_phase(*sequence_values(c), 3).real
        codes.append(code.model_copy(update={"impedance": imp.model_copy(update={
            "r_matrix_ohm_per_km": zt.real.tolist(), "x_matrix_ohm_per_km": zt.imag.tolist(),
            "c_matrix_nf_per_km": ct.tolist(),
        })}))
    return network.model_copy(update={"line_codes": codes, "name": f"{network.name}_transposed"})
