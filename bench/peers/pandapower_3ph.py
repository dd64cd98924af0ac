"""pandapower as a peer: the same feeder in sequence data, ``runpp_3ph`` in a loop.

pandapower holds a line only as sequence data (``r/x/c`` and ``r0/x0/c0`` per km), that
is as a *transposed* line. :func:`pandapower_net` takes each line's sequence values
from our 3×3 matrices (the diagonal of ``A⁻¹·Z·A``: ``Z1 = Zs − Zm``, ``Z0 = Zs + 2·Zm``
with ``Zs``, ``Zm`` the means of the diagonal and off-diagonal terms; the same for
the capacitances), so the pandapower feeder is an *approximation* of ours: the mutual
coupling that differs between phase pairs of an untransposed line is averaged out.
:mod:`bench.peers.check` prints how far that moves the voltages, and that on the
transposed twin of the feeder (:func:`bench.peers.network.transposed_twin`, the matrices
pandapower's sequence values stand for) pandapower agrees with us to its tolerance.

The source: in ``runpp_3ph`` an ``ext_grid`` is an ideal slack in the positive sequence
and has its short-circuit impedance only in the negative and zero sequences. To hold
our Thevenin source exactly, the ``ext_grid`` sits on an extra bus (the EMF) with a
negligible impedance (``s_sc_max_mva`` = 1e8: 1.7e-6 Ω at 12.47 kV) and a line
carrying the source's ``Z1``/``Z0`` joins it to the feeder head. That bus is not
reported.

Loads: ``asymmetric_load`` per load, wye, per-phase MW/Mvar (a three-phase load split
in thirds); ``runpp_3ph`` treats them as constant power, as ours are.

Size: ``runpp_3ph`` (pandapower 3.5) turns the sequence admittance matrices dense to
compute currents (``auxiliary.I1_from_V012``), so a step costs O(n²) time and
16·n² bytes per matrix: seconds and GBs at 10,000 buses, out of reach at 100,000.

Examples
--------
>>> from bench.peers.network import three_phase_feeder, load_scenarios
>>> net = three_phase_feeder(20, seed=1)
>>> p, q = load_scenarios(net, 2, seed=0)
>>> seconds, u = pandapower_loop(net, p, q)
>>> u.shape == (2, 20, 3)
True
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandapower as pp

from feederos.model import ACLineSegment, Network
from feederos.model.impedance import line_phase_impedance

from ._common import bus_rated_kv, check_representable, phase_powers, the_source
from .network import sequence_values

__all__ = ["PandapowerNet", "pandapower_loop", "pandapower_net"]

FloatArray = npt.NDArray[np.float64]
ComplexArray = npt.NDArray[np.complex128]

_DEFAULT_AMPACITY_A = 400.0
_EMF_S_SC_MVA = 1e8  # an ext_grid this stiff is an ideal EMF in every sequence
_LOAD_COLUMNS = (("p_a_mw", "p_b_mw", "p_c_mw"), ("q_a_mvar", "q_b_mvar", "q_c_mvar"))
_PHASES = ("a", "b", "c")


@dataclass(frozen=True, eq=False)
class PandapowerNet:
    """A pandapower net of our network and where our elements went."""

    net: pp.pandapowerNet
    bus: npt.NDArray[np.int64]
    """pandapower bus index of each of our buses, ``network.buses`` order."""
    load: npt.NDArray[np.int64]
    """``asymmetric_load`` index of each of our loads, ``network.loads`` order (the table
    holds our loads only, in that order)."""


def _ampacity_a(network: Network, line: ACLineSegment) -> float:
    """Normal rating of a line, its code's if it has none (only for res_line loading)."""
    if line.ampacity_normal_a is not None:
        return line.ampacity_normal_a
    code = network.by_name("line_codes").get(line.line_code or "")
    return code.ampacity_normal_a if code and code.ampacity_normal_a else _DEFAULT_AMPACITY_A


