"""The curated public names of feederos.edge.lora."""

from __future__ import annotations

import feederos.edge.lora as lora


def test_exported_names_are_what_we_mean() -> None:
    assert set(lora.__all__) == {
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
    }
    assert all(hasattr(lora, name) for name in lora.__all__)
