"""The benchmarks run in CI at a small size so they never rot (timings are not asserted)."""

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


def test_generate_benchmark_runs_small(capsys: pytest.CaptureFixture[str]) -> None:
    assert _load("generate").main(["--n-buses", "300"]) == 0
    out = capsys.readouterr().out
    for profile in ("rural", "suburban", "urban"):
        assert profile in out
