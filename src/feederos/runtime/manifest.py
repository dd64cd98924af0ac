"""An app's manifest, ``app.toml``: who the app is, what it may touch, what config it takes.

A manifest names the app (one topic level), its version (semantic versioning 2.0.0), the
class to run (``module:Class``), the feeder-relative topic filters it may subscribe to and
publish on, the JSON Schema its config must satisfy, the oldest runtime it runs on and
how it is supervised::

    name = "volt-watt"
    version = "1.2.0"
    entrypoint = "volt_watt:VoltWatt"
    min_runtime = "0.1.0"
    description = "Curtails PV when the voltage is high."

    [topics]
    subscribe = ["measurements/+"]
    publish = ["commands/+", "events/#"]

    [config]
    schema = "config.schema.json"      # or an inline table holding the schema

    [health]
    grace_s = 10.0                     # time an upgraded version has to report healthy [s]
    restart = "on-failure"             # always | on-failure | never

Examples
--------
>>> Version.parse("1.0.0-alpha") < Version.parse("1.0.0-alpha.1") < Version.parse("1.0.0")
True
>>> sorted(["1.10.0", "1.2.0", "1.2.0-rc.1"], key=Version.parse)
['1.2.0-rc.1', '1.2.0', '1.10.0']
>>> m = parse_manifest({"name": "echo", "version": "1.0.0", "entrypoint": "echo:Echo",
...                     "topics": {"subscribe": ["measurements/+"]},
...                     "config": {"schema": {"type": "object",
...                                           "properties": {"gain": {"type": "number"}}}}})
>>> m.permissions.may_subscribe("measurements/pv-1")
True
>>> [str(p) for p in m.validate_config({"gain": "high"})]
["$.gain: 'high' is not of type 'number'"]
"""

from __future__ import annotations

import functools
import json
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Self

import jsonschema
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

import feederos
from feederos.errors import BundleError, TopicError
from feederos.runtime.loader import check_entrypoint
from feederos.runtime.permissions import TopicPermissions
from feederos.runtime.topics import check_filter, check_id

__all__ = [
    "MANIFEST_FILE",
    "ConfigProblem",
    "Manifest",
    "RestartPolicy",
    "Version",
    "config_problems",
    "parse_manifest",
    "read_manifest",
]

MANIFEST_FILE = "app.toml"
"""Name of the manifest at the root of an app's sources and bundle."""

DEFAULT_GRACE_S = 10.0
"""Time an upgraded version has to report a healthy heartbeat before it is rolled back [s]."""

# semver.org 2.0.0, the regular expression it recommends (numeric parts without
# leading zeros, dot-separated pre-release and build identifiers).
_SEMVER = re.compile(
    r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?"
)


@functools.total_ordering
@dataclass(frozen=True, slots=True)
class Version:
    """A semantic version (semver.org 2.0.0), ordered by precedence.

    Build metadata is kept but ignored in comparisons, as the standard asks; a
    pre-release sorts before its release, numeric identifiers numerically and before
    alphanumeric ones, and a longer identifier list after its prefix.

    >>> Version.parse("1.0.0-beta.11") > Version.parse("1.0.0-beta.2")
    True
    >>> Version.parse("1.0.0+build.5") == Version.parse("1.0.0")
    True
    >>> Version.parse("01.0.0")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: version '01.0.0' is not semantic versioning 2.0.0: write MAJOR.MINOR.PATCH...
    """

    major: int
    minor: int
    patch: int
    prerelease: tuple[str, ...] = ()
    build: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str) -> Self:
        """Parse ``text``; raise :class:`ValueError` naming it if it is not semver."""
        match = _SEMVER.fullmatch(text) if isinstance(text, str) else None
        if match is None:
            raise ValueError(
                f"version {text!r} is not semantic versioning 2.0.0: write "
                "MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD], e.g. '1.4.2' or '2.0.0-rc.1'"
            )
        major, minor, patch, pre, build = match.groups()
        return cls(
            int(major),
            int(minor),
            int(patch),
            tuple(pre.split(".")) if pre else (),
            tuple(build.split(".")) if build else (),
        )

    def _key(self) -> tuple[Any, ...]:
        # A release (no pre-release) outranks every pre-release of the same triple.
        pre = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in self.prerelease)
        return (self.major, self.minor, self.patch, not self.prerelease, pre)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __lt__(self, other: Version) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return bool(self._key() < other._key())

    def __str__(self) -> str:
        text = f"{self.major}.{self.minor}.{self.patch}"
        if self.prerelease:
            text += "-" + ".".join(self.prerelease)
        if self.build:
            text += "+" + ".".join(self.build)
        return text


class RestartPolicy(StrEnum):
    """When the supervisor restarts an app process that ended."""

    ALWAYS = "always"
    ON_FAILURE = "on-failure"
    NEVER = "never"


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    """One way a config fails an app's schema: where (JSON path) and what."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class Health(BaseModel):
    """The ``[health]`` table: upgrade grace period and restart policy."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    grace_s: float = Field(DEFAULT_GRACE_S, gt=0, le=600)
    restart: RestartPolicy = RestartPolicy.ON_FAILURE


class Manifest(BaseModel):
    """A parsed, checked ``app.toml``; see the module docstring for its keys."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    version: str
    entrypoint: str
    description: str = ""
    min_runtime: str = "0.0.0"
    subscribe: tuple[str, ...] = ()
    publish: tuple[str, ...] = ()
    config_schema: dict[str, Any] = Field(default_factory=lambda: {"type": "object"})
    health: Health = Field(default_factory=Health)

    @field_validator("name")
    @classmethod
    def _name_is_topic_level(cls, value: str) -> str:
        try:
            return check_id(value, what="name")
        except TopicError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("version", "min_runtime")
    @classmethod
    def _semver(cls, value: str) -> str:
        Version.parse(value)
        return value

    @field_validator("entrypoint")
    @classmethod
    def _entrypoint(cls, value: str) -> str:
        try:
            check_entrypoint(value)
        except BundleError as exc:
            raise ValueError(str(exc)) from None
        return value

    @field_validator("subscribe", "publish")
    @classmethod
    def _filters(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for f in value:
            try:
                check_filter(f)
            except TopicError as exc:
                raise ValueError(f"{exc} (filters are relative to feeder/<feeder-id>/)") from None
            if f.startswith("/") or f.startswith("feeder/"):
                raise ValueError(
                    f"filter {f!r} must be relative to feeder/<feeder-id>/, e.g. 'measurements/+'"
                )
        return value

    @field_validator("config_schema")
    @classmethod
    def _schema(cls, value: dict[str, Any]) -> dict[str, Any]:
        try:
            jsonschema.validators.validator_for(value).check_schema(value)
        except jsonschema.SchemaError as exc:
            where = "$" + "".join(f"[{p!r}]" for p in exc.path)
            raise ValueError(f"not a valid JSON Schema at {where}: {exc.message}") from None
        return value

    @property
    def semver(self) -> Version:
        """The version, parsed."""
        return Version.parse(self.version)

    @property
    def permissions(self) -> TopicPermissions:
        """The topic grants the host and the broker's ACL enforce."""
        return TopicPermissions(subscribe=self.subscribe, publish=self.publish)

    def validate_config(self, config: Mapping[str, Any]) -> list[ConfigProblem]:
        """Every way ``config`` fails the app's schema, each with its JSON path; [] if none."""
        return config_problems(self.config_schema, config)

    def check_runtime(self, runtime_version: str = feederos.__version__) -> None:
        """Raise :class:`BundleError` if this runtime is older than ``min_runtime``."""
        if Version.parse(runtime_version) < Version.parse(self.min_runtime):
            raise BundleError(
                f"app {self.name} {self.version} needs Feeder OS >= {self.min_runtime} "
                f"(min_runtime in {MANIFEST_FILE}), this runtime is {runtime_version}: "
                "upgrade the runtime or install an older app version"
            )


def config_problems(schema: Mapping[str, Any], config: Mapping[str, Any]) -> list[ConfigProblem]:
    """Every way ``config`` fails the JSON Schema ``schema`` (Draft 2020-12 unless it says
    otherwise, formats checked), sorted by JSON path; [] if none.

    Raises ``jsonschema.SchemaError`` for a schema that is not one and
    ``referencing.exceptions.Unresolvable`` for a ``$ref`` that does not resolve.

    >>> config_problems({"type": "object", "required": ["gain"]}, {})
    [ConfigProblem(path='$', message="'gain' is a required property")]
    """
    schema = dict(schema)
    validator_cls = jsonschema.validators.validator_for(
        schema, default=jsonschema.Draft202012Validator
    )
    validator_cls.check_schema(schema)
    validator = validator_cls(schema, format_checker=validator_cls.FORMAT_CHECKER)
    problems = [ConfigProblem(e.json_path, e.message) for e in validator.iter_errors(dict(config))]
    return sorted(problems, key=lambda p: (p.path, p.message))


def parse_manifest(
    document: Mapping[str, Any], *, source: str = MANIFEST_FILE, base_dir: Path | None = None
) -> Manifest:
    """Build a :class:`Manifest` from a parsed ``app.toml`` table.

    ``base_dir`` is where a ``[config] schema = "file.json"`` is looked up; ``source``
    names the file in errors. Every problem found is listed in one :class:`BundleError`.
    """
    doc = dict(document)
    fields: dict[str, Any] = {
        k: doc.pop(k)
        for k in ("name", "version", "entrypoint", "description", "min_runtime")
        if k in doc
    }
    problems: list[str] = []
    topics = doc.pop("topics", {})
    if not isinstance(topics, dict):
        problems.append("[topics]: must be a table with subscribe = [...] and publish = [...]")
        topics = {}
    for key in ("subscribe", "publish"):
        if key in topics:
            value = topics.pop(key)
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                problems.append(f"topics.{key}: must be a list of topic filters (strings)")
            else:
                fields[key] = tuple(value)
    for key in topics:
        problems.append(f"topics.{key}: unknown key; use subscribe or publish")
    config = doc.pop("config", None)
    if config is not None:
        schema = config.get("schema") if isinstance(config, dict) else None
        if isinstance(schema, str):
            fields["config_schema"] = _read_schema(schema, source=source, base_dir=base_dir)
        elif isinstance(schema, dict):
            fields["config_schema"] = schema
        else:
            problems.append(
                "config.schema: give a JSON Schema file name ('config.schema.json') "
                "or an inline table"
            )
    if "health" in doc:
        fields["health"] = doc.pop("health")
    for key in doc:
        problems.append(f"{key}: unknown key; see the manifest keys in feederos.runtime.manifest")
    try:
        manifest = Manifest.model_validate(fields)
    except ValidationError as exc:
        for error in exc.errors():
            key = ".".join(str(p) for p in error["loc"]) or "manifest"
            key = key.replace("config_schema", "config.schema")
            key = {"subscribe": "topics.subscribe", "publish": "topics.publish"}.get(key, key)
            message = str(error["msg"]).removeprefix("Value error, ")
            problems.append(f"{key}: {message}")
        manifest = None
    if problems or manifest is None:
        raise BundleError(f"{source}: " + "; ".join(problems))
    return manifest


def _read_schema(name: str, *, source: str, base_dir: Path | None) -> dict[str, Any]:
    if base_dir is None or Path(name).is_absolute() or ".." in Path(name).parts:
        raise BundleError(
            f"{source}: config.schema: {name!r} must be a file inside the app's folder"
        )
    path = base_dir / name
    try:
        schema = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BundleError(
            f"{source}: config.schema: file {name} not found next to {MANIFEST_FILE}"
        ) from None
    except (OSError, ValueError) as exc:
        raise BundleError(f"{path}: config schema is not readable JSON: {exc}") from None
    if not isinstance(schema, dict):
        raise BundleError(f"{path}: config schema must be a JSON object")
    return schema


def read_manifest(source_dir: Path) -> Manifest:
    """Read and check ``<source_dir>/app.toml``; raise :class:`BundleError` naming the file."""
    path = Path(source_dir) / MANIFEST_FILE
    try:
        with path.open("rb") as f:
            document = tomllib.load(f)
    except FileNotFoundError:
        raise BundleError(f"{path}: no {MANIFEST_FILE}; every app needs one") from None
    except tomllib.TOMLDecodeError as exc:
        raise BundleError(f"{path}: not valid TOML: {exc}") from None
    return parse_manifest(document, source=str(path), base_dir=path.parent)
