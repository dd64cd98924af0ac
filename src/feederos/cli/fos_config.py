"""``fos config``: validate, apply, inspect and roll back a feeder's config bundles.

Mounted on the ``fos`` command as ``fos config``. Every command takes ``--home`` (or
``FOS_HOME``, default ``~/.feederos``): the runtime's home, holding ``config.db`` and
the installed apps. A bad bundle, source or version exits with status 2 and one message
naming the file, app and JSON path, never a traceback.

The installed apps' config schemas are read from ``<home>/apps/<app>/<version>/app.toml``
(``[config] schema``, a file next to it or an inline table), where ``<version>`` is the
active one named by ``<home>/apps/<app>/current`` (a symlink to the version folder or
a file holding the version); ``--schemas-from DIR`` reads ``DIR/<app>.schema.json``
instead.

Examples
--------
>>> from typer.testing import CliRunner
>>> import tempfile
>>> result = CliRunner().invoke(app, ["history", "--home", tempfile.mkdtemp()])
>>> result.exit_code, result.output.strip()
(0, 'no config applied yet')
"""

from __future__ import annotations

import getpass
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from feederos.cli.fos_options import DEFAULT_HOME, Home, errors_exit
from feederos.errors import BundleError, ConfigBundleError
from feederos.runtime.config_bundle import ConfigBundle, check_bundle, diff_bundles
from feederos.runtime.config_sources import fetch_bundle
from feederos.runtime.config_store import ConfigStore, ConfigVersion
from feederos.runtime.manifest import read_manifest
from feederos.runtime.state import STATE_FILE, RuntimeState

__all__ = ["app", "schemas_from_dir", "schemas_from_home"]

