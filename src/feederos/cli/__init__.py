"""Command-line interfaces: ``feederos`` (studies) and ``fos`` (Feeder OS)."""

from __future__ import annotations

__all__: list[str] = []
