"""The power-flow benchmark runs in CI in its quick form (timings are not asserted)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _load(name: str):  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_powerflow_benchmark_runs_quick(capsys: pytest.CaptureFixture[str],
                                        feeders_dir: Path) -> None:
    assert _load("powerflow").main(["--quick", "--feeders-dir", str(feeders_dir)]) == 0
    out = capsys.readouterr().out
    assert "ieee13" in out and "synthetic 1k" in out
    assert "solve time per bus" in out
    ieee13 = next(line for line in out.splitlines() if line.startswith("ieee13"))
    assert ieee13.split()[6] != "—"  # OpenDSS was timed on the shared feeder
