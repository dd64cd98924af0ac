"""Config bundles: one versionable folder holding a feeder's topology and its apps' configs.

A bundle is a folder (or a git tree, or an archive served over HTTP, see
:mod:`feederos.runtime.config_sources`) laid out as::

    bundle.toml            format_version = 1, feeder_id = "f1", description, author
    topology.json          the feeder, as a feederos network document
    apps/<app>.json        one config per app (or apps/<app>.yaml / .yml)
    assets.json            optional: the feeder's assets (a JSON array, see below)

:func:`read_bundle` turns the folder into a frozen :class:`ConfigBundle` (raising one
:class:`InvalidBundleError` listing every unreadable or malformed file), and
:func:`check_bundle` is the gate before a bundle is applied: the topology must pass the
network model's own checks, every app config its app's JSON Schema (Draft 2020-12
unless the schema names another), no config may name an app that is not installed,
and an installed app without a config must accept ``{}``. Every problem is collected,
each naming the file, the app and the JSON path.

The bundle's ``digest`` covers what a running feeder sees — format version, feeder id,
topology, app configs and, when the bundle has one, its asset list, as canonical JSON —
and not its description, author or source, so re-publishing the same content under a
new note is not a new version. (A bundle without ``assets.json`` keeps the digest it
had before asset lists existed.)

``assets.json`` lists every asset an app may watch or command, one object each
(:class:`BundleAsset`): its topic-level ``id`` (``inverter.pv1``, ``675``), ``kind``
(``bus``, ``inverter``, ``regulator``, ``capacitor``, ``switch``, ``load``), the
``element`` it is in the topology (``<collection>/<name>``, e.g. ``inverters/pv1``),
its ``bus`` and ``phases``, the ``measurement_topic`` it publishes on and the
``command_topic`` it takes commands on (``null`` for an asset that takes none), the
``measurements`` it publishes (``quantity``, ``phase``, ``unit``) and the ``commands``
(actions) it accepts. :func:`read_bundle` refuses a malformed entry naming the file and
the entry; :func:`bundle_problems` refuses duplicate ids, topics that do not belong to
the bundle's feeder and elements or buses the topology lacks.
:func:`write_bundle` and :func:`write_bundle_zip` write a bundle back out (atomically).

Examples
--------
>>> bundle = ConfigBundle(feeder_id="f1", topology={"name": "n"},
...                       app_configs={"volt-watt": {"gain": "high"}})
>>> bundle.digest.startswith("sha256:")
True
>>> schemas = {"volt-watt": {"type": "object", "properties": {"gain": {"type": "number"}}}}
>>> for p in bundle_problems(bundle, schemas, check_topology=False):
...     print(p)
apps/volt-watt.json: $.gain: 'high' is not of type 'number'
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import tempfile
import tomllib
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Final, Literal

import jsonschema
import referencing.exceptions
import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from feederos.errors import ConfigBundleError, FeederosError, TopicError
from feederos.io.native import network_from_dict
from feederos.model import Network
from feederos.model.validation import Severity, validate
from feederos.runtime.manifest import config_problems
from feederos.runtime.messages import Action, Phase
from feederos.runtime.topics import check_id, command_topic, measurement_topic

__all__ = [
    "APPS_DIR",
    "ASSETS_FILE",
    "ASSET_ACTIONS",
    "ASSET_COLLECTIONS",
    "BUNDLE_FORMAT_VERSION",
    "META_FILES",
    "TOPOLOGY_FILE",
    "AssetKindName",
    "AssetMeasurement",
    "BundleAsset",
    "BundleDiff",
    "BundleProblem",
    "ConfigBundle",
    "InvalidBundleError",
    "SchemaProvider",
    "bundle_files",
    "bundle_problems",
    "canonical_json",
    "check_bundle",
    "diff_bundles",
    "read_bundle",
    "sha256_digest",
    "write_bundle",
    "write_bundle_zip",
]

BUNDLE_FORMAT_VERSION = 1
"""The bundle layout this runtime reads (``format_version`` in ``bundle.toml``)."""

META_FILES = ("bundle.toml", "bundle.json")
"""Names the bundle's metadata file may have; exactly one must exist."""

TOPOLOGY_FILE = "topology.json"
"""The feeder's network document inside a bundle."""

APPS_DIR = "apps"
"""Folder of per-app config files inside a bundle."""

