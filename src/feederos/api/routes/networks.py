"""``/networks``: create, import, list, read, save new versions, diff, validate, export.

Every save is a new immutable version (author = the token's name, time, message).
A document is checked by the network model before anything is stored: a malformed one is
refused with every bad element and field (422); one that parses but fails the model's
checks is refused too unless ``allow_problems`` (a draft), and its problems come back with
the version. Stored documents are the model's canonical form (defaults written out).
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

import yaml
from fastapi import APIRouter, Depends, File, Form, Query, Response, UploadFile

from feederos.api.auth import require
from feederos.api.dss_upload import network_from_upload
from feederos.api.problems import ProblemItem, items_of, responses
from feederos.api.schemas import (
    DiffOut,
    NetworkCreate,
    NetworkInfoOut,
    NetworkUpdate,
    NetworkVersionOut,
    SavedVersion,
    ValidationReport,
    VersionInfoOut,
)
from feederos.api.services import Services, services
from feederos.errors import NetworkValidationError
from feederos.io.native import network_from_dict
from feederos.model import Network, Severity, validate
from feederos.model.diff import diff_networks
from feederos.store.networks import NetworkInfo, VersionInfo
from feederos.store.tokens import Role, TokenInfo

__all__ = ["checked", "router", "save_new"]

router = APIRouter(prefix="/networks", tags=["networks"])

Svc = Annotated[Services, Depends(services)]
Viewer = Annotated[TokenInfo, Depends(require(Role.VIEWER))]
Engineer = Annotated[TokenInfo, Depends(require(Role.ENGINEER))]
NetworkId = Annotated[str, Query(min_length=1, max_length=64)]


def checked(document: dict[str, Any], *, allow_problems: bool) -> tuple[Network, list[ProblemItem]]:
    """The network of ``document`` and the model's problems with it.

    Raises ``ModelFormatError`` (malformed) or ``NetworkValidationError`` (errors, unless
    ``allow_problems``): both answered 422 with every problem listed.
    """
    network = network_from_dict(document, source="request body 'network'")
    problems = validate(network)
    if not allow_problems and any(p.severity is Severity.ERROR for p in problems):
        raise NetworkValidationError(problems)
    return network, items_of(problems)


def _info(info: NetworkInfo) -> NetworkInfoOut:
    return NetworkInfoOut(
        id=info.id,
        name=info.name,
        created_at=info.created_at,
        created_by=info.created_by,
        latest_version=info.latest_version,
    )


def _version(info: VersionInfo) -> VersionInfoOut:
    return VersionInfoOut(
        network_id=info.network_id,
        version=info.version,
        author=info.author,
        created_at=info.created_at,
        message=info.message,
        sha256=info.sha256,
        size_bytes=info.size_bytes,
    )


def save_new(
    svc: Services, network: Network, problems: list[ProblemItem], *, author: str, message: str
) -> SavedVersion:
    """Store ``network`` as a new network (version 1)."""
    version = svc.networks.create(network.model_dump(mode="json"), author=author, message=message)
    return SavedVersion(
        network=_info(svc.networks.get(version.network_id)),
        version=_version(version),
        problems=problems,
    )


@router.post("", status_code=201, responses=responses(401, 403, 413, 422))
def create_network(
    body: NetworkCreate, svc: Svc, caller: Engineer, response: Response
) -> SavedVersion:
    """Store a network document as a new network (version 1)."""
    network, problems = checked(body.network, allow_problems=body.allow_problems)
    saved = save_new(svc, network, problems, author=caller.name, message=body.message)
    response.headers["Location"] = f"/networks/{saved.network.id}"
    return saved


@router.post("/import", status_code=201, responses=responses(401, 403, 413, 422))
def import_network(
    svc: Svc,
    caller: Engineer,
    response: Response,
    files: Annotated[list[UploadFile], File(description="OpenDSS files, or a zip of them.")],
    main: Annotated[str | None, Form(description="The master script's file name.")] = None,
    name: Annotated[str | None, Form(description="Rename the network.")] = None,
    message: Annotated[str, Form(max_length=2000)] = "",
    allow_problems: Annotated[bool, Form()] = False,
) -> SavedVersion:
    """Import OpenDSS scripts (several files, or a zip) as a new network."""
    uploaded = [(f.filename or "upload.dss", f.file.read()) for f in files]
    network = network_from_upload(uploaded, main or None)
    if name:
        network = network.model_copy(update={"name": name})
    network, problems = checked(network.model_dump(mode="json"), allow_problems=allow_problems)
    saved = save_new(svc, network, problems, author=caller.name, message=message)
    response.headers["Location"] = f"/networks/{saved.network.id}"
    return saved


@router.get("", responses=responses(401, 403))
def list_networks(svc: Svc, caller: Viewer) -> list[NetworkInfoOut]:
    """Every stored network, with its latest version number."""
    return [_info(n) for n in svc.networks.list()]


@router.get("/{network_id}", responses=responses(401, 403, 404))
def get_network(
    network_id: str, svc: Svc, caller: Viewer, version: Annotated[int | None, Query(ge=1)] = None
) -> NetworkVersionOut:
    """A network's document (the latest version unless ``version`` is given)."""
    stored = svc.networks.version(network_id, version)
    return NetworkVersionOut(version=_version(stored.info), network=stored.document)


