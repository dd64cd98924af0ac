"""Shared pytest fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def feeders_dir() -> Path:
    """The shared OpenDSS test feeders (``../shared/feeders`` next to the repository)."""
    return Path(__file__).resolve().parents[1] / ".." / "shared" / "feeders"
