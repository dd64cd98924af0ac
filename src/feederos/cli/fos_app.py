"""``fos app``: sign, install, upgrade, roll back and inspect Feeder OS apps.

The commands work on the runtime's home folder (``--home``, default ``$FOS_HOME`` or
``~/.feederos``) directly: its state database, its app folders and logs. ``upgrade`` and
``rollback`` run the new version against the broker (``--broker``) for its health check
and switch the active version only if it reports healthy; a running ``fos run`` picks
the switch up. Any error is one line on stderr and exit status 2.

Examples
--------
>>> from typer.testing import CliRunner
>>> result = CliRunner().invoke(app, ["install", "nope@1", "--home", "/nonexistent/h"])
>>> result.exit_code
2
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from feederos.cli.fos_options import (
    DEFAULT_BROKER,
    DEFAULT_FEEDER,
    DEFAULT_HOME,
    Broker,
    Feeder,
    Home,
    errors_exit,
)
from feederos.runtime.bundle import build_bundle, load_private_key
from feederos.runtime.lifecycle import AppManager, UpgradeResult
from feederos.runtime.signing import write_keypair

__all__ = ["app"]

app = typer.Typer(
    name="app",
    help="Install, upgrade, roll back and inspect Feeder OS apps.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)

Name = Annotated[str, typer.Argument(help="App name.")]


@contextmanager
def _manager(
    home: Path, *, feeder: str = DEFAULT_FEEDER, broker: str | None = None
) -> Iterator[AppManager]:
    bus = None
    if broker is not None:
        from feederos.runtime.bus.mqtt import MqttBus

        bus = MqttBus(broker)
    manager = None
    try:
        manager = AppManager(home, bus=bus, feeder_id=feeder, broker_url=broker or DEFAULT_BROKER)
        yield manager
    finally:
        if manager is not None:
            manager.close()
        if bus is not None:
            bus.close()


@app.command()
def keygen(
    out: Annotated[Path, typer.Argument(help="Private key file to write (PEM).")],
    trust: Annotated[
        bool, typer.Option(help="Also copy the public key into HOME/trusted_keys/.")
    ] = False,
    home: Home = DEFAULT_HOME,
) -> None:
    """Write a new Ed25519 signing key pair: OUT and OUT's stem + .pub.pem."""
    with errors_exit():
        public = write_keypair(out)
        console.print(f"[green]wrote[/] {out} (keep it secret) and {public}")
        if trust:
            folder = home / "trusted_keys"
            folder.mkdir(parents=True, exist_ok=True)
            (folder / public.name).write_bytes(public.read_bytes())
            console.print(f"[green]trusted[/] {folder / public.name}")


@app.command()
def sign(
    src_dir: Annotated[Path, typer.Argument(help="App folder holding app.toml.")],
    key: Annotated[Path, typer.Option(help="Private signing key (PEM).")],
    out: Annotated[Path, typer.Option(help="Bundle file to write (.fos).")],
) -> None:
    """Build a signed bundle of an app folder."""
    with errors_exit():
        bundle = build_bundle(src_dir, out, key=load_private_key(key))
    console.print(f"[green]wrote[/] {bundle}")


@app.command()
def install(
    bundle: Annotated[str, typer.Argument(help="A .fos file, or NAME[@VERSION] from HOME/store.")],
    allow_unsigned: Annotated[
        bool, typer.Option(help="Accept a bundle without a signature.")
    ] = False,
    home: Home = DEFAULT_HOME,
) -> None:
    """Verify and install an app bundle."""
    with errors_exit(), _manager(home) as manager:
        record = manager.install(bundle, allow_unsigned=allow_unsigned)
        signer = f"signed by {record.signed_by}" if record.signed_by else "unsigned"
        console.print(f"[green]installed[/] {record.name} {record.version} ({signer})")


def _report(result: UpgradeResult) -> None:
    if result.ok:
        console.print(
            f"[green]{result.app}[/]: {result.from_version} -> {result.to_version}, healthy "
            f"after {result.health.elapsed_s:.2f} s"
        )
        return
    err_console.print(
        f"[bold red]rolled back:[/] {result.app} {result.to_version} {result.health.detail}; "
        f"{result.active} stays active",
        highlight=False,
    )
    raise typer.Exit(1)


