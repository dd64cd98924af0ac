"""``/networks`` on SQLite and PostgreSQL: versions, diff, validation, import, export, and
bad input that gets a 4xx problem and leaves every stored version as it was."""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path
from typing import Any

import yaml

from feederos.io.native import network_from_dict
from feederos.io.opendss import read_opendss

from .conftest import Api

PROBLEM = "application/problem+json"


def _edited(document: dict[str, Any]) -> dict[str, Any]:
    doc = json.loads(json.dumps(document))
    doc["loads"][0]["p_kw"] = doc["loads"][0]["p_kw"] + 100.0
    removed = doc["capacitors"].pop()
    return {"doc": doc, "load": doc["loads"][0]["name"], "capacitor": removed["name"]}


def _snapshot(api: Api, network_id: str) -> list[tuple[int, str, dict[str, Any]]]:
    """Every stored version of a network, read back: (version, sha256, document)."""
    out = []
    for v in api.viewer.get(f"/networks/{network_id}/versions").json():
        body = api.viewer.get(f"/networks/{network_id}/versions/{v['version']}").json()
        out.append((v["version"], v["sha256"], body["network"]))
    return out


def _is_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["type"].startswith("https://")
    return body


def test_versions_are_kept_and_diffed(api: Api, documents: dict[str, Any]) -> None:
    created = api.create(documents["ieee13"], "first")
    nid = created["network"]["id"]
    assert created["version"]["version"] == 1 and created["version"]["author"] == "test-engineer"
    edit = _edited(documents["ieee13"])
    r = api.engineer.put(
        f"/networks/{nid}", json={"network": edit["doc"], "message": "more load", "base_version": 1}
    )
    assert r.status_code == 200, r.text
    assert r.json()["version"]["version"] == 2
    versions = api.viewer.get(f"/networks/{nid}/versions").json()
    assert [(v["version"], v["message"]) for v in versions] == [(1, "first"), (2, "more load")]
    # Version 1 is exactly what was saved first; the latest is version 2.
    v1 = api.viewer.get(f"/networks/{nid}/versions/1").json()["network"]
    assert network_from_dict(v1) == network_from_dict(documents["ieee13"])
    assert api.viewer.get(f"/networks/{nid}").json()["version"]["version"] == 2
    diff = api.viewer.get(f"/networks/{nid}/diff", params={"from": 1, "to": 2}).json()["diff"]
    assert diff["removed"] == [{"collection": "capacitors", "name": edit["capacitor"]}]
    assert diff["added"] == []
    assert [(c["collection"], c["name"], c["fields"]) for c in diff["changed"]] == [
        ("loads", edit["load"], ["p_kw"])
    ]
    listed = {n["id"]: n for n in api.viewer.get("/networks").json()}
    assert listed[nid]["latest_version"] == 2 and listed[nid]["name"] == "ieee13nodeckt"
    audit = api.admin.get("/audit", params={"target": nid}).json()
    assert [(a["actor"], a["action"]) for a in audit][:2] == [
        ("test-engineer", "network.save"),
        ("test-engineer", "network.create"),
    ]


def test_a_stale_base_version_is_a_conflict(api: Api, documents: dict[str, Any]) -> None:
    nid = api.create(documents["ieee13"])["network"]["id"]
    body = {"network": documents["ieee13"], "message": "a"}
    assert api.engineer.put(f"/networks/{nid}", json={**body, "base_version": 1}).status_code == 200
    before = _snapshot(api, nid)
    stale = api.engineer.put(f"/networks/{nid}", json={**body, "base_version": 1})
    assert "version" in _is_problem(stale, 409)["detail"]
    assert _snapshot(api, nid) == before


def test_an_invalid_model_is_refused_with_every_problem(
    api: Api, documents: dict[str, Any]
) -> None:
    nid = api.create(documents["ieee13"])["network"]["id"]
    before = _snapshot(api, nid)
    bad = json.loads(json.dumps(documents["ieee13"]))
    bad["lines"][0]["length_km"] = -1
    bad["loads"][1]["p_kw"] = "lots"
    body = _is_problem(api.engineer.put(f"/networks/{nid}", json={"network": bad}), 422)
    where = {(p["collection"], p["element"], p["field"]) for p in body["problems"]}
    assert ("lines", bad["lines"][0]["name"], "length_km") in where
    assert ("loads", bad["loads"][1]["name"], "p_kw") in where
    # A model that parses but fails the checks: an unknown bus.
    broken = json.loads(json.dumps(documents["ieee13"]))
    broken["loads"][0]["terminal"]["bus"] = "nowhere"
    body = _is_problem(api.engineer.put(f"/networks/{nid}", json={"network": broken}), 422)
    assert any("nowhere" in p["message"] for p in body["problems"])
    _is_problem(api.engineer.put(f"/networks/{nid}", json={"network": "not a network"}), 422)
    _is_problem(api.engineer.put(f"/networks/{nid}", content=b"{not json"), 422)
    assert _snapshot(api, nid) == before
    # As a draft it is kept, with its problems returned.
    draft = api.engineer.put(f"/networks/{nid}", json={"network": broken, "allow_problems": True})
    assert draft.status_code == 200 and draft.json()["problems"]
    report = api.viewer.get(f"/networks/{nid}/validate").json()
    assert not report["valid"] and report["errors"] >= 1


def test_validate_without_storing(api: Api, documents: dict[str, Any]) -> None:
    report = api.viewer.post("/validate", json={"network": documents["ieee123"]}).json()
    assert report["valid"] and report["errors"] == 0


