"""Exporting a network as a config bundle: assets the twin knows, apps' configs, `fos config`.

The feeder is IEEE 13 with the two PV arrays of the co-simulation tests
(tests/data/runtime/cosim/sunny_day.json); the volt-watt schema is the example app's own
(examples/apps/volt-watt/config.schema.json).
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from feederos.cli.fos_config import app as fos_config
from feederos.errors import ConfigBundleError
from feederos.feeders import load_feeder
from feederos.model import DerKind, Network, PowerElectronicsConnection, Terminal
from feederos.powerflow import solve
from feederos.runtime import cosim_apply
from feederos.runtime.config_bundle import (
    ASSET_ACTIONS,
    ASSET_COLLECTIONS,
    ASSETS_FILE,
    ConfigBundle,
    InvalidBundleError,
    bundle_problems,
    check_bundle,
    diff_bundles,
    read_bundle,
    sha256_digest,
    write_bundle,
    write_bundle_zip,
)
from feederos.runtime.config_export import (
    DER_EV_ORCHESTRATOR,
    VOLT_WATT,
    bundle_assets,
    export_config_bundle,
)
from feederos.runtime.config_sources import fetch_bundle
from feederos.runtime.cosim_apply import AssetCatalogue, AssetKind, Setpoints
from feederos.runtime.cosim_measure import Meter

ROOT = Path(__file__).resolve().parents[2]
DAY = json.loads((ROOT / "tests" / "data" / "runtime" / "cosim" / "sunny_day.json").read_text())
VW_SCHEMA = json.loads(
    (ROOT / "examples" / "apps" / "volt-watt" / "config.schema.json").read_text()
)
CONFIG_DATA = ROOT / "tests" / "data" / "runtime" / "config"
FEEDER_ID = "ieee13-pv"
runner = CliRunner()


def ieee13_with_pv() -> Network:
    base = load_feeder("ieee13")
    pv = [
        PowerElectronicsConnection(
            name=p["name"],
            kind=DerKind.PV,
            terminal=Terminal(bus=p["bus"]),
            v_kv=4.16,
            s_kva=p["s_kva"],
            p_rated_kw=p["p_rated_kw"],
            p_kw=p["p_rated_kw"] / 2,
        )
        for p in DAY["pv"]
    ]
    return base.model_copy(update={"inverters": [*base.inverters, *pv]})


@pytest.fixture(scope="module")
def network() -> Network:
    return ieee13_with_pv()


@pytest.fixture(scope="module")
def bundle(network: Network) -> ConfigBundle:
    return export_config_bundle(
        network, FEEDER_ID, apps={VOLT_WATT: {}}, description="IEEE 13 + 2 PV", author="t"
    )


@pytest.fixture
def folder(bundle: ConfigBundle, tmp_path: Path) -> Path:
    return write_bundle(bundle, tmp_path / "cfg")


@pytest.fixture
def schemas_dir(tmp_path: Path) -> Path:
    out = tmp_path / "schemas"
    out.mkdir()
    (out / f"{VOLT_WATT}.schema.json").write_text(json.dumps(VW_SCHEMA))
    return out


def test_export_writes_a_bundle_that_reads_back_and_passes_the_volt_watt_schema(
    bundle: ConfigBundle, folder: Path
) -> None:
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()) == [
        "apps/volt-watt.json",
        "assets.json",
        "bundle.toml",
        "topology.json",
    ]
    read = read_bundle(folder)
    assert read.digest == bundle.digest
    assert read.assets == bundle.assets
    assert (read.description, read.author) == ("IEEE 13 + 2 PV", "t")
    assert read.app_configs == {
        VOLT_WATT: {"ders": [{"asset": "inverter.pv675"}, {"asset": "inverter.pv680"}]}
    }
    check_bundle(read, {VOLT_WATT: VW_SCHEMA}, feeder_id=FEEDER_ID)
    assert bundle_problems(read, {VOLT_WATT: VW_SCHEMA}) == []


def test_asset_ids_are_the_twins(network: Network, bundle: ConfigBundle) -> None:
    assert bundle.assets is not None
    assert [a.id for a in bundle.assets] == list(AssetCatalogue.of(network).assets)
    pv = next(a for a in bundle.assets if a.id == "inverter.pv675")
    assert pv.model_dump(mode="json") == {
        "id": "inverter.pv675",
        "kind": "inverter",
        "element": "inverters/pv675",
        "bus": "675",
        "phases": ["a", "b", "c"],
        "measurement_topic": f"feeder/{FEEDER_ID}/measurements/inverter.pv675",
        "command_topic": f"feeder/{FEEDER_ID}/commands/inverter.pv675",
        "measurements": [
            {"quantity": "p_kw", "phase": None, "unit": "kW"},
            {"quantity": "q_kvar", "phase": None, "unit": "kvar"},
            {"quantity": "p_limit_pct", "phase": None, "unit": "%"},
            {"quantity": "v_pu", "phase": "a", "unit": "pu"},
            {"quantity": "v_pu", "phase": "b", "unit": "pu"},
            {"quantity": "v_pu", "phase": "c", "unit": "pu"},
        ],
        "commands": ["set_p_limit_pct", "set_p_kw", "set_q_kvar"],
    }
    bus = next(a for a in bundle.assets if a.id == "611")
    assert (bus.element, bus.command_topic, bus.commands) == ("buses/611", None, ())
    assert [p.value for p in bus.phases] == ["c"]


def test_declared_measurements_are_what_the_twin_publishes(
    network: Network, bundle: ConfigBundle
) -> None:
    assert bundle.assets is not None
    catalogue = AssetCatalogue.of(network)
    meter = Meter(catalogue)
    result = solve(network)
    ts = datetime(2026, 6, 21, 12, tzinfo=UTC)
    for asset in bundle.assets:
        read = meter.read(asset.id, result, Setpoints(), ts)
        published = sorted((m.quantity, m.phase, m.unit) for m in read)
        declared = sorted((m.quantity, m.phase, m.unit) for m in asset.measurements)
        assert published == declared, asset.id


def test_the_kind_tables_match_the_twins() -> None:
    assert set(ASSET_COLLECTIONS) == {k.value for k in AssetKind}
    assert {k: v for k, v in ASSET_ACTIONS.items()} == {
        k.value: v
        for k, v in cosim_apply._ACTIONS.items()  # the twin's own table
    }


def test_fos_config_apply_accepts_the_exported_folder(
    folder: Path, schemas_dir: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    args = ["--schemas-from", str(schemas_dir), "--home", str(home)]
    result = runner.invoke(fos_config, ["validate", str(folder), *args])
    assert result.exit_code == 0, result.output
    assert f"feeder {FEEDER_ID}, 1 app config(s)" in result.output
    result = runner.invoke(fos_config, ["apply", str(folder), *args, "--by", "ana"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"applied version 1 from dir:{folder.resolve()}"
    # The stored version (assets included) reads back with its digest intact.
    shown = runner.invoke(fos_config, ["show", "--home", str(home)])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.output)["digest"] == read_bundle(folder).digest
    again = runner.invoke(fos_config, ["apply", str(folder), *args])
    assert again.exit_code == 0 and again.output.startswith("unchanged")
    exported = read_bundle(folder)
    assert exported.assets is not None
    assert len(json.loads(shown.output)["assets"]) == len(exported.assets)
    # One asset fewer: `fos config diff` names it.
    fewer = tmp_path / "fewer"
    write_bundle(exported.model_copy(update={"assets": exported.assets[:-1]}), fewer)
    assert runner.invoke(fos_config, ["apply", str(fewer), *args]).exit_code == 0
    change = runner.invoke(fos_config, ["diff", "1", "2", "--home", str(home)])
    assert change.exit_code == 0, change.output
    assert f"- assets removed: {exported.assets[-1].id}" in change.output


def test_the_zip_is_served_and_applied_over_http(
    bundle: ConfigBundle,
    tmp_path: Path,
    schemas_dir: Path,
    server: tuple[str, dict[str, bytes]],
) -> None:
    url, files = server
    archive = write_bundle_zip(bundle, tmp_path / "cfg.zip")
    assert write_bundle_zip(bundle, tmp_path / "again.zip").read_bytes() == archive.read_bytes()
    files["/cfg.zip"] = archive.read_bytes()
    fetched = fetch_bundle(url + "/cfg.zip")
    assert fetched.digest == bundle.digest and fetched.assets == bundle.assets
    home = tmp_path / "home"
    result = runner.invoke(
        fos_config,
        ["apply", url + "/cfg.zip", "--schemas-from", str(schemas_dir), "--home", str(home)],
    )
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"applied version 1 from {url}/cfg.zip#sha256:")


def _edit_assets(folder: Path, edit: Any) -> None:
    path = folder / ASSETS_FILE
    assets = json.loads(path.read_text())
    edit(assets)
    path.write_text(json.dumps(assets))


def test_a_bad_assets_entry_is_refused_naming_the_file_and_entry(
    folder: Path, schemas_dir: Path, tmp_path: Path
) -> None:
    def spoil(assets: list[dict[str, Any]]) -> None:
        pv = next(i for i, a in enumerate(assets) if a["id"] == "inverter.pv680")
        assets[pv]["commands"] = ["set_p_kw", "open"]
        assets[pv - 1]["bogus"] = 1  # inverter.pv675
        assets[0]["measurements"][0]["phase"] = "x"

    _edit_assets(folder, spoil)
    with pytest.raises(InvalidBundleError) as err:
        read_bundle(folder)
    index = next(
        i
        for i, a in enumerate(json.loads((folder / ASSETS_FILE).read_text()))
        if a["id"] == "inverter.pv680"
    )
    texts = [str(p) for p in err.value.problems]
    assert all(p.file == ASSETS_FILE for p in err.value.problems)
    assert any(
        t.startswith(f"assets.json: $[{index}]: asset 'inverter.pv680': ")
        and "does not take open" in t
        for t in texts
    ), texts
    bogus = f"assets.json: $[{index - 1}].bogus: asset 'inverter.pv675': Extra inputs are not"
    assert any(t.startswith(bogus) for t in texts), texts
    phase = "assets.json: $[0].measurements[0].phase: asset 'sourcebus': Input should be 'a'"
    assert any(t.startswith(phase) for t in texts), texts
    result = runner.invoke(
        fos_config,
        ["apply", str(folder), "--schemas-from", str(schemas_dir), "--home", str(tmp_path / "h")],
    )
    assert result.exit_code == 2
    assert f"assets.json: $[{index}]: asset 'inverter.pv680'" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"assets": []}', "assets.json: must hold a JSON array of assets at the top level"),
        ("[1, ", "assets.json: line 1: invalid JSON"),
        ("[NaN]", "assets.json: cannot read: NaN is not a JSON number"),
        ("[42]", "assets.json: $[0]: Input should be a valid dictionary"),
    ],
)
def test_a_malformed_assets_file_is_refused(folder: Path, text: str, expected: str) -> None:
    (folder / ASSETS_FILE).write_text(text)
    with pytest.raises(InvalidBundleError) as err:
        read_bundle(folder)
    assert str(err.value.problems[0]).startswith(expected), str(err.value.problems[0])


def test_checks_find_duplicate_ids_foreign_topics_and_missing_elements(folder: Path) -> None:
    def spoil(assets: list[dict[str, Any]]) -> None:
        load = next(a for a in assets if a["id"] == "load.671")
        load["element"] = "loads/nope"
        load["measurement_topic"] = "feeder/other/measurements/load.671"
        bus = next(a for a in assets if a["id"] == "675")
        bus["bus"] = "999"
        assets.append(dict(assets[1]))

    _edit_assets(folder, spoil)
    bundle = read_bundle(folder)
    assert bundle.assets is not None
    n = len(bundle.assets)
    i_load = next(i for i, a in enumerate(bundle.assets) if a.id == "load.671")
    i_bus = next(i for i, a in enumerate(bundle.assets) if a.id == "675")
    texts = [str(p) for p in bundle_problems(bundle, {VOLT_WATT: VW_SCHEMA})]
    assert texts == [
        f"assets.json: $[{i_bus}].bus: asset '675': bus '999' is not in topology.json",
        f"assets.json: $[{i_bus}].bus: asset '675': a bus asset's bus is its element ('675')",
        f"assets.json: $[{i_load}].measurement_topic: asset 'load.671': measurement_topic is "
        f"'feeder/other/measurements/load.671'; for feeder '{FEEDER_ID}' it is "
        f"'feeder/{FEEDER_ID}/measurements/load.671'",
        f"assets.json: $[{i_load}].element: asset 'load.671': element 'loads/nope' is not in "
        "topology.json",
        f"assets.json: $[{n - 1}].id: asset '{bundle.assets[1].id}': id also used by $[1]; "
        "asset ids are unique",
    ]
    # Without the topology check, the topics and ids are still checked.
    quick = bundle_problems(bundle, {VOLT_WATT: VW_SCHEMA}, check_topology=False)
    assert len(quick) == 2


def test_a_bundle_without_assets_keeps_its_digest() -> None:
    good = read_bundle(CONFIG_DATA / "good")
    assert good.assets is None
    assert good.digest == sha256_digest(
        {
            "format_version": 1,
            "feeder_id": good.feeder_id,
            "topology_digest": good.topology_digest,
            "app_configs": good.app_configs,
        }
    )


def test_diff_names_assets_added_removed_and_changed(network: Network) -> None:
    old = export_config_bundle(network, FEEDER_ID)
    edited = network.model_copy(
        update={
            "loads": [ld for ld in network.loads if ld.name != "611"],
            "capacitors": [
                c.model_copy(update={"terminal": Terminal(bus="680")}) if c.name == "cap1" else c
                for c in network.capacitors
            ],
        }
    )
    new = export_config_bundle(edited, FEEDER_ID)
    d = diff_bundles(old, new)
    assert (d.assets_added, d.assets_removed, d.assets_changed) == (
        (),
        ("load.611",),
        ("capacitor.cap1",),
    )
    assert d.topology_changed and not d.empty
    no_assets = old.model_copy(update={"assets": None})
    assert diff_bundles(no_assets, old).assets_added == tuple(
        sorted(a.id for a in old.assets or ())
    )
    assert diff_bundles(old, old).empty


def test_app_configs_laid_over_the_generated_ones() -> None:
    street = load_feeder("streetgrid")
    bundle = export_config_bundle(
        street,
        "street-1",
        apps={VOLT_WATT: {"p2_pct": 0.0}, DER_EV_ORCHESTRATOR: {}, "logger": {"period_s": 60}},
    )
    vw = bundle.app_configs[VOLT_WATT]
    assert vw["p2_pct"] == 0.0
    pv = [i.name for i in street.inverters if i.kind is DerKind.PV and i.enabled]
    assert vw["ders"] == [{"asset": f"inverter.{n}"} for n in pv]
    assert bundle.app_configs["logger"] == {"period_s": 60}
    orchestrator = bundle.app_configs[DER_EV_ORCHESTRATOR]
    assert len(orchestrator["chargers"]) == len(street.ev_chargers) > 0
    battery = next(i for i in orchestrator["inverters"] if i["kind"] == "battery")
    model = next(i for i in street.inverters if f"inverter.{i.name}" == battery["asset"])
    assert battery["energy_kwh"] == model.energy_kwh and battery["bus"] == model.terminal.bus
    ev = street.ev_chargers[0]
    assert orchestrator["chargers"][0] == {
        "element": f"ev_chargers/{ev.name}",
        "bus": ev.terminal.bus,
        "phases": [
            {1: "a", 2: "b", 3: "c"}[n] for n in sorted(ev.terminal.nodes) if n in (1, 2, 3)
        ],
        "p_max_kw": ev.p_max_kw,
        "bidirectional": ev.bidirectional,
    }
    assert export_config_bundle(street, "street-1").app_configs == {}


def test_export_errors_name_what_to_fix() -> None:
    ieee13 = load_feeder("ieee13")
    with pytest.raises(ConfigBundleError, match="no enabled PV inverter for the volt-watt app"):
        export_config_bundle(ieee13, "f1", apps={VOLT_WATT: {}})
    with pytest.raises(ConfigBundleError, match="feeder id 'a/b' is not valid"):
        export_config_bundle(ieee13, "a/b")
    with pytest.raises(ConfigBundleError, match="app name 'bad app' is not valid"):
        export_config_bundle(ieee13, "f1", apps={"bad app": {}})
    with pytest.raises(ConfigBundleError, match="app 'x': config is not plain JSON"):
        export_config_bundle(ieee13, "f1", apps={"x": {"when": datetime(2026, 1, 1)}})


def test_write_bundle_is_careful_with_existing_folders(
    bundle: ConfigBundle, tmp_path: Path
) -> None:
    target = write_bundle(bundle, tmp_path / "cfg")
    with pytest.raises(ConfigBundleError, match="already exists; write the bundle to a new folder"):
        write_bundle(bundle, target)
    other = bundle.model_copy(update={"description": 'new "note"\twith\\odd\x7fchars é'})
    other = ConfigBundle.model_validate(other.model_dump(exclude={"digest", "topology_digest"}))
    write_bundle(other, target, overwrite=True)
    assert read_bundle(target).description == other.description
    assert [p.name for p in tmp_path.iterdir()] == ["cfg"]  # no temporary folders left
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigBundleError, match="is not a folder"):
        write_bundle(bundle, tmp_path / "file", overwrite=True)


def test_bundle_assets_of_a_network_without_addressable_elements() -> None:
    street = load_feeder("streetgrid")
    disabled = street.model_copy(
        update={"inverters": [i.model_copy(update={"enabled": False}) for i in street.inverters]}
    )
    ids = [a.id for a in bundle_assets(disabled, "s")]
    assert not any(i.startswith("inverter.") for i in ids)
    assert ids == list(AssetCatalogue.of(disabled).assets)


def test_copying_the_example_good_bundle_and_adding_assets(tmp_path: Path) -> None:
    # An existing hand-written bundle gains an exported assets.json and still passes.
    folder = Path(shutil.copytree(CONFIG_DATA / "good", tmp_path / "good"))
    before = read_bundle(folder)
    network = before.network()
    assets = bundle_assets(network, before.feeder_id)
    (folder / ASSETS_FILE).write_text(json.dumps([a.model_dump(mode="json") for a in assets]))
    after = read_bundle(folder)
    assert after.assets == assets and after.digest != before.digest
    schemas = {
        p.name.removesuffix(".schema.json"): json.loads(p.read_text())
        for p in (CONFIG_DATA / "schemas").glob("*.schema.json")
    }
    assert bundle_problems(after, schemas) == []


def test_fos_config_applies_the_zip_as_a_local_file(
    bundle: ConfigBundle, schemas_dir: Path, tmp_path: Path
) -> None:
    archive = write_bundle_zip(bundle, tmp_path / "cfg.zip")
    home = tmp_path / "home"
    args = ["--schemas-from", str(schemas_dir), "--home", str(home)]
    result = runner.invoke(fos_config, ["apply", str(archive), *args])
    assert result.exit_code == 0, result.output
    assert f"file:{archive.resolve()}#sha256:" in result.output
    assert fetch_bundle(str(archive)).digest == bundle.digest
    (tmp_path / "cfg.txt").write_bytes(archive.read_bytes())
    refused = runner.invoke(fos_config, ["apply", str(tmp_path / "cfg.txt"), *args])
    assert refused.exit_code == 2 and "archive file (.zip" in refused.output
