"""Who is calling: API tokens with roles (viewer < engineer < admin).

Every route but ``/health``, ``/metrics`` and the OpenAPI pages needs a token, sent as
``Authorization: Bearer fos_…``. Reading needs ``viewer``, writing and simulating
``engineer``, managing tokens ``admin``. Tokens are made with ``feederos token create``
(or ``POST /tokens`` by an admin); the store keeps only their SHA-256.

A missing or unknown token is answered 401 (with ``WWW-Authenticate: Bearer``), a token
whose role is too low 403; neither says whether a token exists.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from feederos.api.problems import ProblemError
from feederos.api.services import Services, services
from feederos.store.tokens import Role, TokenInfo

__all__ = ["Caller", "require"]

_bearer = HTTPBearer(auto_error=False, description="An API token: `feederos token create`.")


def require(needed: Role) -> Callable[..., TokenInfo]:
    """A FastAPI dependency giving the caller's token, if its role allows ``needed``."""

    def caller(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
        svc: Annotated[Services, Depends(services)],
    ) -> TokenInfo:
        if credentials is None or credentials.scheme.lower() != "bearer":
            raise ProblemError(
                401,
                "not-authenticated",
                "Not authenticated",
                "send an API token as 'Authorization: Bearer <token>'",
                headers={"WWW-Authenticate": "Bearer"},
            )
        token = svc.tokens.authenticate(credentials.credentials)
        if token is None:
            raise ProblemError(
                401,
                "not-authenticated",
                "Not authenticated",
                "the API token is unknown or revoked",
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        if not token.role.allows(needed):
            raise ProblemError(
                403,
                "forbidden",
                "Forbidden",
                f"{request.method} {request.url.path} needs the {needed.value} role; "
                f"token {token.name!r} has {token.role.value}",
            )
        request.state.caller = token.name
        return token

    return caller


Caller = TokenInfo
"""The authenticated caller a route receives."""