app = typer.Typer(
    name="config",
    help="Versioned config bundles: topology and app configs, applied with history.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# No markup: messages carry JSON paths and TOML tables ("[config]") rich would eat.
console = Console(soft_wrap=True, markup=False, highlight=False)

SchemasFrom = Annotated[
    Path | None,
    typer.Option(
        "--schemas-from",
        help="Read <app>.schema.json from this folder instead of the installed apps' manifests.",
    ),
]
Ref = Annotated[str | None, typer.Option("--ref", help="Git branch, tag or commit.")]
Source = Annotated[str, typer.Argument(help="Bundle folder, git repository or http(s) URL.")]
By = Annotated[str | None, typer.Option("--by", help="Who applies it (default: your login).")]


def _home(home: Path) -> Path:
    return home.expanduser()


def _schemas(home: Path, schemas_from: Path | None) -> dict[str, dict[str, Any]]:
    return schemas_from_dir(schemas_from) if schemas_from is not None else schemas_from_home(home)


def _who(by: str | None) -> str:
    if by:
        return by
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name in a bare container
        return "unknown"


@app.command()
def validate(
    source: Source,
    ref: Ref = None,
    schemas_from: SchemasFrom = None,
    home: Home = DEFAULT_HOME,
) -> None:
    """Check a bundle against the installed apps without applying it."""
    with errors_exit():
        bundle = fetch_bundle(source, ref=ref)
        schemas = _schemas(_home(home), schemas_from)
        check_bundle(bundle, schemas)
    console.print(
        f"ok: {bundle.source} ({bundle.digest[:19]}, feeder {bundle.feeder_id}, "
        f"{len(bundle.app_configs)} app config(s))",
        highlight=False,
    )


@app.command()
def apply(
    source: Source,
    ref: Ref = None,
    schemas_from: SchemasFrom = None,
    by: By = None,
    home: Home = DEFAULT_HOME,
) -> None:
    """Fetch, check and apply a bundle as the next config version."""
    with errors_exit():
        bundle = fetch_bundle(source, ref=ref)
        store = ConfigStore(_home(home))
        result = store.apply(bundle, _schemas(_home(home), schemas_from), applied_by=_who(by))
    if result.created:
        console.print(f"applied version {result.version} from {bundle.source}", highlight=False)
    else:
        console.print(
            f"unchanged: identical to current version {result.version} "
            f"({bundle.digest[:19]}); no new version",
            highlight=False,
        )


@app.command()
def history(home: Home = DEFAULT_HOME) -> None:
    """List every applied config version, oldest first."""
    with errors_exit():
        entries = ConfigStore(_home(home)).history()
    if not entries:
        console.print("no config applied yet")
        return
    # One line per version, never wrapped or cut, so sources stay whole and greppable.
    width_by = max(len(e.applied_by) for e in entries)
    for entry in entries:
        notes = [f"rollback to {entry.restores}"] if entry.restores is not None else []
        if entry is entries[-1]:
            notes.append("current")
        console.print(
            f"{entry.version:>4}  {entry.ts.isoformat(timespec='seconds')}  "
            f"{entry.applied_by:<{width_by}}  {entry.digest[:19]}  {entry.source}"
            + (f"  ({', '.join(notes)})" if notes else ""),
            highlight=False,
            markup=False,
        )


@app.command()
def show(
    version: Annotated[int | None, typer.Argument(help="Version (default: current).")] = None,
    home: Home = DEFAULT_HOME,
) -> None:
    """Print one config version: its metadata, app configs and assets as JSON."""
    with errors_exit():
        store = ConfigStore(_home(home))
        entry = store.current() if version is None else store.get(version)
        if entry is None:
            raise ConfigBundleError(f"{store.path}: no config applied yet; nothing to show")
    console.print_json(json.dumps(_describe(entry)))


@app.command()
def rollback(
    schemas_from: SchemasFrom = None,
    by: By = None,
    home: Home = DEFAULT_HOME,
) -> None:
    """Re-apply the version before the current one, as a new version."""
    with errors_exit():
        store = ConfigStore(_home(home))
        entry = store.rollback(applied_by=_who(by), schemas=_schemas(_home(home), schemas_from))
    console.print(
        f"rolled back: version {entry.version} restores version {entry.restores}", highlight=False
    )


@app.command()
def diff(
    v1: Annotated[int, typer.Argument(help="Old version.")],
    v2: Annotated[int, typer.Argument(help="New version.")],
    home: Home = DEFAULT_HOME,
) -> None:
    """Show which app configs and assets changed, and whether the topology did, between
    two versions."""
    with errors_exit():
        store = ConfigStore(_home(home))
        old, new = store.get(v1).bundle, store.get(v2).bundle
    change = diff_bundles(old, new)
    if change.empty:
        console.print(f"versions {v1} and {v2} are identical ({new.digest[:19]})", highlight=False)
        return
    if change.feeder_id_changed:
        console.print(f"feeder_id: {old.feeder_id} -> {new.feeder_id}", highlight=False)
    topology = (
        f"changed ({old.topology_digest[:19]} -> {new.topology_digest[:19]})"
        if change.topology_changed
        else "unchanged"
    )
    console.print(f"topology: {topology}", highlight=False)
    for name in change.added:
        console.print(f"+ {name}: added", highlight=False)
    for name in change.removed:
        console.print(f"- {name}: removed", highlight=False)
    for name, paths in change.changed.items():
        console.print(f"~ {name}: {', '.join(paths)}", highlight=False)
    for sign, what, ids in (
        ("+", "added", change.assets_added),
        ("-", "removed", change.assets_removed),
        ("~", "changed", change.assets_changed),
    ):
        if ids:
            console.print(f"{sign} assets {what}: {', '.join(ids)}", highlight=False)


def _describe(entry: ConfigVersion) -> dict[str, Any]:
    bundle: ConfigBundle = entry.bundle
    return {
        "version": entry.version,
        "applied": entry.ts.isoformat(),
        "applied_by": entry.applied_by,
        "source": entry.source,
        "restores": entry.restores,
        "feeder_id": bundle.feeder_id,
        "description": bundle.description,
        "author": bundle.author,
        "digest": bundle.digest,
        "topology_digest": bundle.topology_digest,
        "topology_name": bundle.topology.get("name"),
        "app_configs": bundle.app_configs,
        "assets": None
        if bundle.assets is None
        else [a.model_dump(mode="json") for a in bundle.assets],
    }


def schemas_from_dir(folder: Path) -> dict[str, dict[str, Any]]:
    """App name → schema from ``<folder>/<app>.schema.json`` files."""
    if not folder.is_dir():
        raise ConfigBundleError(
            f"{folder}: --schemas-from must be a folder of <app>.schema.json files"
        )
    return {
        path.name.removesuffix(".schema.json"): _read_schema_file(path)
        for path in sorted(folder.glob("*.schema.json"))
    }


def schemas_from_home(home: Path) -> dict[str, dict[str, Any]]:
    """App name → config schema of each installed app's active version under ``home``.

    The installed apps and their active versions are the lifecycle's
    (``<home>/state.db``); each schema is the active version's manifest's.
    """
    state_file = home / STATE_FILE
    if not state_file.exists():
        return {}
    with RuntimeState.open(state_file, read_only=True) as state:
        active = [(a.name, a.active) for a in state.apps()]
    try:
        return {
            name: read_manifest(home / "apps" / name / version).config_schema
            for name, version in active
        }
    except BundleError as exc:
        raise ConfigBundleError(f"installed app manifest: {exc}") from None


def _read_schema_file(path: Path) -> dict[str, Any]:
    try:
        schema = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigBundleError(f"{path}: config schema is not readable JSON: {exc}") from None
    if not isinstance(schema, dict):
        raise ConfigBundleError(f"{path}: a config schema must be a JSON object")
    return schema
