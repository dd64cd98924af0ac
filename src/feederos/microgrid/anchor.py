"""The anchor: a grid-forming battery inverter that black-starts and holds the island.

Frequency-shift power control: the anchor sets the island's frequency from its state of
charge, so that every house reads the anchor's battery from the frequency it measures
(the scheme of off-grid battery inverters with AC-coupled PV, e.g. SMA's *Frequency
Shift Power Control*; here kept inside 59.3–60.5 Hz so that no participant's IEEE
1547-2018 trip setting is ever reached). The curve, piecewise linear in SOC:

==========  =========  =====================================================
SOC [%]     f [Hz]     meaning
==========  =========  =====================================================
0 – 20      59.50      at or below the reserve
20 – 60     59.50–60.0 low: houses shed EVs below 59.9 Hz (≈ 52 %), non-critical
                       circuits below 59.8 Hz (≈ 44 %), restore above 59.95 Hz
60 – 85     60.00      normal
85 – 100    60.00–60.4 nearly full: PV curtails (frequency-droop, then P limits)
==========  =========  =====================================================

On top of it the anchor droops with its own loading, ``−0.1 Hz`` per unit of rating
discharged (``+`` when charging), and, if it hits a limit (rating, empty or full), a push
that moves the frequency 0.02 Hz/s further until the participants respond. The
frequency follows its set point with a 1 s time constant (the inverter's frequency
ramp). By design the set point stays within 59.4–60.5 Hz; the push is what could
leave it, and :mod:`feederos.microgrid.simulate` reports the range reached. The
thresholds leave the anchor enough energy below the non-critical shed point (44 %) to
carry the street's critical circuits through a night; an anchor that empties all the
same (at ``soc_min_pct``) stops, and the street goes dark.

Examples
--------
>>> frequency_shift_hz(np.array([10.0, 30.0, 60.0, 92.5, 100.0])).round(3).tolist()
[59.5, 59.625, 60.0, 60.2, 60.4]
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = [
    "DROOP_HZ_PER_PU",
    "FREQUENCY_SHIFT_CURVE",
    "FREQUENCY_TIME_CONSTANT_S",
    "PUSH_HZ_PER_S",
    "charge_limit_pu",
    "frequency_shift_hz",
]

FloatArray = npt.NDArray[np.float64]

FREQUENCY_SHIFT_CURVE = ((0.0, 59.5), (20.0, 59.5), (60.0, 60.0), (85.0, 60.0), (100.0, 60.4))
"""Points (SOC [%], frequency [Hz]) of the frequency-shift curve."""
DROOP_HZ_PER_PU = 0.1
"""Frequency drop per unit of rated discharge [Hz/pu]."""
PUSH_HZ_PER_S = 0.02
"""Rate of the push when the anchor is at a limit [Hz/s]."""
FREQUENCY_TIME_CONSTANT_S = 1.0
"""Time constant of the frequency following its set point [s]."""
_TAPER_FROM_PCT = 95.0  # constant-voltage phase of Li-ion charging: acceptance tapers


def frequency_shift_hz(soc_pct: FloatArray | float) -> FloatArray:
    """The anchor's frequency set point for its state of charge (module table) [Hz]."""
    x, y = zip(*FREQUENCY_SHIFT_CURVE, strict=True)
    return np.interp(np.asarray(soc_pct, dtype=np.float64), x, y)


def charge_limit_pu(soc_pct: float) -> float:
    """Charge acceptance in per unit of rating: 1 up to 95 % SOC, then linearly to 0 at
    100 % (the constant-voltage phase of a lithium-ion charge).

    Examples
    --------
    >>> charge_limit_pu(50.0), charge_limit_pu(97.5), charge_limit_pu(100.0)
    (1.0, 0.5, 0.0)
    """
    return float(np.clip((100.0 - soc_pct) / (100.0 - _TAPER_FROM_PCT), 0.0, 1.0))