ASSETS_FILE = "assets.json"
"""The optional list of the feeder's assets inside a bundle."""

AssetKindName = Literal["bus", "inverter", "regulator", "capacitor", "switch", "load"]
"""What an asset is (the twin's :class:`~feederos.runtime.cosim_apply.AssetKind` values)."""

ASSET_COLLECTIONS: Final[dict[str, str]] = {
    "bus": "buses",
    "inverter": "inverters",
    "regulator": "regulators",
    "capacitor": "capacitors",
    "switch": "switches",
    "load": "loads",
}
"""Asset kind → the network collection its element is in."""

ASSET_ACTIONS: Final[dict[str, tuple[Action, ...]]] = {
    "bus": (),
    "inverter": (Action.SET_P_LIMIT_PCT, Action.SET_P_KW, Action.SET_Q_KVAR),
    "regulator": (Action.SET_TAP,),
    "capacitor": (Action.SET_CAP_STEPS,),
    "switch": (Action.OPEN, Action.CLOSE),
    "load": (Action.CURTAIL_PCT,),
}
"""Asset kind → the actions an asset of that kind may accept (as the twin applies them)."""

_APP_SUFFIXES = (".json", ".yaml", ".yml")
_META_KEYS = ("format_version", "feeder_id", "description", "author")

SchemaProvider = Mapping[str, Mapping[str, Any]]
"""Installed app name → the JSON Schema its config must satisfy."""


