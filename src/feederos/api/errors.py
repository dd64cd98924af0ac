"""feederos errors as problem responses: which status each kind of failure gets.

A route lets library and store errors through; :func:`problem_for` turns them into the
problem a client can act on — 404 for an unknown id, 409 for a stale ``base_version``,
422 naming the file and line or the element and field of bad input, 503 when the job
queue is full or the database fails (with ``Retry-After``; the database's own message,
which may name its host, goes to the log only).
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from feederos.api.jobs import QueueFullError
from feederos.api.problems import ProblemError, ProblemItem, items_of, problem_response
from feederos.errors import (
    FeederosError,
    ModelFormatError,
    NetworkImportError,
    NetworkValidationError,
)
from feederos.store.errors import DatabaseError, NotFoundError, VersionConflictError

__all__ = ["install", "problem_for"]

_log = logging.getLogger(__name__)


def _format_items(message: str) -> list[ProblemItem]:
    # ModelFormatError lists "  - error <collection>.<element> <field>: <message>" lines.
    items = []
    for line in message.splitlines()[1:]:
        text = line.strip().removeprefix("- ")
        severity, _, rest = text.partition(" ")
        where, _, what = rest.partition(": ")
        place, _, field = where.partition(" ")
        collection, _, element = place.partition(".")
        items.append(
            ProblemItem(
                collection=collection,
                element=element,
                field=field,
                message=what or text,
                severity=severity if severity in ("error", "warning") else "error",
            )
        )
    return items


def problem_for(exc: FeederosError) -> ProblemError:
    """The problem answering ``exc``."""
    if isinstance(exc, NotFoundError):
        return ProblemError(404, "not-found", "Not found", str(exc))
    if isinstance(exc, DatabaseError):
        _log.error("database error: %s", exc)
        return ProblemError(
            503,
            "database-unavailable",
            "Service unavailable",
            "the database failed on this request; try again later",
            headers={"Retry-After": "10"},
        )
    if isinstance(exc, VersionConflictError):
        return ProblemError(409, "version-conflict", "Version conflict", str(exc))
    if isinstance(exc, QueueFullError):
        return ProblemError(
            503, "queue-full", "Job queue full", str(exc), headers={"Retry-After": "30"}
        )
    if isinstance(exc, NetworkValidationError):
        return ProblemError(
            422,
            "network-invalid",
            "The network has errors",
            f"{len(exc.problems)} problem(s)",
            problems=items_of(exc.problems),
        )
    if isinstance(exc, ModelFormatError):
        items = _format_items(str(exc))
        detail = str(exc).splitlines()[0]
        return ProblemError(
            422, "network-invalid", "The network document is invalid", detail, problems=items
        )
    if isinstance(exc, NetworkImportError):
        item = ProblemItem(file=exc.file, line=exc.line, message=exc.message)
        return ProblemError(
            422, "dss-invalid", "The OpenDSS files cannot be imported", str(exc), problems=[item]
        )
    return ProblemError(422, "invalid", "The request cannot be carried out", str(exc))


def _handle(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, FeederosError)
    return problem_response(problem_for(exc), request)


def install(app: FastAPI) -> None:
    """Answer feederos errors raised by ``app``'s routes with their problems."""
    app.add_exception_handler(FeederosError, _handle)
