"""``POST /networks/{id}/feeder-os``: a stored version as a Feeder OS config bundle (IDE-04).

The answer is the bundle as a ``.zip`` (``bundle.toml``, ``topology.json``,
``assets.json``, ``apps/<app>.json``) that ``fos config validate|apply`` takes (served
over HTTP, or unpacked to a folder): the feeder's topology, each asset's id (the ids the
twin's co-simulation uses), its measurement and command topics and what it measures, and
initial configs for the apps asked for — generated from the network for the domain apps
that know how (``volt-watt``: its PV inverters; ``der-ev-orchestrator``: the inverter and
charger lists), laid over with what the request gives. The bundle is checked as a runtime
would check it (topology, asset elements and buses) before it is sent.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, ConfigDict, Field

from feederos.api.auth import require
from feederos.api.problems import ProblemError, ProblemItem, responses
from feederos.api.services import Services, services
from feederos.io.native import network_from_dict
from feederos.runtime.config_bundle import bundle_problems, write_bundle_zip
from feederos.runtime.config_export import export_config_bundle
from feederos.store.tokens import Role, TokenInfo

__all__ = ["FeederOsExport", "router"]

router = APIRouter(prefix="/networks", tags=["networks"])

Svc = Annotated[Services, Depends(services)]
Viewer = Annotated[TokenInfo, Depends(require(Role.VIEWER))]

ZIP = "application/zip"


class FeederOsExport(BaseModel):
    """Which version, as which feeder, with configs for which apps."""

    model_config = ConfigDict(extra="forbid")

    feeder_id: str = Field(
        min_length=1,
        max_length=64,
        description="The topic level feeder/<feeder_id>/… the runtime serves.",
    )
    version: int | None = Field(default=None, ge=1, description="Default: the latest.")
    apps: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="App name → config laid over the generated one ({} for the generated "
        "config alone: volt-watt, der-ev-orchestrator).",
    )
    description: str = Field(default="", max_length=2000)


@router.post(
    "/{network_id}/feeder-os",
    response_class=Response,
    responses={
        200: {"content": {ZIP: {}}, "description": "The bundle."},
        **responses(401, 403, 404, 422),
    },
)
def export_feeder_os(network_id: str, body: FeederOsExport, svc: Svc, caller: Viewer) -> Response:
    """A version as a Feeder OS config bundle (zip) for ``fos config apply``."""
    stored = svc.networks.version(network_id, body.version)
    network = network_from_dict(stored.document, source=f"version {stored.info.version}")
    description = body.description or (
        f"network {network_id} version {stored.info.version} ({network.name})"
    )
    bundle = export_config_bundle(
        network, body.feeder_id, apps=body.apps, description=description, author=caller.name
    )
    # No app is installed here, so each one's schema is the empty one (anything goes):
    # what is checked is the bundle's own consistency, as a runtime would.
    accept_any: dict[str, Any] = {app: {} for app in bundle.app_configs}
    problems = bundle_problems(bundle, accept_any, feeder_id=body.feeder_id)
    if problems:
        raise ProblemError(
            422,
            "bundle-invalid",
            "The bundle would be refused by a runtime",
            f"{len(problems)} problem(s)",
            problems=[ProblemItem(file=p.file, message=str(p)) for p in problems],
        )
    with tempfile.TemporaryDirectory(prefix="feederos-bundle-") as folder:
        data = write_bundle_zip(bundle, Path(folder) / "bundle.zip").read_bytes()
    name = f"{body.feeder_id}-v{stored.info.version}.zip"
    return Response(
        data, media_type=ZIP, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )
