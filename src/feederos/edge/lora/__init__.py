"""StreetGrid radio link: LoRa frames, time on air, duty cycle and a channel model.

* :mod:`~feederos.edge.lora.codec` — telemetry and commands as authenticated frames of
  at most 24 bytes (protobuf payload, frame counter, 4-byte MIC) and the replay guard.
* :mod:`~feederos.edge.lora.airtime` — SX126x/SX127x time on air (Semtech's formula).
* :mod:`~feederos.edge.lora.duty_cycle` — a sliding-window duty-cycle limiter that
  queues frames.
* :mod:`~feederos.edge.lora.channel` — mesh and star layouts, loss and collisions.
* :mod:`~feederos.edge.lora.link` — a simulated link carrying frames between nodes.

Examples
--------
>>> from feederos.edge.lora import LoRaModulation, time_on_air_s
>>> round(time_on_air_s(24, LoRaModulation(sf=7, bw_hz=125_000)), 6)
0.061696
"""

from feederos.edge.lora.airtime import Chip, LoRaModulation, n_symbols, time_on_air_s
from feederos.edge.lora.channel import (
    GATEWAY,
    Channel,
    Layout,
    LayoutKind,
    mesh_layout,
    star_layout,
)
from feederos.edge.lora.codec import (
    FRAME_MAX_BYTES,
    DecodedFrame,
    FrameKind,
    ReplayGuard,
    decode,
    encode_command,
    encode_telemetry,
)
from feederos.edge.lora.duty_cycle import DutyCycleLimiter, Slot, max_window_usage_s
from feederos.edge.lora.errors import (
    AirtimeError,
    DutyCycleError,
    FrameAuthError,
    FrameError,
    FrameFormatError,
    LinkError,
    ReplayError,
)
from feederos.edge.lora.link import Delivery, Drop, LinkSettings, RadioLink

__all__ = [
    "FRAME_MAX_BYTES",
    "GATEWAY",
    "AirtimeError",
    "Channel",
    "Chip",
    "DecodedFrame",
    "Delivery",
    "Drop",
    "DutyCycleError",
    "DutyCycleLimiter",
    "FrameAuthError",
    "FrameError",
    "FrameFormatError",
    "FrameKind",
    "Layout",
    "LayoutKind",
    "LinkError",
    "LinkSettings",
    "LoRaModulation",
    "RadioLink",
    "ReplayError",
    "ReplayGuard",
    "Slot",
    "decode",
    "encode_command",
    "encode_telemetry",
    "max_window_usage_s",
    "mesh_layout",
    "n_symbols",
    "star_layout",
    "time_on_air_s",
]