def pandapower_net(network: Network) -> PandapowerNet:
    """Build the pandapower net of a representable network (see the module docstring).

    Raises
    ------
    ValueError
        Naming an element pandapower's three-phase power flow cannot hold here.
    """
    check_representable(network)
    src = the_source(network)
    f_hz = network.base_frequency_hz
    omega = 2.0 * math.pi * f_hz
    rated_kv = bus_rated_kv(network)
    net = pp.create_empty_network(name=network.name, f_hz=f_hz)
    bus = np.asarray(pp.create_buses(net, len(network.buses), vn_kv=rated_kv), dtype=np.int64)
    node_of = {b.name: i for i, b in enumerate(network.buses)}

    head = node_of[src.terminal.bus]
    emf = pp.create_bus(net, vn_kv=float(rated_kv[head]), name="source_emf")
    pp.create_ext_grid(
        net, emf, vm_pu=src.v_pu * src.v_kv / float(rated_kv[head]), va_degree=src.angle_deg,
        s_sc_max_mva=_EMF_S_SC_MVA, rx_max=0.1, x0x_max=1.0, r0x0_max=0.1,
    )
    pp.create_line_from_parameters(
        net, emf, int(bus[head]), length_km=1.0, r_ohm_per_km=src.r1_ohm,
        x_ohm_per_km=src.x1_ohm, c_nf_per_km=0.0, max_i_ka=100.0, r0_ohm_per_km=src.r0_ohm,
        x0_ohm_per_km=src.x0_ohm, c0_nf_per_km=0.0, name=f"source_{src.name}",
    )

    n = len(network.lines)
    z1, z0, c1, c0 = (np.empty(n, dtype=np.complex128) for _ in range(4))
    for k, ln in enumerate(network.lines):
        pz = line_phase_impedance(network, ln)
        z1[k], z0[k] = sequence_values(pz.z_ohm_per_km)
        c1[k], c0[k] = sequence_values(pz.y_shunt_s_per_km / (1j * omega) * 1e9)  # [nF/km]
        if np.any(pz.y_shunt_s_per_km.real != 0.0):
            raise ValueError(f"line {ln.name!r}: shunt conductance is not carried over")
    if n:
        pp.create_lines_from_parameters(
            net,
            from_buses=bus[[node_of[ln.bus1.bus] for ln in network.lines]],
            to_buses=bus[[node_of[ln.bus2.bus] for ln in network.lines]],
            length_km=[ln.length_km for ln in network.lines],
            r_ohm_per_km=z1.real, x_ohm_per_km=z1.imag, c_nf_per_km=c1.real,
            r0_ohm_per_km=z0.real, x0_ohm_per_km=z0.imag, c0_nf_per_km=c0.real,
            max_i_ka=[_ampacity_a(network, ln) / 1e3 for ln in network.lines],
            name=[ln.name for ln in network.lines],
        )

    p_kw, q_kvar = phase_powers(
        network, [ld.p_kw for ld in network.loads], [ld.q_kvar for ld in network.loads]
    )
    n_load = len(network.loads)
    if n_load:
        # One row through the API gives the table its columns and dtypes; the rest are
        # copies of it (create_asymmetric_load takes ~3 ms a call: 20 s for 6,000 loads).
        first = pp.create_asymmetric_load(net, int(bus[0]), type="wye")
        table = net.asymmetric_load.loc[[first] * n_load].reset_index(drop=True)
        table["bus"] = bus[[node_of[ld.terminal.bus] for ld in network.loads]]
        table["name"] = [ld.name for ld in network.loads]
        for ph in range(3):
            table[_LOAD_COLUMNS[0][ph]] = p_kw[0, :, ph] / 1e3
            table[_LOAD_COLUMNS[1][ph]] = q_kvar[0, :, ph] / 1e3
        net["asymmetric_load"] = table
    load = np.arange(n_load, dtype=np.int64)
    return PandapowerNet(net=net, bus=bus, load=load)


def pandapower_loop(
    network: Network,
    p_kw: npt.ArrayLike,
    q_kvar: npt.ArrayLike,
    *,
    sample: int | None = None,
    prepared: PandapowerNet | None = None,
) -> tuple[float, ComplexArray]:
    """Solve scenarios one by one with ``pandapower.runpp_3ph``.

    One untimed solve first (numba compilation and pandapower's first-call costs);
    then each step sets the loads, runs ``runpp_3ph`` and reads ``res_bus_3ph``, and
    the wall time of those steps is summed.

    Parameters
    ----------
    network
        The network (representable, see :func:`pandapower_net`).
    p_kw, q_kvar
        Load powers, shape ``(K, n_loads)`` in ``network.loads`` order [kW], [kvar].
    sample
        Solve only this many scenarios, evenly spaced, and extrapolate: ``seconds``
        is then their mean step time times ``K`` (say so when printing it). None
        solves all.
    prepared
        A net from :func:`pandapower_net` for this network (its loads get changed);
        built here, untimed, if None.

    Returns
    -------
    tuple
        ``seconds``: time of all ``K`` steps, measured or extrapolated [s];
        ``u_pu``: complex phase-to-ground voltages, shape ``(K, n_buses, 3)``, pu of
        each bus's line-to-neutral base, angles absolute; NaN rows for scenarios a
        sample skipped.
    """
    pn = prepared if prepared is not None else pandapower_net(network)
    net = pn.net
    p_phase, q_phase = phase_powers(network, p_kw, q_kvar)
    n_scenarios = p_phase.shape[0]
    steps = (
        np.arange(n_scenarios)
        if sample is None or sample >= n_scenarios
        else np.unique(np.linspace(0, n_scenarios - 1, max(1, sample)).round().astype(np.int64))
    )
    u_pu = np.full((n_scenarios, len(network.buses), 3), np.nan + 0j, dtype=np.complex128)
    table = net.asymmetric_load
    if not np.array_equal(table.index.to_numpy(), pn.load):
        raise ValueError("the pandapower net's asymmetric_load table is not ours in order")

    def step(k: int) -> None:
        for ph in range(3):
            table[_LOAD_COLUMNS[0][ph]] = p_phase[k, :, ph] / 1e3
            table[_LOAD_COLUMNS[1][ph]] = q_phase[k, :, ph] / 1e3
        pp.runpp_3ph(net)
        res = net.res_bus_3ph.loc[pn.bus]
        for ph, name in enumerate(_PHASES):
            vm = res[f"vm_{name}_pu"].to_numpy()
            va = np.radians(res[f"va_{name}_degree"].to_numpy())
            u_pu[k, :, ph] = vm * np.exp(1j * va)

    step(int(steps[0]))  # warm-up, untimed
    t0 = time.perf_counter()
    for k in steps.tolist():
        step(k)
    elapsed = time.perf_counter() - t0
    return elapsed / len(steps) * n_scenarios, u_pu
