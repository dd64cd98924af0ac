"""Fixtures of the API tests: the service on SQLite and on the real PostgreSQL.

One application per database kind serves a test module (its job workers take seconds to
start); every test makes its own networks, so tests do not see each other's data. Each
``Api`` carries one HTTP client per role (viewer, engineer, admin) with its token.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from feederos.api.app import create_app
from feederos.api.services import Services
from feederos.api.settings import ApiSettings
from feederos.feeders import load_feeder
from feederos.store.tokens import Role
from store.databases import DATABASE_KINDS, database_url


@dataclass
class Api:
    """A running service and its clients."""

    kind: str
    settings: ApiSettings
    services: Services
    anonymous: TestClient
    viewer: TestClient
    engineer: TestClient
    admin: TestClient

    def create(self, document: dict[str, Any], message: str = "test") -> dict[str, Any]:
        """Store ``document`` as a new network (as the engineer); the response body."""
        r = self.engineer.post("/networks", json={"network": document, "message": message})
        assert r.status_code == 201, r.text
        body: dict[str, Any] = r.json()
        return body


def _client(app: Any, token: str | None) -> TestClient:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return TestClient(app, headers=headers, raise_server_exceptions=False)


def _documents() -> dict[str, dict[str, Any]]:
    return {name: load_feeder(name).model_dump(mode="json") for name in ("ieee13", "ieee123")}


@pytest.fixture(scope="session")
def documents() -> dict[str, dict[str, Any]]:
    """IEEE 13 and IEEE 123 as network documents."""
    return _documents()


@pytest.fixture(scope="module", params=DATABASE_KINDS)
def api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """The service on an empty database of each kind, with a token per role."""
    tmp: Path = tmp_path_factory.mktemp(f"api-{request.param}")
    with database_url(request.param, tmp) as url:
        settings = ApiSettings(
            data_dir=tmp / "data", database_url=url, job_workers=1, max_queued_jobs=4
        )
        app = create_app(settings)
        with TestClient(app, raise_server_exceptions=False) as anonymous:
            services: Services = app.state.services
            secrets = {
                role: services.tokens.create(f"test-{role.value}", role, actor="test")[1]
                for role in Role
            }
            yield Api(
                kind=request.param,
                settings=settings,
                services=services,
                anonymous=anonymous,
                viewer=_client(app, secrets[Role.VIEWER]),
                engineer=_client(app, secrets[Role.ENGINEER]),
                admin=_client(app, secrets[Role.ADMIN]),
            )
