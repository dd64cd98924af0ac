"""LoRa time on air (SX126x and SX127x modems).

The symbol time is ``2**SF / BW``. The number of symbols follows the SX1261/2 datasheet
(Semtech, §6.1.4 "LoRa Time-on-Air"); for SF7..SF12 it is the formula of
AN1200.13 "LoRa Modem Designer's Guide" and the SX1276/77/78/79 datasheet §4.1.1.6::

    N = n_preamble + 4.25 + 8 + ceil(max(8 PL + 16 CRC - 4 SF + 8 + 20 H, 0)
                                     / (4 (SF - 2 DE))) (CR + 4)

with ``H = 1`` for an explicit header, ``CRC = 1`` with a payload CRC, ``CR = 1..4`` for
coding rates 4/5..4/8 and ``DE = 1`` with low-data-rate optimisation. The SX126x at SF5
and SF6 differs: the preamble counts 6.25 extra symbols and the ``+ 8`` term is absent
(and DE is never used there). The SX127x has no SF5; its SF6 uses the general formula.
Low-data-rate optimisation is on, by default, when the symbol time is at least
16.38 ms (SF11 and SF12 at 125 kHz, SF12 at 250 kHz), as both datasheets recommend.

Examples
--------
>>> m = LoRaModulation(sf=7, bw_hz=125_000, cr=1)
>>> round(time_on_air_s(24, m) * 1e3, 3)     # 24-byte frame, SF7/125 kHz/4/5
61.696
>>> round(time_on_air_s(10, LoRaModulation(sf=12, bw_hz=125_000, cr=1)) * 1e3, 3)
991.232
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from feederos.edge.lora.errors import AirtimeError

__all__ = [
    "LDRO_SYMBOL_TIME_S",
    "Chip",
    "LoRaModulation",
    "n_symbols",
    "symbol_time_s",
    "time_on_air_s",
]

#: Symbol time at and above which low-data-rate optimisation is switched on [s].
LDRO_SYMBOL_TIME_S = 16.38e-3


class Chip(StrEnum):
    """The modem family; they differ at SF5/SF6."""

    SX126X = "sx126x"
    SX127X = "sx127x"


@dataclass(frozen=True, slots=True)
class LoRaModulation:
    """LoRa modem and packet settings.

    Attributes
    ----------
    sf
        Spreading factor, 5..12 (SX126x) or 6..12 (SX127x).
    bw_hz
        Bandwidth [Hz], e.g. 125_000.
    cr
        Coding rate index 1..4 for 4/5..4/8.
    preamble_symbols
        Programmed preamble length [symbols]; 8 in LoRaWAN.
    explicit_header
        Whether the PHY header is sent.
    crc
        Whether the payload CRC is sent.
    ldro
        Low-data-rate optimisation; None chooses it from the symbol time.
    chip
        :class:`Chip`.
    """

    sf: int
    bw_hz: float
    cr: int = 1
    preamble_symbols: int = 8
    explicit_header: bool = True
    crc: bool = True
    ldro: bool | None = None
    chip: Chip = Chip.SX126X

    def __post_init__(self) -> None:
        sf_min = 5 if self.chip is Chip.SX126X else 6
        if not sf_min <= self.sf <= 12:
            raise AirtimeError(f"sf = {self.sf} is not supported by {self.chip}; use {sf_min}..12")
        if not self.bw_hz > 0:
            raise AirtimeError(f"bw_hz = {self.bw_hz} must be positive (e.g. 125000)")
        if not 1 <= self.cr <= 4:
            raise AirtimeError(f"cr = {self.cr} must be 1..4 (coding rates 4/5..4/8)")
        if self.preamble_symbols < 1:
            raise AirtimeError(f"preamble_symbols = {self.preamble_symbols} must be >= 1")

    @property
    def low_data_rate_optimize(self) -> bool:
        """Whether DE is used: as set, or automatic from the symbol time."""
        if self.ldro is not None:
            return self.ldro
        return symbol_time_s(self.sf, self.bw_hz) >= LDRO_SYMBOL_TIME_S


def symbol_time_s(sf: int, bw_hz: float) -> float:
    """LoRa symbol time ``2**sf / bw_hz`` [s].

    >>> symbol_time_s(12, 125_000)
    0.032768
    """
    return float(2**sf) / bw_hz


def n_symbols(payload_bytes: int, m: LoRaModulation) -> float:
    """Symbols in a packet: preamble, sync, header, payload and CRC.

    >>> n_symbols(1, LoRaModulation(sf=5, bw_hz=500_000, preamble_symbols=2, crc=False))
    21.25
    """
    if not 0 <= payload_bytes <= 255:
        raise AirtimeError(f"payload of {payload_bytes} bytes; a LoRa packet carries 0..255")
    crc_bits = 16 if m.crc else 0
    header_bits = 20 if m.explicit_header else 0
    if m.chip is Chip.SX126X and m.sf <= 6:
        bits = 8 * payload_bytes + crc_bits - 4 * m.sf + header_bits
        preamble = m.preamble_symbols + 6.25
        per_block = 4 * m.sf
    else:
        bits = 8 * payload_bytes + crc_bits - 4 * m.sf + 8 + header_bits
        preamble = m.preamble_symbols + 4.25
        per_block = 4 * (m.sf - 2 * int(m.low_data_rate_optimize))
    blocks = math.ceil(max(bits, 0) / per_block)
    return preamble + 8 + blocks * (m.cr + 4)


def time_on_air_s(payload_bytes: int, m: LoRaModulation) -> float:
    """Time on air of one packet of ``payload_bytes`` [s].

    >>> round(time_on_air_s(13, LoRaModulation(sf=9, bw_hz=125_000)) * 1e3, 3)
    164.864
    """
    return n_symbols(payload_bytes, m) * symbol_time_s(m.sf, m.bw_hz)