@app.command()
def upgrade(
    name: Name,
    to: Annotated[str | None, typer.Option(help="Version (default: the newest).")] = None,
    home: Home = DEFAULT_HOME,
    broker: Broker = DEFAULT_BROKER,
    feeder: Feeder = DEFAULT_FEEDER,
) -> None:
    """Health-check a newer version and make it active; exit 1 if it was rolled back."""
    with errors_exit(), _manager(home, feeder=feeder, broker=broker) as manager:
        result = manager.upgrade(name, to=to)
    _report(result)


@app.command()
def rollback(
    name: Name,
    home: Home = DEFAULT_HOME,
    broker: Broker = DEFAULT_BROKER,
    feeder: Feeder = DEFAULT_FEEDER,
) -> None:
    """Go back to the previous version (health-checked)."""
    with errors_exit(), _manager(home, feeder=feeder, broker=broker) as manager:
        result = manager.rollback(name)
    _report(result)


@app.command()
def enable(name: Name, home: Home = DEFAULT_HOME) -> None:
    """Enable an app: the runtime runs it."""
    with errors_exit(), _manager(home) as manager:
        manager.enable(name)
    console.print(f"enabled {name}")


@app.command()
def disable(name: Name, home: Home = DEFAULT_HOME) -> None:
    """Disable an app: the runtime stops it."""
    with errors_exit(), _manager(home) as manager:
        manager.disable(name)
    console.print(f"disabled {name}")


@app.command()
def remove(
    name: Name,
    version: Annotated[str | None, typer.Option(help="One version (default: all).")] = None,
    force: Annotated[bool, typer.Option(help="Remove even the active version.")] = False,
    home: Home = DEFAULT_HOME,
) -> None:
    """Remove an app version, or the whole app."""
    with errors_exit(), _manager(home) as manager:
        manager.remove(name, version, force=force)
    console.print(f"removed {name} {version or '(all versions)'}")


@app.command("list")
def list_command(home: Home = DEFAULT_HOME) -> None:
    """List installed apps and versions."""
    with errors_exit(), _manager(home) as manager:
        table = Table("app", "active", "previous", "enabled", "installed", title="apps")
        for record in manager.list_apps():
            versions = ", ".join(v.version for v in manager.state.versions(record.name))
            table.add_row(
                record.name,
                record.active,
                record.previous or "-",
                "yes" if record.enabled else "no",
                versions,
            )
    console.print(table)


@app.command()
def status(name: Name, home: Home = DEFAULT_HOME) -> None:
    """Show an app's versions and its lifecycle history."""
    with errors_exit(), _manager(home) as manager:
        report = manager.status(name)
        history = manager.history(name)
    record = report.record
    console.print(
        f"{record.name}: active {record.active}, previous {record.previous or '-'}, "
        f"{'enabled' if record.enabled else 'disabled'}"
    )
    table = Table("time (UTC)", "action", "from", "to", "outcome", "detail", title="history")
    for h in history[-20:]:
        table.add_row(
            h.ts.strftime("%Y-%m-%d %H:%M:%S"),
            h.action,
            h.from_version or "-",
            h.to_version or "-",
            h.outcome,
            h.detail,
        )
    console.print(table)


@app.command()
def logs(
    name: Name,
    version: Annotated[str | None, typer.Option(help="Version (default: active).")] = None,
    lines: Annotated[int, typer.Option(min=1, help="Lines from the end.")] = 100,
    home: Home = DEFAULT_HOME,
) -> None:
    """Print the end of an app version's log."""
    with errors_exit(), _manager(home) as manager:
        text = manager.logs(name, version, lines=lines)
    typer.echo(text, nl=False)


@app.command()
def acl(
    out: Annotated[Path | None, typer.Option(help="Write here (default: print).")] = None,
    home: Home = DEFAULT_HOME,
    feeder: Feeder = DEFAULT_FEEDER,
) -> None:
    """Write the Mosquitto ACL of the installed apps' topic grants."""
    with errors_exit(), _manager(home, feeder=feeder) as manager:
        text = manager.acl()
        if out is not None:
            out.parent.mkdir(parents=True, exist_ok=True)
            tmp = out.with_name(out.name + ".tmp")
            tmp.write_text(text, encoding="utf-8")
            tmp.replace(out)  # a broker reloading the file never reads half of it
    if out is None:
        typer.echo(text, nl=False)
    else:
        console.print(f"[green]wrote[/] {out}")
