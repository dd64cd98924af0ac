"""``/profiles``: the rural, suburban and urban feeder profiles, and synthetic feeders
generated from them (:func:`feederos.feeders.generate_feeder`; same seed, same feeder)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response

from feederos.api.auth import require
from feederos.api.problems import ProblemError, responses
from feederos.api.routes.networks import checked, save_new
from feederos.api.schemas import GeneratedNetwork, GenerateRequest
from feederos.api.services import Services, services
from feederos.feeders import MAX_BUSES, MIN_BUSES, PROFILES, ProfileName, generate_feeder
from feederos.store.tokens import Role, TokenInfo

__all__ = ["router"]

router = APIRouter(prefix="/profiles", tags=["profiles"])

Svc = Annotated[Services, Depends(services)]
Viewer = Annotated[TokenInfo, Depends(require(Role.VIEWER))]
Engineer = Annotated[TokenInfo, Depends(require(Role.ENGINEER))]


@router.get("", responses=responses(401, 403))
def list_profiles(caller: Viewer) -> dict[str, dict[str, Any]]:
    """Every built-in profile and its statistics."""
    return {str(name): p.model_dump(mode="json") for name, p in PROFILES.items()}


@router.get("/{name}", responses=responses(401, 403, 404))
def get_profile(name: ProfileName, caller: Viewer) -> dict[str, Any]:
    """One profile's statistics."""
    return PROFILES[name].model_dump(mode="json")


@router.post(
    "/{name}/generate",
    responses={
        201: {"model": GeneratedNetwork, "description": "Generated and stored (save)."},
        **responses(401, 403, 404, 422),
    },
)
def generate(
    name: ProfileName, body: GenerateRequest, svc: Svc, caller: Engineer, response: Response
) -> GeneratedNetwork:
    """Generate a synthetic radial feeder of ``buses`` buses (stored if ``save``)."""
    if not MIN_BUSES <= body.buses <= MAX_BUSES:
        raise ProblemError(
            422,
            "request-invalid",
            "The request is invalid",
            f"buses={body.buses}: give {MIN_BUSES} to {MAX_BUSES}",
        )
    network = generate_feeder(name, n_buses=body.buses, seed=body.seed, name=body.name)
    if not body.save:
        return GeneratedNetwork(network=network.model_dump(mode="json"))
    network, problems = checked(network.model_dump(mode="json"), allow_problems=False)
    message = body.message or f"generated: {name} profile, {body.buses} buses, seed {body.seed}"
    saved = save_new(svc, network, problems, author=caller.name, message=message)
    response.status_code = 201
    response.headers["Location"] = f"/networks/{saved.network.id}"
    return GeneratedNetwork(network=network.model_dump(mode="json"), saved=saved)