def test_export_round_trips(api: Api, documents: dict[str, Any]) -> None:
    nid = api.create(documents["ieee13"])["network"]["id"]
    as_json = api.viewer.get(f"/networks/{nid}/export")
    assert as_json.headers["content-disposition"].startswith("attachment")
    as_yaml = api.viewer.get(f"/networks/{nid}/export", params={"format": "yaml"})
    original = network_from_dict(documents["ieee13"])
    assert network_from_dict(as_json.json()) == original
    assert network_from_dict(yaml.safe_load(as_yaml.text)) == original


def _ieee13_files(feeders_dir: Path) -> list[tuple[str, bytes]]:
    # Its line codes file redirects to the shared one a folder up: upload both levels.
    folder = feeders_dir / "13Bus"
    files = [(f"13Bus/{p.name}", p.read_bytes()) for p in sorted(folder.iterdir()) if p.is_file()]
    return [*files, ("IEEELineCodes.DSS", (feeders_dir / "IEEELineCodes.DSS").read_bytes())]


def test_import_dss_files_and_zip(api: Api, feeders_dir: Path) -> None:
    files = _ieee13_files(feeders_dir)
    expected = read_opendss(feeders_dir / "13Bus" / "IEEE13Nodeckt.dss")
    form = [("files", (name, data, "text/plain")) for name, data in files]
    r = api.engineer.post(
        "/networks/import", files=form, data={"main": "13Bus/IEEE13Nodeckt.dss", "message": "dss"}
    )
    assert r.status_code == 201, r.text
    nid = r.json()["network"]["id"]
    stored = api.viewer.get(f"/networks/{nid}").json()["network"]
    assert network_from_dict(stored) == expected
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files:
            archive.writestr(name, data)
    r = api.engineer.post(
        "/networks/import",
        files={"files": ("ieee13.zip", buffer.getvalue(), "application/zip")},
        data={"main": "13Bus/IEEE13Nodeckt.dss", "name": "feeder-13"},
    )
    assert r.status_code == 201, r.text
    assert r.json()["network"]["name"] == "feeder-13"


def test_bad_uploads_get_4xx_and_touch_nothing(
    api: Api, documents: dict[str, Any], feeders_dir: Path
) -> None:
    nid = api.create(documents["ieee13"])["network"]["id"]
    before = _snapshot(api, nid)
    count = len(api.viewer.get("/networks").json())
    # A malformed .dss script: the answer names the file and line.
    malformed = [("files", ("m.dss", b"New Circuit.x\nNew Line.l1 bus1=a bus2=(b\n", "text/plain"))]
    body = _is_problem(api.engineer.post("/networks/import", files=malformed), 422)
    assert body["problems"][0]["file"] == "m.dss" and body["problems"][0]["line"] == 2
    # A script reaching outside the upload.
    escape = [("files", ("m.dss", b"New Circuit.x\nRedirect /etc/passwd\n", "text/plain"))]
    body = _is_problem(api.engineer.post("/networks/import", files=escape), 422)
    assert "outside" in body["detail"]
    # Garbage: a fake zip, random bytes as .dss, and 50 MB (over the upload limit).
    garbage = os.urandom(1_000_000)
    for name in ("x.zip", "x.dss"):
        _is_problem(api.engineer.post("/networks/import", files={"files": (name, garbage)}), 422)
    _is_problem(
        api.engineer.post("/networks/import", files={"files": ("zip", b"PK\x03\x04" + garbage)}),
        422,
    )
    big = os.urandom(50_000_000)
    _is_problem(api.engineer.post("/networks/import", files={"files": ("big.zip", big)}), 413)
    _is_problem(
        api.engineer.put(
            f"/networks/{nid}", content=big, headers={"content-type": "application/json"}
        ),
        413,
    )
    # A zip bomb's declared size is refused before it is inflated.
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for i in range(3):
            archive.writestr(f"z{i}.dss", b"\0" * 200_000_000)
    _is_problem(
        api.engineer.post("/networks/import", files={"files": ("b.zip", bomb.getvalue())}), 422
    )
    assert _snapshot(api, nid) == before
    assert len(api.viewer.get("/networks").json()) == count


def test_roles_and_tokens(api: Api, documents: dict[str, Any]) -> None:
    assert _is_problem(api.anonymous.get("/networks"), 401)
    assert api.anonymous.get("/networks").headers["www-authenticate"].startswith("Bearer")
    wrong = api.anonymous.get("/networks", headers={"Authorization": "Bearer fos_nope"})
    _is_problem(wrong, 401)
    assert api.viewer.get("/networks").status_code == 200
    forbidden = api.viewer.post("/networks", json={"network": documents["ieee13"]})
    assert "engineer" in _is_problem(forbidden, 403)["detail"]
    _is_problem(api.engineer.get("/tokens"), 403)
    made = api.admin.post("/tokens", json={"name": "ci", "role": "viewer"})
    assert made.status_code == 201
    secret, token_id = made.json()["secret"], made.json()["token"]["id"]
    headers = {"Authorization": f"Bearer {secret}"}
    assert api.anonymous.get("/networks", headers=headers).status_code == 200
    assert api.admin.delete(f"/tokens/{token_id}").json()["revoked_at"] is not None
    _is_problem(api.anonymous.get("/networks", headers=headers), 401)
    assert all("secret" not in t for t in api.admin.get("/tokens").json())


def test_unknown_ids_are_404(api: Api) -> None:
    for path in (
        "/networks/nope",
        "/networks/nope/versions",
        "/networks/nope/versions/1",
        "/networks/nope/validate",
        "/networks/nope/export",
    ):
        _is_problem(api.viewer.get(path), 404)
    _is_problem(api.engineer.put("/networks/nope", json={"network": {"name": "x"}}), 404)
