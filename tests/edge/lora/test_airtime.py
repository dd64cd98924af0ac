"""LoRa time on air against published Semtech-calculator and TTN figures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from feederos.edge.lora.airtime import (
    Chip,
    LoRaModulation,
    n_symbols,
    symbol_time_s,
    time_on_air_s,
)
from feederos.edge.lora.errors import AirtimeError

DATA = Path(__file__).resolve().parents[2] / "data" / "edge" / "lora" / "airtime_reference.json"
REFERENCE = json.loads(DATA.read_text())
CASES: list[dict[str, Any]] = REFERENCE["cases"]


def _modulation(c: dict[str, Any]) -> LoRaModulation:
    return LoRaModulation(
        sf=c["sf"],
        bw_hz=c["bw_hz"],
        cr=c["cr"],
        preamble_symbols=c["preamble_symbols"],
        explicit_header=c["explicit_header"],
        crc=c["crc"],
        chip=Chip(c["chip"]),
    )


def _id(c: dict[str, Any]) -> str:
    return (
        f"{c['chip']}-SF{c['sf']}-{c['bw_hz']}Hz-CR4/{c['cr'] + 4}-pre{c['preamble_symbols']}"
        f"-{c['payload_bytes']}B-{'EH' if c['explicit_header'] else 'IH'}"
        f"-{'crc' if c['crc'] else 'nocrc'}"
    )


def test_reference_file_has_enough_published_sx126x_settings() -> None:
    sx126x = {
        (
            c["sf"],
            c["bw_hz"],
            c["cr"],
            c["preamble_symbols"],
            c["payload_bytes"],
            c["explicit_header"],
            c["crc"],
        )
        for c in CASES
        if c["chip"] == "sx126x"
    }
    assert len(sx126x) >= 5
    assert {c["sf"] for c in CASES if c["chip"] == "sx126x"} >= {5, 8, 11, 12}
    assert all(c["source"] in REFERENCE["sources"] for c in CASES)
    assert all(s["url"].startswith("https://") for s in REFERENCE["sources"].values())


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_time_on_air_matches_published_figure_to_1_us(case: dict[str, Any]) -> None:
    m = _modulation(case)
    assert n_symbols(case["payload_bytes"], m) == case["n_symbols"]
    assert time_on_air_s(case["payload_bytes"], m) == pytest.approx(case["toa_ms"] * 1e-3, abs=1e-6)


def test_ldro_is_automatic_from_the_symbol_time() -> None:
    assert not LoRaModulation(sf=10, bw_hz=125_000).low_data_rate_optimize
    assert LoRaModulation(sf=11, bw_hz=125_000).low_data_rate_optimize
    assert LoRaModulation(sf=12, bw_hz=250_000).low_data_rate_optimize
    assert not LoRaModulation(sf=12, bw_hz=500_000).low_data_rate_optimize
    assert LoRaModulation(sf=7, bw_hz=125_000, ldro=True).low_data_rate_optimize
    # Forcing DE changes the airtime the way the formula says (4(SF-2) bits per block).
    forced = time_on_air_s(24, LoRaModulation(sf=7, bw_hz=125_000, ldro=True))
    assert forced > time_on_air_s(24, LoRaModulation(sf=7, bw_hz=125_000))


def test_sx126x_and_sx127x_differ_only_below_sf7() -> None:
    for sf in range(7, 13):
        a = LoRaModulation(sf=sf, bw_hz=125_000, chip=Chip.SX126X)
        b = LoRaModulation(sf=sf, bw_hz=125_000, chip=Chip.SX127X)
        assert time_on_air_s(24, a) == time_on_air_s(24, b)
    a6 = LoRaModulation(sf=6, bw_hz=125_000, explicit_header=False, chip=Chip.SX126X)
    b6 = LoRaModulation(sf=6, bw_hz=125_000, explicit_header=False, chip=Chip.SX127X)
    assert time_on_air_s(24, a6) != time_on_air_s(24, b6)


def test_symbol_time() -> None:
    assert symbol_time_s(7, 125_000) == pytest.approx(1.024e-3)
    assert symbol_time_s(5, 500_000) == pytest.approx(64e-6)


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"sf": 4}, "sf = 4"),
        ({"sf": 13}, "sf = 13"),
        ({"sf": 5, "chip": Chip.SX127X}, "sx127x"),
        ({"cr": 0}, "cr = 0"),
        ({"cr": 5}, "cr = 5"),
        ({"bw_hz": 0.0}, "bw_hz"),
        ({"preamble_symbols": 0}, "preamble"),
    ],
)
def test_invalid_settings_raise(kw: dict[str, Any], match: str) -> None:
    args: dict[str, Any] = {"sf": 7, "bw_hz": 125_000.0} | kw
    with pytest.raises(AirtimeError, match=match):
        LoRaModulation(**args)


def test_payload_length_is_checked() -> None:
    m = LoRaModulation(sf=7, bw_hz=125_000)
    with pytest.raises(AirtimeError, match=r"0\.\.255"):
        time_on_air_s(256, m)