@router.put("/{network_id}", responses=responses(401, 403, 404, 409, 413, 422))
def update_network(
    network_id: str, body: NetworkUpdate, svc: Svc, caller: Engineer
) -> SavedVersion:
    """Save a new version of a network (older versions stay as they are)."""
    svc.networks.get(network_id)  # 404 before the document is checked
    network, problems = checked(body.network, allow_problems=body.allow_problems)
    version = svc.networks.save(
        network_id,
        network.model_dump(mode="json"),
        author=caller.name,
        message=body.message,
        base_version=body.base_version,
    )
    return SavedVersion(
        network=_info(svc.networks.get(network_id)), version=_version(version), problems=problems
    )


@router.get("/{network_id}/versions", responses=responses(401, 403, 404))
def list_versions(network_id: str, svc: Svc, caller: Viewer) -> list[VersionInfoOut]:
    """Every version of a network, oldest first."""
    return [_version(v) for v in svc.networks.versions(network_id)]


@router.get("/{network_id}/versions/{version}", responses=responses(401, 403, 404))
def get_version(network_id: str, version: int, svc: Svc, caller: Viewer) -> NetworkVersionOut:
    """One version of a network, with its document."""
    stored = svc.networks.version(network_id, version)
    return NetworkVersionOut(version=_version(stored.info), network=stored.document)


@router.get("/{network_id}/diff", responses=responses(401, 403, 404, 422))
def diff_versions(
    network_id: str,
    svc: Svc,
    caller: Viewer,
    from_version: Annotated[int, Query(alias="from", ge=1)],
    to_version: Annotated[int | None, Query(alias="to", ge=1)] = None,
) -> DiffOut:
    """Elements added, removed and changed from one version to another (default latest)."""
    old = svc.networks.version(network_id, from_version)
    new = svc.networks.version(network_id, to_version)
    diff = diff_networks(
        network_from_dict(old.document, source=f"version {old.info.version}"),
        network_from_dict(new.document, source=f"version {new.info.version}"),
    )
    return DiffOut(
        network_id=network_id,
        from_version=old.info.version,
        to_version=new.info.version,
        diff=diff.to_dict(),
    )


def _report(network: Network) -> ValidationReport:
    problems = validate(network)
    errors = sum(p.severity is Severity.ERROR for p in problems)
    return ValidationReport(
        valid=errors == 0,
        errors=errors,
        warnings=len(problems) - errors,
        problems=items_of(problems),
    )


@router.get("/{network_id}/validate", responses=responses(401, 403, 404))
def validate_version(
    network_id: str, svc: Svc, caller: Viewer, version: Annotated[int | None, Query(ge=1)] = None
) -> ValidationReport:
    """The model's checks of a stored version: every problem with element and field."""
    stored = svc.networks.version(network_id, version)
    return _report(network_from_dict(stored.document, source=f"version {stored.info.version}"))


@router.get(
    "/{network_id}/export",
    responses={
        200: {"content": {"application/json": {}, "application/yaml": {}}},
        **responses(401, 403, 404),
    },
    response_class=Response,
)
def export_network(
    network_id: str,
    svc: Svc,
    caller: Viewer,
    version: Annotated[int | None, Query(ge=1)] = None,
    format: Annotated[Literal["json", "yaml"], Query()] = "json",
) -> Response:
    """A version's document as a file (our JSON or YAML), to open with ``feederos``."""
    stored = svc.networks.version(network_id, version)
    name = f"{stored.document.get('name', network_id)}-v{stored.info.version}.{format}"
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
    if format == "json":
        body = json.dumps(stored.document, indent=1, allow_nan=False) + "\n"
        media = "application/json"
    else:
        body = yaml.safe_dump(stored.document, sort_keys=False, allow_unicode=False, width=100)
        media = "application/yaml"
    return Response(
        body, media_type=media, headers={"Content-Disposition": f'attachment; filename="{safe}"'}
    )


validation_router = APIRouter(tags=["networks"])


@validation_router.post("/validate", responses=responses(401, 403, 413, 422))
def validate_document(body: NetworkCreate, caller: Viewer) -> ValidationReport:
    """Check a network document without storing it."""
    return _report(network_from_dict(body.network, source="request body 'network'"))
