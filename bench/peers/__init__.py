"""The benchmark's peer engines, on a feeder every engine holds the same way.

Modules (import the one you need; nothing is imported here, so that an environment
without pandapower can still use the rest):

- :mod:`bench.peers.network` — :func:`~bench.peers.network.three_phase_feeder`, the
  seeded synthetic feeder; load scenarios; our voltages in the peers' layout;
- :mod:`bench.peers.pgm` — power-grid-model: exact conversion, batch power flow;
- :mod:`bench.peers.pandapower_3ph` — pandapower: sequence-data conversion,
  ``runpp_3ph`` in a loop;
- :mod:`bench.peers.check` — ``python -m bench.peers.check``: agreement and timings.

pandapower 3.5 pins pandas ~= 2.3 while our dev environment has pandas 3, so the
peers run in their own environment: ``make bench-install`` (``.venv/bench``).
"""
