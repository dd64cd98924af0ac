"""Fixtures of the edge-node tests: gpiozero's mock pins."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from gpiozero import Device
from gpiozero.pins.mock import MockFactory


@pytest.fixture
def mock_pins() -> Iterator[MockFactory]:
    """A fresh mock pin factory for gpiozero, closed afterwards."""
    factory = MockFactory()
    previous = Device.pin_factory
    Device.pin_factory = factory
    yield factory
    factory.close()
    Device.pin_factory = previous
