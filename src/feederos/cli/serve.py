"""``feederos serve`` and ``feederos token``: run the simulation service, manage its tokens.

``feederos serve`` runs :func:`feederos.api.app.create_app` under uvicorn. Settings come
from the options, then ``FEEDEROS_*`` environment variables (``FEEDEROS_DATABASE_URL``,
``FEEDEROS_DATA_DIR``, ...), then the embedded defaults (a SQLite file in the data folder).
``feederos token create NAME --role admin`` makes a token against the same database and
prints its secret once; the service needs one for every route but /health and /metrics.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from feederos.errors import FeederosError

__all__ = ["serve_command", "token_app"]

console = Console()
err_console = Console(stderr=True)

DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Folder of the SQLite database and job results."),
]
DatabaseUrl = Annotated[
    str | None,
    typer.Option("--database-url", help="SQLAlchemy URL (default: SQLite in --data-dir)."),
]


def _fail(exc: FeederosError) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
    return typer.Exit(2)


def serve_command(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    workers: Annotated[
        int | None, typer.Option("--job-workers", help="Job worker processes.")
    ] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
) -> None:
    """Run the simulation service (REST API; OpenAPI pages at /docs)."""
    import uvicorn

    from feederos.api.app import create_app
    from feederos.api.settings import ApiSettings

    try:
        settings = ApiSettings.from_env(
            data_dir=data_dir, database_url=database_url, job_workers=workers
        )
    except FeederosError as exc:
        raise _fail(exc) from None
    console.print(
        f"feederos service on http://{host}:{port} (OpenAPI: /docs), database "
        f"{_redacted(settings.database_url)}",
        highlight=False,
    )
    uvicorn.run(create_app(settings), host=host, port=port, log_level=log_level)


def _redacted(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparsable URL fails at start-up with its own message
        return url


token_app = typer.Typer(
    name="token", help="API tokens of the simulation service.", no_args_is_help=True
)


def _stores(data_dir: Path | None, database_url: str | None):  # type: ignore[no-untyped-def]
    from feederos.api.settings import ApiSettings
    from feederos.store.database import Database
    from feederos.store.tokens import TokenStore

    settings = ApiSettings.from_env(data_dir=data_dir, database_url=database_url)
    db = Database(settings.database_url)
    db.migrate()
    return db, TokenStore(db)


@token_app.command("create")
def token_create(
    name: Annotated[str, typer.Argument(help="Who or what the token is for.")],
    role: Annotated[str, typer.Option(help="viewer, engineer or admin.")] = "engineer",
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Make a token and print its secret (shown this once)."""
    from feederos.store.tokens import Role

    if role not in {r.value for r in Role}:
        err_console.print(f"[bold red]error:[/] --role {role!r}: give viewer, engineer or admin")
        raise typer.Exit(2)
    try:
        db, tokens = _stores(data_dir, database_url)
        try:
            token, secret = tokens.create(name, Role(role), actor="cli")
        finally:
            db.dispose()
    except FeederosError as exc:
        raise _fail(exc) from None
    err_console.print(f"token {token.id} ({token.name}, {token.role.value}); its secret:")
    typer.echo(secret)


@token_app.command("list")
def token_list(data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """List the tokens (never their secrets)."""
    try:
        db, tokens = _stores(data_dir, database_url)
        try:
            rows = tokens.list()
        finally:
            db.dispose()
    except FeederosError as exc:
        raise _fail(exc) from None
    table = Table("id", "name", "role", "created", "revoked")
    for t in rows:
        table.add_row(
            t.id,
            t.name,
            t.role.value,
            f"{t.created_at:%Y-%m-%d %H:%M}",
            f"{t.revoked_at:%Y-%m-%d %H:%M}" if t.revoked_at else "",
        )
    console.print(table)


@token_app.command("revoke")
def token_revoke(
    token_id: Annotated[str, typer.Argument(help="The token's id (see token list).")],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Revoke a token: it stops working at once."""
    try:
        db, tokens = _stores(data_dir, database_url)
        try:
            token = tokens.revoke(token_id, actor="cli")
        finally:
            db.dispose()
    except FeederosError as exc:
        raise _fail(exc) from None
    console.print(f"revoked {token.id} ({token.name})")
