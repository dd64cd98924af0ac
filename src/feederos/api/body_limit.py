"""Refuse request bodies larger than a limit, before they are read into memory.

A declared ``Content-Length`` over the limit is answered 413 at once; a body sent in
chunks is counted as it arrives and cut off with 413 when it passes the limit. Either
way nothing of it reaches a route, so an oversized upload can never half-write a version.
"""

from __future__ import annotations

from fastapi import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from feederos.api.problems import ProblemError, problem_response

__all__ = ["BodyLimitMiddleware"]


class _TooLarge(HTTPException):
    """Raised from ``receive``: an HTTPException, so the route's body parsing lets it
    through to the problem handlers (it turns other errors into a 400)."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(
            413,
            f"the request body exceeds the limit of {max_bytes:,} bytes "
            "(setting max_upload_mb / FEEDEROS_MAX_UPLOAD_MB)",
        )


class BodyLimitMiddleware:
    """ASGI middleware: 413 problem for a body over ``max_bytes``."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def _problem(self) -> ProblemError:
        return ProblemError(
            413,
            "request-body-too-large",
            "Request body too large",
            _TooLarge(self.max_bytes).detail,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await problem_response(self._problem(), Request(scope))(scope, receive, send)
            return
        seen = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge(self.max_bytes)
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except _TooLarge:
            if not started:
                await problem_response(self._problem(), Request(scope))(scope, receive, send)
