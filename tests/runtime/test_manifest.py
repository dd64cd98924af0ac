"""Manifests: semver ordering, every manifest error named, config validation."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from feederos.errors import BundleError
from feederos.runtime.manifest import RestartPolicy, Version, parse_manifest, read_manifest

APPS = Path(__file__).parents[1] / "data" / "runtime" / "apps"

# The precedence example of semver.org 2.0.0, §11, in ascending order.
SEMVER_ORDER = [
    "1.0.0-alpha",
    "1.0.0-alpha.1",
    "1.0.0-alpha.beta",
    "1.0.0-beta",
    "1.0.0-beta.2",
    "1.0.0-beta.11",
    "1.0.0-rc.1",
    "1.0.0",
    "1.0.1",
    "1.1.0",
    "1.10.0",
    "2.0.0",
]


def test_semver_precedence_is_the_standards() -> None:
    parsed = [Version.parse(v) for v in SEMVER_ORDER]
    assert sorted(reversed(parsed)) == parsed
    assert all(a < b for a, b in itertools.pairwise(parsed))
    assert [str(v) for v in parsed] == SEMVER_ORDER


def test_semver_build_metadata_is_ignored_and_bad_versions_refused() -> None:
    assert Version.parse("1.2.3+b.7") == Version.parse("1.2.3")
    assert str(Version.parse("1.2.3-rc.1+b.7")) == "1.2.3-rc.1+b.7"
    for bad in ("1.2", "1.2.3.4", "v1.2.3", "1.02.3", "1.2.3-", "1.2.3-01", ""):
        with pytest.raises(ValueError, match="semantic versioning"):
            Version.parse(bad)


def test_echo_manifest_reads() -> None:
    m = read_manifest(APPS / "echo-1.0.0")
    assert (m.name, m.version, m.entrypoint) == ("echo", "1.0.0", "echo:Echo")
    assert m.health.grace_s == 8.0 and m.health.restart is RestartPolicy.ON_FAILURE
    assert m.permissions.may_publish("commands/pv-1")
    assert not m.permissions.may_publish("measurements/pv-1")
    assert m.validate_config({"gain": 2.0}) == []
    problems = m.validate_config({"gain": -1, "extra": True})
    assert [p.path for p in problems] == ["$", "$.gain"]
    assert "extra" in problems[0].message and "minimum" in problems[1].message


def _base(**changes: object) -> dict[str, object]:
    doc: dict[str, object] = {"name": "echo", "version": "1.0.0", "entrypoint": "echo:Echo"}
    doc.update(changes)
    return doc


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"name": "a/b"}, "name: name 'a/b' is not valid"),
        ({"version": "1.0"}, "version: version '1.0' is not semantic versioning"),
        ({"entrypoint": "echo.Echo"}, "entrypoint: entrypoint 'echo.Echo' is malformed"),
        ({"topics": {"publish": ["commands/+x"]}}, "topics.publish: topic filter"),
        ({"topics": {"publish": ["feeder/f1/commands/+"]}}, "must be relative"),
        ({"topics": {"send": []}}, "topics.send: unknown key"),
        ({"config": {"schema": {"type": "objekt"}}}, "config.schema: not a valid JSON Schema"),
        ({"config": {"schema": 3}}, "config.schema: give a JSON Schema file name"),
        ({"health": {"grace_s": -1}}, "health.grace_s"),
        ({"health": {"restart": "sometimes"}}, "health.restart"),
        ({"colour": "red"}, "colour: unknown key"),
        ({"min_runtime": "x"}, "min_runtime: version 'x'"),
    ],
)
def test_manifest_errors_name_file_and_key(changes: dict[str, object], message: str) -> None:
    with pytest.raises(BundleError) as info:
        parse_manifest(_base(**changes), source="apps/echo/app.toml")
    assert str(info.value).startswith("apps/echo/app.toml: ")
    assert message in str(info.value)


def test_missing_keys_are_all_listed() -> None:
    with pytest.raises(BundleError, match=r"name: Field required.*version: Field required"):
        parse_manifest({"entrypoint": "e:E"})


def test_min_runtime_newer_than_this_runtime_is_refused() -> None:
    m = parse_manifest(_base(min_runtime="99.0.0"))
    with pytest.raises(BundleError, match=r"needs Feeder OS >= 99.0.0 .* this runtime is 0.1.0"):
        m.check_runtime("0.1.0")
    parse_manifest(_base(min_runtime="0.1.0")).check_runtime("0.1.0")


def test_schema_file_errors(tmp_path: Path) -> None:
    (tmp_path / "app.toml").write_text(
        'name = "x"\nversion = "1.0.0"\nentrypoint = "x:X"\n[config]\nschema = "s.json"\n'
    )
    with pytest.raises(BundleError, match=r"file s\.json not found"):
        read_manifest(tmp_path)
    (tmp_path / "s.json").write_text("{not json")
    with pytest.raises(BundleError, match=r"s\.json: config schema is not readable JSON"):
        read_manifest(tmp_path)
    (tmp_path / "s.json").write_text(json.dumps({"type": "object"}))
    assert read_manifest(tmp_path).config_schema == {"type": "object"}
    (tmp_path / "app.toml").write_text("name = \n")
    with pytest.raises(BundleError, match=r"app\.toml: not valid TOML"):
        read_manifest(tmp_path)
