"""Primitive admittances and EMFs of the voltage sources, as OpenDSS's ``Vsource``.

A source of ``p`` phases is an ideal EMF ``E`` behind the phase impedance matrix ``Z``
built from its sequence impedances (``Zs = (2·Z1 + Z0)/3`` on the diagonal,
``Zm = (Z0 − Z1)/3`` off it), between its terminal and its second terminal (ground unless
given). Its primitive matrix is that of a series impedance,

    Yprim = [[Z⁻¹, −Z⁻¹], [−Z⁻¹, Z⁻¹]],

and OpenDSS replaces the EMF by its Norton equivalent: the injection
``I = Yprim @ [E; 0]`` (``VSource.pas``, ``CalcYPrim``, ``GetInjCurrents``), so the
current into the source at conductor voltages ``V`` is ``Yprim @ V − Yprim @ [E; 0]``.

The EMF of phase ``i`` (0-based) is ``Vmag ∠ (angle − i·360°/p)`` with
``Vmag = v_pu·v_kv / (2·sin(180°/p))`` for ``p > 1`` (line-to-line rating: ``/√3`` for three
phases) and ``v_pu·v_kv`` for one phase. A source whose frequency is not the network's
has no EMF at the network frequency (OpenDSS sets ``Vmag = 0``).

Examples
--------
>>> from feederos.feeders import load_feeder
>>> from feederos.powerflow.nodes import node_index
>>> net = load_feeder("ieee13")
>>> block, emf_v = source_blocks(net, node_index(net))
>>> block.y_s.shape, emf_v.shape
((1, 6, 6), (1, 6))
>>> (abs(emf_v[0, :3]) / 1000).round(3).tolist()  # 115 kV·1.0001/√3 per phase
[66.402, 66.402, 66.402]
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from feederos.model import EnergySource, Network
from feederos.powerflow.nodes import GROUND, NodeIndex
from feederos.powerflow.primitives.block import PrimitiveBlock
from feederos.powerflow.primitives.lines import conductor_nodes, invert_or_epsilon, pi_section

__all__ = ["FREQUENCY_TOLERANCE_HZ", "OPENDSS_DEG_PER_RAD", "source_blocks"]

IntArray = npt.NDArray[np.int64]
ComplexArray = npt.NDArray[np.complex128]

FREQUENCY_TOLERANCE_HZ = 1e-3
"""A source frequency further than this from the network's gives no EMF [Hz]."""

OPENDSS_DEG_PER_RAD = 57.29577951
"""OpenDSS's rounded degrees-per-radian (``Ucomplex``'s ``pdegtocomplex``). Phasor angles
built with it differ from exact ones by ~1e-10 rad, which is visible in the source
current (a small difference of two ~100 kA terms), so the EMFs use it too."""


def source_blocks(network: Network, nodes: NodeIndex) -> tuple[PrimitiveBlock, ComplexArray]:
    """Primitive admittances of every source (``network.sources``) and their EMFs.

    Parameters
    ----------
    network
        The network.
    nodes
        Node numbering of ``network``.

    Returns
    -------
    block
        Kind ``"sources"``, 2 terminals of ``P`` conductors each, ``P`` the largest
        number of phases of any source (1 if there are none). A source with fewer phases
        fills conductors ``0..p-1`` of each terminal; its padding conductors are ground
        with zero rows and columns, so they carry nothing.
    emf_v
        EMF per conductor, ``(m, 2P)`` complex [V]: the phase EMFs on terminal 1's
        conductors, 0 elsewhere, so the Norton injection is ``block.y_s @ emf_v``.

    Examples
    --------
    See the module docstring.
    """
    sources = network.sources
    m = len(sources)
    p_max = max((s.phases for s in sources), default=1)
    k = 2 * p_max
    y = np.zeros((m, k, k), dtype=np.complex128)
    conductors = np.full((m, k), GROUND, dtype=np.int64)
    emf_v = np.zeros((m, k), dtype=np.complex128)
    by_phases: dict[int, list[int]] = {}
    for i, s in enumerate(sources):
        by_phases.setdefault(s.phases, []).append(i)
    for p, members in by_phases.items():
        idx = np.asarray(members, dtype=np.int64)
        group = [sources[i] for i in members]
        z1 = np.array([complex(s.r1_ohm, s.x1_ohm) for s in group])
        z0 = np.array([complex(s.r0_ohm, s.x0_ohm) for s in group])
        zs = (2.0 * z1 + z0) / 3.0
        zm = (z0 - z1) / 3.0
        eye = np.eye(p)
        z = zm[:, None, None] * (1.0 - eye) + zs[:, None, None] * eye
        y_p = pi_section(invert_or_epsilon(z), np.zeros((1, p, p), dtype=np.complex128))
        cols = np.r_[0:p, p_max : p_max + p]
        y[np.ix_(idx, cols, cols)] = y_p
        conductors[idx[:, None], np.arange(p)[None, :]] = conductor_nodes(
            nodes, [s.terminal for s in group], p
        )
        second = [s.terminal2 for s in group]
        if any(t is not None for t in second):
            has2 = np.array([t is not None for t in second])
            cond2 = conductor_nodes(nodes, [t for t in second if t is not None], p)
            conductors[idx[has2][:, None], p_max + np.arange(p)[None, :]] = cond2
        emf_v[idx[:, None], np.arange(p)[None, :]] = _emf_v(network, group, p)
    block = PrimitiveBlock(
        kind="sources",
        names=tuple(s.name for s in sources),
        conductors=conductors,
        y_s=y,
        n_terminals=2,
    )
    return block, emf_v


def _emf_v(network: Network, group: Sequence[EnergySource], p: int) -> ComplexArray:
    """Phase EMFs ``(len(group), p)`` of sources with ``p`` phases [V]."""
    v_kv = np.array([s.v_kv for s in group])
    v_pu = np.array([s.v_pu for s in group])
    angle_deg = np.array([s.angle_deg for s in group])
    same_frequency = np.array(
        [
            s.frequency_hz is None
            or abs(s.frequency_hz - network.base_frequency_hz) <= FREQUENCY_TOLERANCE_HZ
            for s in group
        ]
    )
    divisor = 1.0 if p == 1 else 2.0 * math.sin(math.pi / p)
    v_mag = np.where(same_frequency, v_pu * v_kv * 1000.0 / divisor, 0.0)
    phase_deg = 360.0 + angle_deg[:, None] - np.arange(p)[None, :] * (360.0 / p)
    phase_rad = phase_deg / OPENDSS_DEG_PER_RAD
    return np.asarray(v_mag[:, None] * np.exp(1j * phase_rad), dtype=np.complex128)
