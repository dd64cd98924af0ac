"""The forward-backward sweep: what it refuses, and that it solves the fixed point's
equations — on a delta system where Kersting's ladder diverges, and on a node held only
by a switch's capacitance, to the precision the admittance matrix carries."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.linalg import splu

from conftest import imported
from feederos.errors import PowerFlowError
from feederos.io.opendss import DssImportWarning, read_opendss
from feederos.powerflow.compiled import CompiledNetwork, compile_network
from feederos.powerflow.methods import fbs
from feederos.powerflow.methods.common import compensation_currents, source_currents
from feederos.powerflow.methods.fbs import solve_fbs
from feederos.powerflow.methods.fixed_point import solve_fixed_point

TOL = {"tolerance_pu": 1e-10, "max_iterations": 100}

FEEDER = """
Clear
New Circuit.tiny basekv=12.47 pu=1.02 phases=3 bus1=src
New Line.l1 bus1=src bus2=a length=1 units=km r1=0.3 x1=0.6 r0=0.6 x0=1.8 c1=10 c0=4
New Line.l2 bus1=a bus2=b length=2 units=km r1=0.3 x1=0.6 r0=0.6 x0=1.8 c1=10 c0=4
New Line.l3 bus1=a.3 bus2=c.3 phases=1 length=0.5 units=km r1=0.3 x1=0.6 c1=10
! three conductors on nodes 3.2.3: c.2 and d.2 hang on the switch's capacitance alone
New Line.sw bus1=c.3 bus2=d.3 switch=y
New Load.lb bus1=b phases=3 kv=12.47 kw=900 kvar=300 model=2
New Load.ld bus1=d.3 phases=1 kv=7.2 kw=50 kvar=10 model=1
{extra}
Set voltagebases=[12.47]
Calcvoltagebases
"""
"""A small radial feeder; ``{extra}`` adds elements per test."""


def _compiled(tmp_path: Path, extra: str = "") -> CompiledNetwork:
    path = tmp_path / "feeder.dss"
    path.write_text(FEEDER.format(extra=extra))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DssImportWarning)
        return compile_network(read_opendss(path))


def _pu(
    compiled: CompiledNetwork, a: np.ndarray, b: np.ndarray, skip: tuple[int, ...] = ()
) -> float:
    """Largest difference of two node-voltage vectors [pu], nodes ``skip`` left out."""
    diff = np.abs(a - b) / compiled.nodes.v_base_ln_v
    diff[list(skip)] = 0.0
    return float(np.nanmax(diff))


def _refined(compiled: CompiledNetwork, v: np.ndarray) -> np.ndarray:
    """The exact solution of ``y x = i_source + i_compensation(v)``: LU solves refined
    with residuals in extended precision, so ``y``'s conditioning does not limit it."""
    e = np.flatnonzero(compiled.energized)
    y = sp.csr_matrix(compiled.y[e][:, e])
    rhs = (source_currents(compiled) + compensation_currents(compiled, v))[e]
    lu = splu(sp.csc_matrix(y))
    x = lu.solve(rhs)
    for _ in range(5):
        yx = np.add.reduceat(y.data.astype(np.clongdouble) * x[y.indices], y.indptr[:-1])
        x = x + lu.solve((rhs - yx).astype(np.complex128))
    out = np.zeros(compiled.nodes.n_nodes, dtype=np.complex128)
    out[e] = x
    return out


def test_agrees_with_fixed_point(tmp_path: Path) -> None:
    c = _compiled(tmp_path)
    out = solve_fbs(c, **TOL)
    ref = solve_fixed_point(c, **TOL)
    assert out.converged and out.max_mismatch_a < 1e-6
    # c.2 and d.2 aside (next test), the two agree to the tolerance
    held = (c.nodes.of("c", 2), c.nodes.of("d", 2))
    assert _pu(c, out.v, ref.v, skip=held) < 1e-9


@pytest.mark.skipif(np.finfo(np.longdouble).eps > 1e-18, reason="needs extended precision")
def test_capacitively_held_node_is_exact(tmp_path: Path) -> None:
    """c.2 and d.2 sit at ~1/16 of phase 3 through 1e-10 S of a 700 S switch: ``y``
    fixes them to ~1e-13 relative, any elimination order to ~1e-4, the sweep to 1e-9 …
    2e-8 (the last digits move with the LAPACK build that inverts its small blocks)."""
    c = _compiled(tmp_path)
    out = solve_fbs(c, **TOL)
    exact = _refined(c, out.v)
    assert _pu(c, out.v, exact) < 5e-8
    for bus in ("c", "d"):
        ratio = exact[c.nodes.of(bus, 2)] / exact[c.nodes.of(bus, 3)]
        assert abs(ratio - 1 / 16) < 1e-3  # the switch's capacitive divider


def test_delta_system_converges_where_the_ladder_diverged() -> None:
    """IEEE 37: a delta system fed by a delta-delta transformer. The plain sweep (no
    acceleration) converges at the fixed point's plain rate, to its solution."""
    c = compile_network(imported("ieee37"))
    plain = solve_fbs(c, anderson_depth=0, **TOL)
    ref = solve_fixed_point(c, anderson_depth=0, **TOL)
    assert plain.converged and plain.iterations <= ref.iterations + 1
    assert _pu(c, plain.v, ref.v) < 1e-8
    assert _pu(c, plain.v, _refined(c, plain.v)) < 1e-8


def test_warm_start_and_new_taps_reuse_the_tree() -> None:
    c = compile_network(imported("ieee13"))
    first = solve_fbs(c, **TOL)
    again = solve_fbs(c, initial=first.v, **TOL)
    assert again.iterations == 1
    changed = c.with_state(tap_pu={"reg1": (1.0, 1.0125)})
    out = solve_fbs(changed, initial=first.v, **TOL)
    assert fbs._topology(changed) is fbs._topology(c)
    assert _pu(c, out.v, solve_fixed_point(changed, **TOL).v) < 1e-8
    assert _pu(c, out.v, first.v) > 1e-4  # the tap did act


def test_dead_island_is_zero() -> None:
    path = Path(__file__).resolve().parents[2] / "data" / "powerflow" / "scenarios"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DssImportWarning)
        c = compile_network(read_opendss(path / "ieee13_island.dss"))
    out = solve_fbs(c, **TOL)
    assert not c.energized.all()
    assert np.all(out.v[~c.energized] == 0)
    assert _pu(c, out.v, solve_fixed_point(c, **TOL).v) < 1e-8


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("New Line.tie bus1=src bus2=b length=3 units=km", "has a loop through buses"),
        ("New Vsource.two bus1=b basekv=12.47", "needs exactly one source"),
        (
            "New Transformer.t3 phases=3 windings=3 buses=(a, e, f) conns=(wye, wye, wye)"
            " kvs=(12.47, 4.16, 0.48) kvas=(1000, 1000, 1000)",
            "joins 3 buses",
        ),
    ],
)
def test_refuses_what_it_cannot_sweep(tmp_path: Path, extra: str, message: str) -> None:
    c = _compiled(tmp_path, extra)
    with pytest.raises(PowerFlowError, match=message):
        solve_fbs(c, **TOL)
