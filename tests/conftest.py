"""Shared pytest fixtures."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def feeders_dir() -> Path:
    """The shared OpenDSS test feeders (``../shared/feeders`` next to the repository)."""
    return Path(__file__).resolve().parents[1] / ".." / "shared" / "feeders"


@pytest.fixture(scope="session")
def mosquitto_url() -> str:
    """The system Mosquitto on 127.0.0.1:1883 (anonymous, MQTT 5 and 3.1.1)."""
    try:
        with socket.create_connection(("127.0.0.1", 1883), timeout=0.5):
            pass
    except OSError:
        pytest.fail(
            "no MQTT broker listens on 127.0.0.1:1883: start Mosquitto "
            "(e.g. `systemctl start mosquitto` or `mosquitto -d`) to run these tests"
        )
    return "mqtt://127.0.0.1:1883"