def canonical_json(value: Any) -> str:
    """``value`` as canonical JSON: sorted keys, no spaces, UTF-8 text, no NaN.

    >>> canonical_json({"b": 1, "a": [1.5, "é"]})
    '{"a":[1.5,"é"],"b":1}'
    """
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def sha256_digest(value: Any) -> str:
    """``sha256:<hex>`` of the canonical JSON of ``value``."""
    return "sha256:" + hashlib.sha256(canonical_json(value).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class BundleProblem:
    """One thing wrong with a bundle: the file, the app (if any), the JSON path and what."""

    file: str
    message: str
    app: str | None = None
    path: str = ""

    def __str__(self) -> str:
        where = f"{self.file}: {self.path}: " if self.path else f"{self.file}: "
        return where + self.message


class InvalidBundleError(ConfigBundleError):
    """A bundle is malformed or fails the installed apps' schemas; lists every problem.

    Parameters
    ----------
    problems
        What is wrong, each naming file, app and JSON path.
    source
        Where the bundle came from, for the message.
    """

    def __init__(self, problems: Sequence[BundleProblem], *, source: str = "") -> None:
        self.problems = list(problems)
        self.source = source
        lines = "\n".join(f"  - {p}" for p in self.problems)
        name = f"config bundle {source}" if source else "config bundle"
        super().__init__(f"{name} refused, {len(self.problems)} problem(s):\n{lines}")


class AssetMeasurement(BaseModel):
    """One quantity an asset publishes: its glossary name, phase (if any) and unit."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    quantity: str = Field(
        pattern=r"^[a-z][a-z0-9_]*$", description="Glossary name, e.g. v_pu, p_kw."
    )
    phase: Phase | None = Field(default=None, description="Phase it is of; null = none.")
    unit: str = Field(min_length=1, description="Unit, e.g. pu, kW, step.")


class BundleAsset(BaseModel):
    """One entry of ``assets.json``: an asset, where it is and what it speaks.

    Examples
    --------
    >>> a = BundleAsset(id="675", kind="bus", element="buses/675", bus="675",
    ...                 phases=("a", "b", "c"), measurement_topic="feeder/f1/measurements/675",
    ...                 measurements=({"quantity": "v_pu", "phase": "a", "unit": "pu"},))
    >>> a.collection, a.element_name, a.commands
    ('buses', '675', ())
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(description="Asset id: one topic level, e.g. inverter.pv1.")
    kind: AssetKindName = Field(description="What the asset is.")
    element: str = Field(
        pattern=r"^[a-z_]+/\S+$",
        description="The element in the topology as <collection>/<name>, e.g. inverters/pv1.",
    )
    bus: str = Field(min_length=1, description="The bus it is at.")
    phases: tuple[Phase, ...] = Field(default=(), description="Phases it connects to.")
    measurement_topic: str = Field(description="Topic its measurements are published on.")
    command_topic: str | None = Field(
        default=None, description="Topic it takes commands on; null if it takes none."
    )
    measurements: tuple[AssetMeasurement, ...] = Field(default=(), description="What it publishes.")
    commands: tuple[Action, ...] = Field(default=(), description="Actions it accepts.")

    @field_validator("id")
    @classmethod
    def _id_is_topic_level(cls, value: str) -> str:
        try:
            return check_id(value, what="asset id")
        except TopicError as exc:
            raise ValueError(str(exc)) from None

    @model_validator(mode="after")
    def _consistent(self) -> BundleAsset:
        if self.collection != ASSET_COLLECTIONS[self.kind]:
            raise ValueError(
                f"a {self.kind} asset's element is in {ASSET_COLLECTIONS[self.kind]}/, "
                f"not {self.collection}/"
            )
        allowed = ASSET_ACTIONS[self.kind]
        wrong = [a.value for a in self.commands if a not in allowed]
        if wrong:
            takes = ", ".join(a.value for a in allowed) or "none"
            raise ValueError(f"a {self.kind} does not take {', '.join(wrong)}; it takes {takes}")
        if len(set(self.commands)) != len(self.commands):
            raise ValueError("commands lists an action twice")
        if self.commands and self.command_topic is None:
            raise ValueError("an asset that takes commands needs a command_topic")
        if not self.commands and self.command_topic is not None:
            raise ValueError("command_topic must be null for an asset that takes no commands")
        return self

    @property
    def collection(self) -> str:
        """The network collection of :attr:`element`."""
        return self.element.split("/", 1)[0]

    @property
    def element_name(self) -> str:
        """The element's name within its collection."""
        return self.element.split("/", 1)[1]


class ConfigBundle(BaseModel):
    """A parsed config bundle; frozen, content-addressed by :attr:`digest`.

    The digests are computed when the bundle is built and checked when one is read back
    (from the config store), so stored content that was altered is refused. Treat the
    ``topology`` and ``app_configs`` mappings as read-only.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    format_version: Literal[1] = 1
    feeder_id: str = Field(description="The feeder the bundle is for (one topic level).")
    description: str = ""
    author: str = ""
    source: str = Field(
        default="", description="Where it was fetched from, e.g. git+/srv/cfg@<sha>."
    )
    topology: dict[str, Any] = Field(description="The network document (raw JSON).")
    topology_digest: str = ""
    app_configs: dict[str, dict[str, Any]] = Field(default_factory=dict)
    assets: tuple[BundleAsset, ...] | None = Field(
        default=None, description="The asset list (assets.json); None if the bundle has none."
    )
    digest: str = ""

    @field_validator("feeder_id")
    @classmethod
    def _feeder_id_is_topic_level(cls, value: str) -> str:
        try:
            return check_id(value, what="feeder_id")
        except TopicError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("app_configs")
    @classmethod
    def _app_names_are_topic_levels(
        cls, value: dict[str, dict[str, Any]]
    ) -> dict[str, dict[str, Any]]:
        for name in value:
            try:
                check_id(name, what="app name")
            except TopicError as exc:
                raise ValueError(str(exc)) from None
        return value

    @model_validator(mode="after")
    def _digests(self) -> ConfigBundle:
        topology_digest = sha256_digest(self.topology)
        digest = sha256_digest(self._digested_content(topology_digest))
        for name, expected in (("topology_digest", topology_digest), ("digest", digest)):
            given = getattr(self, name)
            if not given:
                # Frozen: the digest is filled in once, while the model is being built.
                object.__setattr__(self, name, expected)
            elif given != expected:
                raise ValueError(
                    f"{name} {given} does not match the content ({expected}): "
                    "the bundle was altered after it was built"
                )
        return self

    def _digested_content(self, topology_digest: str) -> dict[str, Any]:
        content: dict[str, Any] = {
            "format_version": self.format_version,
            "feeder_id": self.feeder_id,
            "topology_digest": topology_digest,
            "app_configs": self.app_configs,
        }
        if self.assets is not None:
            # Only when present: bundles without assets.json keep their digests.
            content["assets"] = [a.model_dump(mode="json") for a in self.assets]
        return content

    def network(self) -> Network:
        """The topology as a :class:`~feederos.model.Network` (schema-checked)."""
        return network_from_dict(self.topology, source=TOPOLOGY_FILE)

    def app_file(self, app: str) -> str:
        """The bundle-relative file an app's config is reported as."""
        return f"{APPS_DIR}/{app}.json"


def read_bundle(folder: str | Path, *, source: str = "") -> ConfigBundle:
    """Read a bundle folder; raise :class:`InvalidBundleError` listing every bad file.

    Parameters
    ----------
    folder
        The folder holding ``bundle.toml`` (or ``bundle.json``), ``topology.json`` and
        ``apps/``.
    source
        Where it came from, kept in the bundle and its store entry; the folder's
        absolute path (``dir:/…``) if not given.

    Raises
    ------
    InvalidBundleError
        Listing every unreadable or malformed file; a bad ``assets.json`` entry is named
        by its index and id (``assets.json: $[2].commands[0]: asset 'inverter.pv1': …``).
    """
    root = Path(folder)
    source = source or f"dir:{root.resolve()}"
    if not root.is_dir():
        raise ConfigBundleError(
            f"{root}: not a folder; a config bundle is a folder "
            f"holding {META_FILES[0]}, {TOPOLOGY_FILE} and {APPS_DIR}/"
        )
    problems: list[BundleProblem] = []
    meta = _read_meta(root, problems)
    topology = _read_json_object(root / TOPOLOGY_FILE, TOPOLOGY_FILE, problems)
    app_configs = _read_app_configs(root, problems)
    assets = _read_assets(root, problems)
    if problems:
        raise InvalidBundleError(problems, source=source)
    try:
        return ConfigBundle(
            source=source, topology=topology, app_configs=app_configs, assets=assets, **meta
        )
    except ValueError as exc:
        # A feeder id or app name that cannot be a topic level: name the file it came from.
        raise InvalidBundleError([BundleProblem("bundle", str(exc))], source=source) from None


def _read_assets(root: Path, problems: list[BundleProblem]) -> tuple[BundleAsset, ...] | None:
    """``assets.json`` as validated entries; ``None`` if the bundle has none."""
    path = root / ASSETS_FILE
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"), parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        problems.append(BundleProblem(ASSETS_FILE, f"line {exc.lineno}: invalid JSON: {exc.msg}"))
        return None
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        problems.append(BundleProblem(ASSETS_FILE, f"cannot read: {exc}"))
        return None
    if not isinstance(data, list):
        problems.append(
            BundleProblem(
                ASSETS_FILE,
                f"must hold a JSON array of assets at the top level, not {type(data).__name__}",
            )
        )
        return None
    assets: list[BundleAsset] = []
    for i, entry in enumerate(data):
        name = entry.get("id") if isinstance(entry, dict) else None
        who = f"asset {name!r}: " if isinstance(name, str) else ""
        try:
            assets.append(BundleAsset.model_validate(entry))
        except ValidationError as exc:
            for err in exc.errors():
                where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err["loc"])
                message = err["msg"].removeprefix("Value error, ")
                problems.append(BundleProblem(ASSETS_FILE, who + message, path=f"$[{i}]{where}"))
    return tuple(assets)


