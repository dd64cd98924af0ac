"""RFC 7807 problem details: every error the service returns, in one shape.

A problem is ``application/problem+json``::

    {"type": "https://feederos.org/problems/network-invalid", "title": "...",
     "status": 422, "detail": "...", "instance": "/networks",
     "problems": [{"collection": "lines", "element": "650632", "field": "bus2",
                   "message": "...", "severity": "error"}, ...]}

``problems`` lists every validation problem found (request body, network model, .dss
file), each naming where it is and what is wrong, so a client can mark them all at once.
:func:`install` registers the handlers; unexpected exceptions become a 500 problem that
says nothing of the internals (the traceback goes to the log).

Examples
--------
>>> p = ProblemError(422, "network-invalid", "The network has errors", "2 problems",
...                problems=[ProblemItem(collection="lines", element="l1", field="bus1",
...                                      message="unknown bus 'x'")])
>>> body = p.body("/networks")
>>> body["type"], body["status"], body["problems"][0]["element"]
('https://feederos.org/problems/network-invalid', 422, 'l1')
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from feederos.model.validation import Problem

__all__ = [
    "PROBLEM_BASE",
    "PROBLEM_MEDIA_TYPE",
    "ProblemBody",
    "ProblemError",
    "ProblemItem",
    "install",
    "items_of",
    "problem_response",
    "responses",
]

_log = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_BASE = "https://feederos.org/problems/"

_TITLES = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Request body too large",
    415: "Unsupported media type",
    422: "Unprocessable content",
    429: "Too many requests",
    503: "Service unavailable",
}


class ProblemItem(BaseModel):
    """One thing wrong: where (collection, element, field, or file and line) and what."""

    collection: str = ""
    element: str = ""
    field: str = ""
    message: str
    severity: str = "error"
    file: str | None = None
    line: int | None = None


class ProblemBody(BaseModel):
    """The JSON body of every error response (RFC 7807 plus ``problems``)."""

    type: str = Field(description="URI naming the kind of problem.")
    title: str
    status: int
    detail: str = ""
    instance: str = ""
    problems: list[ProblemItem] = Field(default_factory=list)


class ProblemError(Exception):
    """Raised by a route to answer with a problem (see the module docstring)."""

    def __init__(
        self,
        status: int,
        kind: str,
        title: str,
        detail: str = "",
        *,
        problems: Sequence[ProblemItem] = (),
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.kind = kind
        self.title = title
        self.detail = detail
        self.problems = list(problems)
        self.headers = headers

    def body(self, instance: str) -> dict[str, Any]:
        """The problem+json body, for the request path ``instance``."""
        return ProblemBody(
            type=PROBLEM_BASE + self.kind,
            title=self.title,
            status=self.status,
            detail=self.detail,
            instance=instance,
            problems=self.problems,
        ).model_dump(mode="json")


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` of a route for the problem statuses it may answer."""
    return {
        code: {
            "model": ProblemBody,
            "description": _TITLES.get(code, "Error"),
            "content": {
                PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/ProblemBody"}}
            },
        }
        for code in codes
    }


def items_of(problems: Sequence[Problem]) -> list[ProblemItem]:
    """The network model's validation problems as problem items."""
    return [
        ProblemItem(
            collection=p.collection,
            element=p.element,
            field=p.field,
            message=p.message,
            severity=p.severity.value,
        )
        for p in problems
    ]


def problem_response(problem: ProblemError, request: Request) -> JSONResponse:
    """The response of ``problem`` to ``request``."""
    return JSONResponse(
        problem.body(request.url.path),
        status_code=problem.status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=problem.headers,
    )


def _request_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    items = []
    for err in exc.errors():
        loc = [str(x) for x in err.get("loc", ())]
        items.append(
            ProblemItem(
                collection=loc[0] if loc else "",
                field=".".join(loc[1:]),
                message=str(err.get("msg", "invalid")),
            )
        )
    problem = ProblemError(
        422,
        "request-invalid",
        "The request is invalid",
        f"{len(items)} problem(s) in the request",
        problems=items,
    )
    return problem_response(problem, request)


def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    title = _TITLES.get(exc.status_code, "Error")
    kind = title.lower().replace(" ", "-")
    headers = dict(exc.headers) if exc.headers else None
    problem = ProblemError(exc.status_code, kind, title, str(exc.detail), headers=headers)
    return problem_response(problem, request)


def _api_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ProblemError)
    return problem_response(exc, request)


def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    _log.exception("unexpected error on %s %s", request.method, request.url.path)
    problem = ProblemError(
        500,
        "internal-error",
        "Internal server error",
        "the server failed on this request; the error is in its log",
    )
    return problem_response(problem, request)


def install(app: FastAPI) -> None:
    """Answer every error of ``app`` with a problem+json response."""
    app.add_exception_handler(RequestValidationError, _request_validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(ProblemError, _api_problem)
    app.add_exception_handler(Exception, _unexpected)
