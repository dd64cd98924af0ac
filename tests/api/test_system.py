"""Profiles, health, metrics, schemas and the OpenAPI document of the service."""

from __future__ import annotations

from typing import Any

from feederos.feeders import PROFILES, generate_feeder
from feederos.io.native import network_from_dict

from .conftest import Api


def test_profiles_and_generation(api: Api) -> None:
    profiles = api.viewer.get("/profiles").json()
    assert sorted(profiles) == ["rural", "suburban", "urban"]
    assert api.viewer.get("/profiles/rural").json() == PROFILES["rural"].model_dump(mode="json")
    assert api.viewer.get("/profiles/exurban").status_code == 422
    r = api.engineer.post("/profiles/rural/generate", json={"buses": 60, "seed": 3})
    assert r.status_code == 200 and r.json()["saved"] is None
    assert network_from_dict(r.json()["network"]) == generate_feeder("rural", n_buses=60, seed=3)
    saved = api.engineer.post(
        "/profiles/urban/generate", json={"buses": 80, "seed": 1, "save": True, "name": "u80"}
    )
    assert saved.status_code == 201, saved.text
    nid = saved.json()["saved"]["network"]["id"]
    stored = api.viewer.get(f"/networks/{nid}").json()
    assert stored["network"]["name"] == "u80"
    assert stored["version"]["message"] == "generated: urban profile, 80 buses, seed 1"
    too_small = api.engineer.post("/profiles/rural/generate", json={"buses": 1})
    assert too_small.status_code == 422 and "buses=1" in too_small.json()["detail"]


def test_health_metrics_and_schemas_need_no_token(api: Api) -> None:
    health = api.anonymous.get("/health").json()
    assert health["status"] == "ok"
    assert health["database"] == {"sqlite": "sqlite", "postgresql": "postgresql"}[api.kind]
    api.viewer.get("/networks")
    metrics = api.anonymous.get("/metrics").text
    assert 'feederos_api_requests_total{method="GET",route="/networks",status="200"}' in metrics
    schema: dict[str, Any] = api.anonymous.get("/schemas/network").json()
    assert "buses" in schema["properties"]


def test_openapi_lists_every_route_with_problem_responses(api: Api) -> None:
    spec = api.anonymous.get("/openapi.json").json()
    paths = spec["paths"]
    for path in (
        "/networks",
        "/networks/import",
        "/networks/{network_id}/diff",
        "/simulate/powerflow",
        "/simulate/scenario-run",
        "/simulate/hosting-capacity",
        "/jobs/{job_id}",
        "/profiles/{name}/generate",
        "/tokens",
        "/health",
    ):
        assert path in paths, path
    put = paths["/networks/{network_id}"]["put"]
    assert "application/problem+json" in put["responses"]["409"]["content"]
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert api.anonymous.get("/docs").status_code == 200
