"""``POST /networks/{id}/feeder-os``: the bundle a runtime accepts, from a stored version."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

from feederos.io.native import network_from_dict
from feederos.runtime.config_bundle import bundle_problems, read_bundle
from feederos.runtime.cosim_apply import AssetCatalogue
from feederos.runtime.manifest import read_manifest

from .conftest import Api

ROOT = Path(__file__).resolve().parents[2]
VOLT_WATT = ROOT / "examples" / "apps" / "volt-watt"


def _with_pv(document: dict[str, Any]) -> dict[str, Any]:
    doc = json.loads(json.dumps(document))
    doc["inverters"].append(
        {
            "name": "pv675",
            "kind": "pv",
            "terminal": {"bus": "675"},
            "v_kv": 4.16,
            "s_kva": 2200.0,
            "p_rated_kw": 2000.0,
            "p_kw": 1000.0,
        }
    )
    return doc


def test_the_exported_bundle_is_what_a_runtime_accepts(
    api: Api, documents: dict[str, Any], tmp_path: Path
) -> None:
    created = api.create(_with_pv(documents["ieee13"]))
    nid = created["network"]["id"]
    r = api.viewer.post(
        f"/networks/{nid}/feeder-os", json={"feeder_id": "f13", "apps": {"volt-watt": {}}}
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/zip"
    folder = tmp_path / "bundle"
    zipfile.ZipFile(io.BytesIO(r.content)).extractall(folder)
    bundle = read_bundle(folder)
    manifest = read_manifest(VOLT_WATT)
    assert bundle_problems(bundle, {"volt-watt": manifest.config_schema}, feeder_id="f13") == []
    assert (
        bundle.feeder_id == "f13"
        and bundle.topology == api.viewer.get(f"/networks/{nid}").json()["network"]
    )
    assert bundle.app_configs["volt-watt"]["ders"] == [{"asset": "inverter.pv675"}]
    assert bundle.assets is not None
    catalogue = AssetCatalogue.of(network_from_dict(bundle.topology))
    assert [a.id for a in bundle.assets] == list(catalogue.assets)
    pv = next(a for a in bundle.assets if a.id == "inverter.pv675")
    assert pv.measurement_topic == "feeder/f13/measurements/inverter.pv675"


def test_a_bundle_that_cannot_be_made_is_422(api: Api, documents: dict[str, Any]) -> None:
    nid = api.create(documents["ieee13"])["network"]["id"]
    no_pv = api.viewer.post(
        f"/networks/{nid}/feeder-os", json={"feeder_id": "f13", "apps": {"volt-watt": {}}}
    )
    assert no_pv.status_code == 422 and "PV" in no_pv.json()["detail"]
    bad_id = api.viewer.post(f"/networks/{nid}/feeder-os", json={"feeder_id": "a/b"})
    assert bad_id.status_code == 422
