"""``/health``, ``/metrics`` and ``/schemas/network``: open to all, no token needed."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from feederos import __version__
from feederos.api.problems import ProblemError, responses
from feederos.api.schemas import HealthOut
from feederos.api.services import Services, services
from feederos.model import Network

__all__ = ["router"]

router = APIRouter(tags=["system"])

Svc = Annotated[Services, Depends(services)]


@router.get("/health", responses=responses(503))
def health(svc: Svc) -> HealthOut:
    """The service answers and its database too (503 if not)."""
    try:
        with svc.db.session() as session:
            session.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        raise ProblemError(
            503,
            "database-unavailable",
            "Service unavailable",
            f"the database does not answer: {type(exc).__name__}",
        ) from None
    return HealthOut(status="ok", version=__version__, database=svc.db.engine.dialect.name)


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus metrics."}},
)
def metrics(svc: Svc) -> Response:
    """Prometheus metrics of the service."""
    return Response(svc.metrics.exposition(), media_type="text/plain; version=0.0.4")


@router.get("/schemas/network")
def network_schema() -> dict[str, Any]:
    """The JSON Schema of a network document (the model's own)."""
    return Network.model_json_schema()