def _read_meta(root: Path, problems: list[BundleProblem]) -> dict[str, Any]:
    present = [name for name in META_FILES if (root / name).is_file()]
    if len(present) != 1:
        what = "both" if present else "neither"
        problems.append(
            BundleProblem(
                META_FILES[0],
                f"found {what} of {' and '.join(META_FILES)}; a bundle has exactly one, e.g. "
                f'format_version = {BUNDLE_FORMAT_VERSION} and feeder_id = "f1"',
            )
        )
        return {}
    name = present[0]
    data: Any
    if name.endswith(".toml"):
        try:
            data = tomllib.loads((root / name).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            problems.append(BundleProblem(name, f"not readable TOML: {exc}"))
            return {}
    else:
        data = _read_json_object(root / name, name, problems)
        if data is None:
            return {}
    meta: dict[str, Any] = {}
    for key, value in data.items():
        if key not in _META_KEYS:
            problems.append(
                BundleProblem(name, f"unknown key {key!r}; the keys are {', '.join(_META_KEYS)}")
            )
        else:
            meta[key] = value
    version = meta.get("format_version")
    if version != BUNDLE_FORMAT_VERSION:
        problems.append(
            BundleProblem(
                name,
                f"format_version is {version!r}; this runtime reads format_version = "
                f"{BUNDLE_FORMAT_VERSION}",
            )
        )
    if not isinstance(meta.get("feeder_id"), str):
        problems.append(BundleProblem(name, 'feeder_id is missing; add feeder_id = "<id>"'))
    for key in ("description", "author"):
        if key in meta and not isinstance(meta[key], str):
            problems.append(BundleProblem(name, f"{key} must be a string"))
    return meta


def _read_app_configs(root: Path, problems: list[BundleProblem]) -> dict[str, dict[str, Any]]:
    apps_dir = root / APPS_DIR
    if not apps_dir.exists():
        return {}
    if not apps_dir.is_dir():
        problems.append(BundleProblem(APPS_DIR, "must be a folder of <app>.json files"))
        return {}
    configs: dict[str, dict[str, Any]] = {}
    files: dict[str, str] = {}
    for path in sorted(apps_dir.iterdir()):
        rel = f"{APPS_DIR}/{path.name}"
        if path.suffix.lower() not in _APP_SUFFIXES or not path.is_file():
            problems.append(
                BundleProblem(
                    rel, "not an app config; apps/ holds only <app>.json, .yaml or .yml files"
                )
            )
            continue
        app = path.stem
        try:
            check_id(app, what="app name")
        except TopicError as exc:
            problems.append(BundleProblem(rel, f"file name: {exc}", app=app))
            continue
        if app in files:
            problems.append(
                BundleProblem(
                    rel, f"app {app!r} also has {files[app]}; keep one config file per app", app=app
                )
            )
            continue
        files[app] = rel
        config = _read_json_object(path, rel, problems, app=app)
        if config is not None:
            configs[app] = config
    return configs


def _read_json_object(
    path: Path, rel: str, problems: list[BundleProblem], *, app: str | None = None
) -> dict[str, Any] | None:
    """A JSON (or YAML) file holding an object, or ``None`` with the problem noted."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        problems.append(BundleProblem(rel, "missing from the bundle", app=app))
        return None
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(BundleProblem(rel, f"cannot read: {exc}", app=app))
        return None
    data: Any
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(text, parse_constant=_refuse_constant)
        else:
            data = yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        problems.append(BundleProblem(rel, f"line {exc.lineno}: invalid JSON: {exc.msg}", app=app))
        return None
    except (yaml.YAMLError, ValueError, RecursionError) as exc:
        problems.append(BundleProblem(rel, f"invalid {path.suffix[1:].upper()}: {exc}", app=app))
        return None
    if not isinstance(data, dict):
        problems.append(
            BundleProblem(
                rel, f"must hold a JSON object at the top level, not {type(data).__name__}", app=app
            )
        )
        return None
    bad = _non_json(data, "$")
    if bad is not None:
        problems.append(BundleProblem(rel, bad[1], app=app, path=bad[0]))
        return None
    return data


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number; write a finite number or null")


def _non_json(value: Any, path: str) -> tuple[str, str] | None:
    """The first value (path, why) that plain JSON cannot hold, e.g. a YAML date."""
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                return path, f"key {key!r} is not a string; quote it"
            found = _non_json(item, f"{path}.{key}")
            if found is not None:
                return found
        return None
    if isinstance(value, list):
        for i, item in enumerate(value):
            found = _non_json(item, f"{path}[{i}]")
            if found is not None:
                return found
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return path, "not a finite number"
    if value is None or isinstance(value, str | int | float | bool):
        return None
    return path, f"a {type(value).__name__} is not a JSON value; quote it as a string"


def bundle_problems(
    bundle: ConfigBundle,
    schemas: SchemaProvider,
    *,
    feeder_id: str | None = None,
    check_topology: bool = True,
) -> list[BundleProblem]:
    """Every reason ``bundle`` must not be applied with these installed apps; [] if none.

    Parameters
    ----------
    bundle
        The bundle to check.
    schemas
        Installed app name → its config JSON Schema.
    feeder_id
        The feeder this runtime serves; a bundle for another feeder is refused.
    check_topology
        Also run the network model's schema and consistency checks on the topology,
        and check that each asset's element and bus are in it.

    Returns
    -------
    list[BundleProblem]
        Topology problems first, then asset problems, then per app in name order, each
        by JSON path.
    """
    problems: list[BundleProblem] = []
    if feeder_id is not None and bundle.feeder_id != feeder_id:
        problems.append(
            BundleProblem(
                "bundle",
                f"feeder_id is {bundle.feeder_id!r} but this runtime serves "
                f"{feeder_id!r}; use the bundle made for this feeder",
            )
        )
    network: Network | None = None
    if check_topology:
        network, found = _topology_problems(bundle)
        problems.extend(found)
    problems.extend(_asset_problems(bundle, network))
    for app in sorted(set(bundle.app_configs) | set(schemas)):
        file = bundle.app_file(app)
        if app not in schemas:
            installed = ", ".join(sorted(schemas)) or "none"
            problems.append(
                BundleProblem(
                    file,
                    f"app {app!r} is not installed (installed: {installed}); "
                    "install it or remove its config",
                    app=app,
                )
            )
            continue
        config = bundle.app_configs.get(app)
        found = _schema_problems(app, file, schemas[app], {} if config is None else config)
        if config is None and found:
            problems.append(
                BundleProblem(
                    file,
                    f"app {app!r} is installed but has no config in the bundle and its "
                    f"schema does not accept {{}} ({found[0].path}: {found[0].message}); "
                    "add the file",
                    app=app,
                )
            )
        else:
            problems.extend(found)
    return problems


def check_bundle(
    bundle: ConfigBundle,
    schemas: SchemaProvider,
    *,
    feeder_id: str | None = None,
) -> None:
    """Raise :class:`InvalidBundleError` listing every problem :func:`bundle_problems` finds."""
    problems = bundle_problems(bundle, schemas, feeder_id=feeder_id)
    if problems:
        raise InvalidBundleError(problems, source=bundle.source)


def _topology_problems(bundle: ConfigBundle) -> tuple[Network | None, list[BundleProblem]]:
    """The parsed topology (``None`` if it does not parse) and its problems."""
    try:
        network = bundle.network()
    except FeederosError as exc:
        return None, [BundleProblem(TOPOLOGY_FILE, str(exc).removeprefix(f"{TOPOLOGY_FILE}: "))]
    return network, [
        BundleProblem(TOPOLOGY_FILE, p.message, path=f"{p.collection}.{p.element} {p.field}")
        for p in validate(network)
        if p.severity is Severity.ERROR
    ]


def _asset_problem(
    problems: list[BundleProblem], i: int, asset: BundleAsset, message: str, field: str = ""
) -> None:
    problems.append(
        BundleProblem(ASSETS_FILE, f"asset {asset.id!r}: {message}", path=f"$[{i}]{field}")
    )


def _asset_problems(bundle: ConfigBundle, network: Network | None) -> list[BundleProblem]:
    """Duplicate ids, topics of another feeder, elements the topology lacks."""
    if bundle.assets is None:
        return []
    problems: list[BundleProblem] = []
    first: dict[str, int] = {}
    names = {
        c: set() if network is None else set(network.by_name(c)) for c in ASSET_COLLECTIONS.values()
    }
    for i, asset in enumerate(bundle.assets):
        problem = partial(_asset_problem, problems, i, asset)
        if asset.id in first:
            problem(f"id also used by $[{first[asset.id]}]; asset ids are unique", ".id")
        else:
            first[asset.id] = i
        topics = (
            ("measurement_topic", asset.measurement_topic, measurement_topic),
            ("command_topic", asset.command_topic, command_topic),
        )
        for field, given, build in topics:
            expected = build(bundle.feeder_id, asset.id)
            if given is not None and given != expected:
                problem(
                    f"{field} is {given!r}; for feeder {bundle.feeder_id!r} it is {expected!r}",
                    f".{field}",
                )
        if network is None:
            continue
        if asset.element_name not in names[asset.collection]:
            problem(f"element {asset.element!r} is not in {TOPOLOGY_FILE}", ".element")
        if asset.bus not in names["buses"]:
            problem(f"bus {asset.bus!r} is not in {TOPOLOGY_FILE}", ".bus")
        if asset.kind == "bus" and asset.element_name != asset.bus:
            problem(f"a bus asset's bus is its element ({asset.element_name!r})", ".bus")
    return problems


def _schema_problems(
    app: str, file: str, schema: Mapping[str, Any], config: Mapping[str, Any]
) -> list[BundleProblem]:
    try:
        found = config_problems(schema, config)
    except jsonschema.SchemaError as exc:
        return [
            BundleProblem(
                file,
                f"app {app!r}'s config schema is not a valid JSON "
                f"Schema: {exc.message}; fix the app's manifest",
                app=app,
            )
        ]
    except referencing.exceptions.Unresolvable as exc:
        return [
            BundleProblem(
                file,
                f"app {app!r}'s config schema has a $ref that does not "
                f"resolve ({exc}); fix the app's manifest",
                app=app,
            )
        ]
    return [BundleProblem(file, p.message, app=app, path=p.path) for p in found]


@dataclass(frozen=True, slots=True)
class BundleDiff:
    """What differs between two bundles, as ``fos config diff`` reports it."""

    feeder_id_changed: bool
    topology_changed: bool
    added: tuple[str, ...]
    """Apps with a config in the new bundle only."""
    removed: tuple[str, ...]
    """Apps with a config in the old bundle only."""
    changed: dict[str, tuple[str, ...]]
    """App → JSON paths whose values differ, for apps configured in both."""
    assets_added: tuple[str, ...] = ()
    """Asset ids in the new bundle's ``assets.json`` only."""
    assets_removed: tuple[str, ...] = ()
    """Asset ids in the old bundle's ``assets.json`` only."""
    assets_changed: tuple[str, ...] = ()
    """Asset ids in both whose entries differ."""

    @property
    def empty(self) -> bool:
        """Whether the bundles configure the feeder identically."""
        return not (
            self.feeder_id_changed
            or self.topology_changed
            or self.added
            or self.removed
            or self.changed
            or self.assets_added
            or self.assets_removed
            or self.assets_changed
        )


def diff_bundles(old: ConfigBundle, new: ConfigBundle) -> BundleDiff:
    """Compare two bundles: feeder id, topology digest, each app's config by JSON path
    and the asset lists by asset id (a bundle without ``assets.json`` has no assets).

    >>> a = ConfigBundle(feeder_id="f1", topology={"name": "n"},
    ...                  app_configs={"x": {"gain": 1, "on": True}, "y": {}})
    >>> b = ConfigBundle(feeder_id="f1", topology={"name": "n"},
    ...                  app_configs={"x": {"gain": 2, "on": True}, "z": {}})
    >>> d = diff_bundles(a, b)
    >>> d.added, d.removed, d.changed, d.topology_changed
    (('z',), ('y',), {'x': ('$.gain',)}, False)
    """
    both = sorted(set(old.app_configs) & set(new.app_configs))
    changed = {
        app: tuple(paths)
        for app in both
        if (paths := _changed_paths(old.app_configs[app], new.app_configs[app], "$"))
    }
    old_assets = {a.id: a for a in old.assets or ()}
    new_assets = {a.id: a for a in new.assets or ()}
    return BundleDiff(
        feeder_id_changed=old.feeder_id != new.feeder_id,
        topology_changed=old.topology_digest != new.topology_digest,
        added=tuple(sorted(set(new.app_configs) - set(old.app_configs))),
        removed=tuple(sorted(set(old.app_configs) - set(new.app_configs))),
        changed=changed,
        assets_added=tuple(sorted(new_assets.keys() - old_assets.keys())),
        assets_removed=tuple(sorted(old_assets.keys() - new_assets.keys())),
        assets_changed=tuple(
            sorted(
                i for i in old_assets.keys() & new_assets.keys() if old_assets[i] != new_assets[i]
            )
        ),
    )


def _changed_paths(old: Any, new: Any, path: str) -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[str] = []
        for key in sorted(set(old) | set(new)):
            if key not in old or key not in new:
                out.append(f"{path}.{key}")
            else:
                out.extend(_changed_paths(old[key], new[key], f"{path}.{key}"))
        return out
    # Lists and scalars are compared whole; bool and int differ even where 1 == True.
    if canonical_json(old) != canonical_json(new):
        return [path]
    return []


# -- writing ------------------------------------------------------------------------


def bundle_files(bundle: ConfigBundle) -> dict[str, bytes]:
    """The files of ``bundle``'s folder layout: bundle-relative POSIX path → content.

    ``bundle.toml``, ``topology.json``, ``apps/<app>.json`` per app and, when the bundle
    has an asset list, ``assets.json``; in that order. :func:`read_bundle` reads them back
    into a bundle of the same digest (the ``source`` is where they are read from).
    """
    meta = [
        f"format_version = {bundle.format_version}",
        f"feeder_id = {_toml_string(bundle.feeder_id)}",
        f"description = {_toml_string(bundle.description)}",
        f"author = {_toml_string(bundle.author)}",
    ]
    files = {
        META_FILES[0]: ("\n".join(meta) + "\n").encode(),
        TOPOLOGY_FILE: _json_bytes(bundle.topology, indent=1),
    }
    for app in sorted(bundle.app_configs):
        files[bundle.app_file(app)] = _json_bytes(bundle.app_configs[app], indent=2)
    if bundle.assets is not None:
        files[ASSETS_FILE] = _json_bytes(
            [a.model_dump(mode="json") for a in bundle.assets], indent=2
        )
    return files


def write_bundle(bundle: ConfigBundle, folder: str | Path, *, overwrite: bool = False) -> Path:
    """Write ``bundle`` as a bundle folder, atomically; return the folder.

    The files are written into a temporary folder beside ``folder`` and renamed into
    place, so a reader never sees half a bundle.

    Parameters
    ----------
    bundle
        The bundle.
    folder
        Where to write it; its parent must exist.
    overwrite
        Replace an existing ``folder`` (else an existing one is an error).

    Raises
    ------
    ConfigBundleError
        ``folder`` exists (without ``overwrite``), is a file, or cannot be written.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> b = ConfigBundle(feeder_id="f1", topology={"name": "n"}, app_configs={"x": {"k": 1}})
    >>> out = write_bundle(b, pathlib.Path(tempfile.mkdtemp()) / "cfg")
    >>> sorted(p.relative_to(out).as_posix() for p in out.rglob("*.*"))
    ['apps/x.json', 'bundle.toml', 'topology.json']
    >>> read_bundle(out).digest == b.digest
    True
    """
    target = Path(folder)
    if target.exists() and (not overwrite or not target.is_dir()):
        what = "is not a folder" if not target.is_dir() else "already exists"
        raise ConfigBundleError(
            f"{target}: {what}; write the bundle to a new folder"
            + ("" if not target.is_dir() else " or pass overwrite=True")
        )
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    except OSError as exc:
        raise ConfigBundleError(f"{target}: cannot write the bundle: {exc}") from None
    old: Path | None = None
    try:
        for rel, content in bundle_files(bundle).items():
            path = tmp.joinpath(*rel.split("/"))
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
        tmp.chmod(0o755)  # mkdtemp makes it 0700
        if target.exists():
            old = target.with_name(f"{tmp.name}.old")
            os.rename(target, old)
        os.rename(tmp, target)
    except OSError as exc:
        if old is not None and not target.exists():
            os.rename(old, target)  # put the previous bundle back
            old = None
        raise ConfigBundleError(f"{target}: cannot write the bundle: {exc}") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    return target


def write_bundle_zip(bundle: ConfigBundle, path: str | Path) -> Path:
    """Write ``bundle`` as a ``.zip`` archive with the bundle at its root, atomically.

    The archive is what ``fos config`` fetches from an ``https://…/cfg.zip`` source.
    It is reproducible: members in a fixed order with a fixed timestamp, so the same
    bundle always gives the same bytes.

    Examples
    --------
    >>> import tempfile, pathlib, zipfile
    >>> b = ConfigBundle(feeder_id="f1", topology={"name": "n"})
    >>> out = write_bundle_zip(b, pathlib.Path(tempfile.mkdtemp()) / "cfg.zip")
    >>> zipfile.ZipFile(out).namelist()
    ['bundle.toml', 'topology.json']
    """
    target = Path(path)
    tmp = target.with_name(f".{target.name}.tmp{os.getpid()}")
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for rel, content in bundle_files(bundle).items():
                info = zipfile.ZipInfo(rel, date_time=(1980, 1, 1, 0, 0, 0))
                info.external_attr = 0o100644 << 16  # a plain file, rw-r--r--
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, content)
        os.replace(tmp, target)
    except OSError as exc:
        raise ConfigBundleError(f"{target}: cannot write the bundle archive: {exc}") from None
    finally:
        tmp.unlink(missing_ok=True)
    return target


def _json_bytes(value: Any, *, indent: int) -> bytes:
    return (json.dumps(value, indent=indent, ensure_ascii=False, allow_nan=False) + "\n").encode()


def _toml_string(value: str) -> str:
    r"""``value`` as a TOML basic string: quotes, backslashes and control characters escaped.

    >>> print(_toml_string('say "hi"\tnow'))
    "say \"hi\"\u0009now"
    """
    out = []
    for ch in value:
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'
