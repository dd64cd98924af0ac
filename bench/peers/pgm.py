"""power-grid-model (PGM) as a peer: the same feeder, asymmetric batch power flow.

:func:`pgm_model` converts a network that :func:`bench.peers._common.check_representable`
accepts into PGM input arrays, exactly:

- ``node`` per bus, ``u_rated`` its line-to-line base [V];
- ``asym_line`` per line with the full 3×3 series matrix (``r_aa`` … ``x_cc``, total
  ohms: our per-km matrix times the length) and the full shunt capacitance matrix
  (``c_aa`` … ``c_cc``, total farads, the Maxwell matrix with its negative off-diagonal
  terms, as our ``jωC``; PGM's validator would reject those signs, its core takes them);
- ``source``: PGM's Thevenin source has one X/R for both sequences, so ours must have
  ``X0/R0 = X1/R1``; then ``sk = u_rated² / |Z1|``, ``rx_ratio = R1/X1`` and
  ``z01_ratio = |Z0|/|Z1|`` reproduce its sequence impedances, and ``u_ref`` its EMF;
- ``asym_load`` per load, constant power, per-phase W/var (a three-phase load split in
  thirds, as OpenDSS does).

The model is built with ``system_frequency`` set to the network's (PGM's default is
50 Hz; the capacitances would otherwise give 5/6 of our susceptance).

:func:`pgm_batch` times only ``PowerGridModel.calculate_power_flow`` on a prepared
model and a prepared update dataset; :func:`pgm_prepare` reports the conversion and
model construction separately.

Examples
--------
>>> from bench.peers.network import three_phase_feeder, load_scenarios
>>> net = three_phase_feeder(30, seed=1)
>>> p, q = load_scenarios(net, 4, seed=0)
>>> seconds, u = pgm_batch(net, p, q, method=CalculationMethod.newton_raphson, threads=1)
>>> u.shape == (4, 30, 3)
True
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from power_grid_model import (
    CalculationMethod,
    ComponentType,
    DatasetType,
    LoadGenType,
    PowerGridModel,
    initialize_array,
)

from feederos.model import Network
from feederos.model.impedance import line_phase_impedance

from ._common import bus_rated_kv, check_representable, phase_powers, the_source

__all__ = [
    "CalculationMethod",
    "PgmIds",
    "PgmPrepared",
    "pgm_batch",
    "pgm_model",
    "pgm_prepare",
]

IntArray = npt.NDArray[np.int32]
FloatArray = npt.NDArray[np.float64]
ComplexArray = npt.NDArray[np.complex128]
PgmInput = dict[ComponentType, np.ndarray]

_SYMMETRY_RTOL = 1e-12
_XR_RTOL = 1e-9
# Lower triangle of a 3×3 matrix, as PGM names it: (row, column) of aa, ba, bb, ca, cb, cc.
_TRIANGLE = {"aa": (0, 0), "ba": (1, 0), "bb": (1, 1), "ca": (2, 0), "cb": (2, 1), "cc": (2, 2)}


@dataclass(frozen=True)
class PgmIds:
    """PGM ids of our elements, in network order (ids are unique across components)."""

    node: IntArray
    """One per bus, ``network.buses`` order."""
    source: int
    """The source."""
    line: IntArray
    """One per line, ``network.lines`` order."""
    load: IntArray
    """One per load, ``network.loads`` order."""


@dataclass(frozen=True, eq=False)
class PgmPrepared:
    """A PGM model ready for batches, and what it took to get there."""

    model: PowerGridModel
    ids: PgmIds
    convert_s: float
    """Our network to PGM input arrays [s]."""
    build_s: float
    """``PowerGridModel(input_data)`` [s]."""


def _source_input(network: Network, u_rated_v: FloatArray, node_of: dict[str, int]) -> dict[
    str, float
]:
    src = the_source(network)
    if src.frequency_hz is not None and src.frequency_hz != network.base_frequency_hz:
        raise ValueError(f"source {src.name!r}: frequency differs from the network's")
    z1 = complex(src.r1_ohm, src.x1_ohm)
    z0 = complex(src.r0_ohm, src.x0_ohm)
    if src.x1_ohm <= 0 or src.x0_ohm <= 0 or abs(z1) == 0:
        raise ValueError(f"source {src.name!r}: PGM needs a source reactance in both sequences")
    rx1, rx0 = src.r1_ohm / src.x1_ohm, src.r0_ohm / src.x0_ohm
    if not math.isclose(rx1, rx0, rel_tol=_XR_RTOL, abs_tol=1e-12):
        raise ValueError(
            f"source {src.name!r}: R0/X0 = {rx0:.6g} differs from R1/X1 = {rx1:.6g}; PGM's "
            "source has one R/X ratio"
        )
    node = node_of[src.terminal.bus]
    u_rated = float(u_rated_v[node])
    return {
        "node": node,
        "u_ref": src.v_pu * src.v_kv * 1e3 / u_rated,
        "u_ref_angle": math.radians(src.angle_deg),
        "sk": u_rated**2 / abs(z1),  # PGM: z_source = u_rated² / sk [Ω]
        "rx_ratio": rx1,
        "z01_ratio": abs(z0) / abs(z1),
    }


def pgm_model(network: Network) -> tuple[PgmInput, PgmIds]:
    """Convert a representable network to power-grid-model input arrays.

    Parameters
    ----------
    network
        A network of three-phase buses and lines, one grounded source and wye
        constant-PQ loads (see :func:`bench.peers._common.check_representable`).

    Returns
    -------
    tuple
        The input dataset (``node``, ``source``, ``asym_line``, ``asym_load``) and the
        ids of our elements.

    Raises
    ------
    ValueError
        Naming the element PGM cannot hold exactly (e.g. a transformer, a delta load,
        a source whose sequence X/R ratios differ, an asymmetric line matrix, a line
        between buses of different rated voltage).
    """
    check_representable(network)
    n_bus, n_line, n_load = len(network.buses), len(network.lines), len(network.loads)
    node_of = {b.name: i for i, b in enumerate(network.buses)}
    u_rated_v = bus_rated_kv(network) * 1e3
    f_hz = network.base_frequency_hz
    ids = PgmIds(
        node=np.arange(n_bus, dtype=np.int32),
        source=n_bus,
        line=np.arange(n_bus + 1, n_bus + 1 + n_line, dtype=np.int32),
        load=np.arange(n_bus + 1 + n_line, n_bus + 1 + n_line + n_load, dtype=np.int32),
    )

    node = initialize_array(DatasetType.input, ComponentType.node, n_bus)
    node["id"] = ids.node
    node["u_rated"] = u_rated_v

    source = initialize_array(DatasetType.input, ComponentType.source, 1)
    source["id"] = ids.source
    source["status"] = 1
    for key, value in _source_input(network, u_rated_v, node_of).items():
        source[key] = value

    line = initialize_array(DatasetType.input, ComponentType.asym_line, n_line)
    line["id"] = ids.line
    line["from_status"] = 1
    line["to_status"] = 1
    z = np.empty((n_line, 3, 3), dtype=np.complex128)
    c = np.empty((n_line, 3, 3), dtype=np.float64)
    for k, ln in enumerate(network.lines):
        a, b = node_of[ln.bus1.bus], node_of[ln.bus2.bus]
        if u_rated_v[a] != u_rated_v[b]:
            raise ValueError(f"line {ln.name!r}: joins buses of different rated voltage")
        line["from_node"][k], line["to_node"][k] = a, b
        pz = line_phase_impedance(network, ln)
        z[k] = pz.z_ohm_per_km * ln.length_km
        y = pz.y_shunt_s_per_km * ln.length_km
        if np.any(y.real != 0.0):
            raise ValueError(f"line {ln.name!r}: PGM's asym_line has no shunt conductance")
        c[k] = y.imag / (2.0 * math.pi * f_hz)  # [F]
        for m, label in ((z[k], "impedance"), (c[k], "capacitance")):
            if not np.allclose(m, m.T, rtol=_SYMMETRY_RTOL, atol=0.0):
                raise ValueError(f"line {ln.name!r}: {label} matrix is not symmetric")
    for suffix, (i, j) in _TRIANGLE.items():
        line[f"r_{suffix}"] = z[:, i, j].real
        line[f"x_{suffix}"] = z[:, i, j].imag
        line[f"c_{suffix}"] = c[:, i, j]

    load = initialize_array(DatasetType.input, ComponentType.asym_load, n_load)
    load["id"] = ids.load
    load["node"] = [node_of[ld.terminal.bus] for ld in network.loads]
    load["status"] = 1
    load["type"] = LoadGenType.const_power
    p_kw, q_kvar = phase_powers(
        network, [ld.p_kw for ld in network.loads], [ld.q_kvar for ld in network.loads]
    )
    load["p_specified"] = p_kw[0] * 1e3
    load["q_specified"] = q_kvar[0] * 1e3

    data: PgmInput = {
        ComponentType.node: node,
        ComponentType.source: source,
        ComponentType.asym_line: line,
        ComponentType.asym_load: load,
    }
    return data, ids


def pgm_prepare(network: Network) -> PgmPrepared:
    """Convert ``network`` and build the PGM model once, timing both steps.

    Raises
    ------
    ValueError
        As :func:`pgm_model`.
    """
    t0 = time.perf_counter()
    data, ids = pgm_model(network)
    t1 = time.perf_counter()
    model = PowerGridModel(data, system_frequency=network.base_frequency_hz)
    t2 = time.perf_counter()
    return PgmPrepared(model=model, ids=ids, convert_s=t1 - t0, build_s=t2 - t1)


def pgm_batch(
    network: Network,
    p_kw: npt.ArrayLike,
    q_kvar: npt.ArrayLike,
    *,
    method: CalculationMethod | str,
    threads: int,
    tolerance_pu: float = 1e-9,
    max_iterations: int = 100,
    chunk: int | None = 1000,
    prepared: PgmPrepared | None = None,
) -> tuple[float, ComplexArray]:
    """Solve one asymmetric power flow per scenario with PGM's batch calculation.

    Parameters
    ----------
    network
        The network (representable, see :func:`pgm_model`).
    p_kw, q_kvar
        Load powers, shape ``(K, n_loads)`` in ``network.loads`` order [kW], [kvar].
    method
        ``CalculationMethod.iterative_current`` or ``CalculationMethod.newton_raphson``
        (or another PGM power-flow method).
    threads
        PGM's ``threading``: ``< 0`` sequential, ``0`` one thread per hardware thread,
        ``n > 0`` that many threads.
    tolerance_pu
        PGM's ``error_tolerance``: largest voltage change in the last iteration [pu];
        the default is our :func:`feederos.powerflow.solve`'s.
    max_iterations
        Iterations per scenario before PGM reports divergence.
    chunk
        Scenarios per ``calculate_power_flow`` call (None: all in one). Each call's
        update and result buffers take about ``48·n_loads + 48·n_buses`` bytes per
        scenario (0.8 GB for 1,000 scenarios of the 10k-bus feeder); the returned
        voltages take ``48·n_buses`` bytes per scenario (4.2 GB for a year of it).
    prepared
        A model from :func:`pgm_prepare` for this network, to reuse; built here
        (untimed) if None.

    Returns
    -------
    tuple
        ``seconds``: wall time of the ``calculate_power_flow`` calls alone [s];
        ``u_pu``: complex phase-to-ground voltages, shape ``(K, n_buses, 3)``, in pu of
        each bus's line-to-neutral base, angles absolute as in
        :func:`bench.peers.network.bus_voltages_pu`.

    Raises
    ------
    ValueError
        As :func:`pgm_model`, or if the arrays do not have one column per load.
    power_grid_model.errors.PowerGridBatchError
        If a scenario does not converge.
    """
    prep = prepared if prepared is not None else pgm_prepare(network)
    p_phase_w, q_phase_var = phase_powers(network, p_kw, q_kvar)
    p_phase_w *= 1e3
    q_phase_var *= 1e3
    n_scenarios = p_phase_w.shape[0]
    step = n_scenarios if chunk is None else max(1, chunk)
    u_pu = np.empty((n_scenarios, len(network.buses), 3), dtype=np.complex128)
    seconds = 0.0
    for start in range(0, n_scenarios, step):
        stop = min(start + step, n_scenarios)
        # Dense, uniform update of every load: PGM needs no ids then.
        update = {
            ComponentType.asym_load: {
                "p_specified": np.ascontiguousarray(p_phase_w[start:stop]),
                "q_specified": np.ascontiguousarray(q_phase_var[start:stop]),
            }
        }
        t0 = time.perf_counter()
        out = prep.model.calculate_power_flow(
            symmetric=False,
            error_tolerance=tolerance_pu,
            max_iterations=max_iterations,
            calculation_method=method,
            update_data=update,
            threading=threads,
            output_component_types={ComponentType.node: ["u_pu", "u_angle"]},
        )
        seconds += time.perf_counter() - t0
        nodes = out[ComponentType.node]
        u_pu[start:stop] = nodes["u_pu"] * np.exp(1j * nodes["u_angle"])  # node order = buses
    return seconds, u_pu
