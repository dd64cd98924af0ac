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


def test_api_load_benchmark_runs_small(capsys: pytest.CaptureFixture[str]) -> None:
    _load("api_load").main(["--clients", "2", "--calls", "3"])
    out = capsys.readouterr().out
    assert "requests 6, errors 0" in out
    assert "API voltages equal the library's: True" in out


def test_the_service_demo_of_make_run_runs(capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location(
        "service_demo", BENCH.parent / "tools" / "service_demo.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main()
    out = capsys.readouterr().out
    assert "power flow: converged True" in out
    assert "succeeded, 24 steps" in out
