"""Participants' inverters under IEEE 1547-2018 (and UL 1741 SA, which tests them).

- **Frequency-droop (frequency-watt)**, clause 6.5.2.7: above ``f_nom + dbOF`` the
  output falls by ``(f − f_nom − dbOF) / (f_nom · kOF)`` of the rating; the default
  settings for Categories I, II and III are ``dbOF`` = 0.036 Hz, ``kOF`` = 0.05 (5 %
  droop) and a small-signal open-loop response time of 5 s. The equation is the one
  EPRI's OpenDER reference model implements (EPRI report 3002021694, section 3.6.3,
  Eq. 24), except that the twin takes the power available as the pre-disturbance output.
  The response is first order: the open-loop response time is the time to 90 % of a
  step, so the time constant is ``T / ln 10``.
- **Enter service**, clauses 4.10.2 and 4.10.3: an inverter enters service (after a trip
  or at the return of voltage) only once the applicable voltage has been within
  0.917–1.05 pu and the frequency within 59.5–60.1 Hz for the intentional delay (300 s
  by default, adjustable 0–600 s), and then ramps its output up linearly over the
  enter-service period (300 s by default).
- **Trip**: outside the default frequency trip settings of clause 6.5.1 (OF1 61.2 Hz,
  UF1 58.5 Hz, each with a 300 s clearing time) the inverter ceases to energise. The twin
  trips at once rather than after the clearing time: conservative, and never reached when
  the anchor keeps 59.3–60.5 Hz.

Examples
--------
>>> import numpy as np
>>> frequency_droop_pu(np.array([60.0, 60.336, 60.5])).round(3).tolist()
[0.0, 0.1, 0.155]
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

__all__ = [
    "ENTER_SERVICE_F_HZ",
    "ENTER_SERVICE_V_PU",
    "F_NOMINAL_HZ",
    "TRIP_F_HZ",
    "frequency_droop_pu",
    "response_factor",
]

FloatArray = npt.NDArray[np.float64]

F_NOMINAL_HZ = 60.0
"""Nominal frequency [Hz]."""
ENTER_SERVICE_F_HZ = (59.5, 60.1)
"""Enter-service frequency window, IEEE 1547-2018 clause 4.10.2 [Hz]."""
ENTER_SERVICE_V_PU = (0.917, 1.05)
"""Enter-service voltage window, IEEE 1547-2018 clause 4.10.2 [pu]."""
TRIP_F_HZ = (58.5, 61.2)
"""UF1 and OF1 default trip frequencies, IEEE 1547-2018 clause 6.5.1 [Hz]."""


def frequency_droop_pu(
    f_hz: FloatArray | float, *, db_of_hz: float = 0.036, k_of: float = 0.05
) -> FloatArray:
    """Reduction of active power for over-frequency, IEEE 1547-2018 clause 6.5.2.7 [pu].

    Parameters
    ----------
    f_hz
        Frequency [Hz].
    db_of_hz, k_of
        Dead band [Hz] and droop [pu] (the clause 6.5.2.7 defaults).

    Returns
    -------
    FloatArray
        Reduction in per unit of the rating, 0 inside the dead band, never above 1.

    Examples
    --------
    >>> round(float(frequency_droop_pu(61.0, k_of=0.02)), 4)
    0.8033
    """
    f = np.asarray(f_hz, dtype=np.float64)
    return np.clip((f - F_NOMINAL_HZ - db_of_hz) / (F_NOMINAL_HZ * k_of), 0.0, 1.0)


def response_factor(step_s: float, response_time_s: float) -> float:
    """Share of a step change reached in one step by a first-order response whose
    open-loop response time (90 %, IEEE 1547-2018 clause 3.1) is ``response_time_s``.

    Examples
    --------
    >>> round(response_factor(5.0, 5.0), 3)
    0.9
    """
    tau = response_time_s / math.log(10.0)
    return 1.0 - math.exp(-step_s / tau)
