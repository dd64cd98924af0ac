"""``/tokens`` and ``/audit``: API tokens and the record of every write (admin only)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from feederos.api.auth import require
from feederos.api.problems import responses
from feederos.api.schemas import TokenCreate, TokenCreated, TokenOut
from feederos.api.services import Services, services
from feederos.store.tokens import Role, TokenInfo

__all__ = ["AuditOut", "router", "token_out"]

router = APIRouter(tags=["admin"])

Svc = Annotated[Services, Depends(services)]
Admin = Annotated[TokenInfo, Depends(require(Role.ADMIN))]


class AuditOut(BaseModel):
    """One recorded write: who did what to which target, when."""

    id: int
    at: datetime
    actor: str
    action: str
    target: str
    detail: dict[str, Any]


def token_out(token: TokenInfo) -> TokenOut:
    """The API form of a token (never its secret)."""
    return TokenOut(
        id=token.id,
        name=token.name,
        role=token.role.value,
        created_at=token.created_at,
        created_by=token.created_by,
        revoked_at=token.revoked_at,
    )


@router.post("/tokens", status_code=201, responses=responses(401, 403, 422))
def create_token(body: TokenCreate, svc: Svc, caller: Admin) -> TokenCreated:
    """Make an API token; its secret is shown in this answer only."""
    token, secret = svc.tokens.create(body.name, Role(body.role), actor=caller.name)
    return TokenCreated(token=token_out(token), secret=secret)


@router.get("/tokens", responses=responses(401, 403))
def list_tokens(svc: Svc, caller: Admin) -> list[TokenOut]:
    """Every token, revoked ones too."""
    return [token_out(t) for t in svc.tokens.list()]


@router.delete("/tokens/{token_id}", responses=responses(401, 403, 404))
def revoke_token(token_id: str, svc: Svc, caller: Admin) -> TokenOut:
    """Revoke a token: it stops working at once."""
    return token_out(svc.tokens.revoke(token_id, actor=caller.name))


@router.get("/audit", responses=responses(401, 403))
def audit(
    svc: Svc,
    caller: Admin,
    target: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AuditOut]:
    """The latest writes, newest first (optionally of one target: a network or job id)."""
    return [
        AuditOut(id=e.id, at=e.at, actor=e.actor, action=e.action, target=e.target, detail=e.detail)
        for e in svc.audit.entries(target=target, limit=limit)
    ]
