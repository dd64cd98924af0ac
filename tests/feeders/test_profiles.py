"""The rural, suburban and urban feeder profiles."""

from __future__ import annotations

import pydantic
import pytest

from feederos.feeders import PROFILES, FeederProfile, LoadMix, ProfileName, get_profile


def test_one_profile_per_name() -> None:
    assert set(PROFILES) == set(ProfileName)
    for name, profile in PROFILES.items():
        assert profile.name == name
        assert PROFILES[name.value] is profile


@pytest.mark.parametrize("name", list(ProfileName))
def test_profile_is_consistent(name: ProfileName) -> None:
    p = PROFILES[name]
    assert set(p.load_mix) == set(LoadMix)
    assert sum(p.load_mix.values()) == pytest.approx(1.0)
    assert sum(p.lateral_phasing) == pytest.approx(1.0)
    assert 0 < p.trunk_length_km[0] < p.trunk_length_km[1]
    assert p.primary_v_kv in (12.47, 13.2, 13.8, 24.9)
    assert 0 <= p.pv_pct_of_peak[0] <= p.pv_pct_of_peak[1] <= 100
    assert 0 <= p.ev_pct_of_customers[0] <= p.ev_pct_of_customers[1] <= 100
    assert p.ug_repair_h > p.oh_repair_h  # cables take longer to repair


def test_rural_urban_ordering() -> None:
    rural, suburban, urban = (PROFILES[n] for n in ProfileName)
    assert rural.trunk_length_km[0] > urban.trunk_length_km[1]
    assert rural.saidi_max_min > suburban.saidi_max_min > urban.saidi_max_min
    assert rural.saifi_max_per_year > suburban.saifi_max_per_year > urban.saifi_max_per_year
    assert rural.overhead_share > suburban.overhead_share > urban.overhead_share
    assert rural.lateral_phasing[2] > urban.lateral_phasing[2]  # single-phase laterals
    assert rural.customers_per_transformer < urban.customers_per_transformer
    assert rural.load_mix_residential > urban.load_mix_residential
    assert rural.voltage_regulator and not urban.voltage_regulator


def test_profiles_are_frozen() -> None:
    with pytest.raises(pydantic.ValidationError):
        PROFILES["rural"].primary_v_kv = 4.16  # type: ignore[misc]


def test_bad_profile_rejected() -> None:
    data = PROFILES["urban"].model_dump()
    data["load_mix"] = {"residential": 0.5, "commercial": 0.2, "light_industrial": 0.2}
    with pytest.raises(pydantic.ValidationError, match="sum to 1"):
        FeederProfile.model_validate(data)


def test_get_profile() -> None:
    assert get_profile("rural") is PROFILES[ProfileName.RURAL]
    assert get_profile(PROFILES["urban"]) is PROFILES["urban"]
    with pytest.raises(ValueError, match="unknown feeder profile 'alpine'"):
        get_profile("alpine")
