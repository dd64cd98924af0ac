"""Config bundles: reading a folder, digests, and the check before apply (every problem)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from feederos.errors import ConfigBundleError
from feederos.runtime.config_bundle import (
    BundleProblem,
    ConfigBundle,
    InvalidBundleError,
    bundle_problems,
    check_bundle,
    diff_bundles,
    read_bundle,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "runtime" / "config"


def schemas() -> dict[str, dict[str, Any]]:
    return {
        path.name.removesuffix(".schema.json"): json.loads(path.read_text())
        for path in (DATA / "schemas").glob("*.schema.json")
    }


@pytest.fixture
def bundle_dir(tmp_path: Path) -> Path:
    """A writable copy of the good bundle."""
    return Path(shutil.copytree(DATA / "good", tmp_path / "bundle"))


def test_the_good_bundle_reads_and_passes() -> None:
    bundle = read_bundle(DATA / "good")
    assert bundle.feeder_id == "streetgrid-1"
    assert bundle.author == "ops@example.com"
    assert bundle.app_configs == {
        "logger": {"period_s": 60},
        "volt-watt": {"v1_pu": 1.06, "v2_pu": 1.1, "p_min_pct": 20.0, "assets": ["pv01", "pv02"]},
    }
    assert bundle.topology["name"] == "streetgrid"
    assert bundle.network().element_counts()["inverters"] == 14
    assert bundle.source == f"dir:{(DATA / 'good').resolve()}"
    assert bundle_problems(bundle, schemas()) == []
    check_bundle(bundle, schemas())


def test_digest_covers_content_not_notes(bundle_dir: Path) -> None:
    first = read_bundle(bundle_dir)
    (bundle_dir / "bundle.toml").write_text(
        'format_version = 1\nfeeder_id = "streetgrid-1"\ndescription = "new note"\n'
    )
    renamed = read_bundle(bundle_dir, source="elsewhere")
    assert renamed.digest == first.digest
    # A key order or whitespace change is the same canonical content.
    config = json.loads((bundle_dir / "apps" / "volt-watt.json").read_text())
    (bundle_dir / "apps" / "volt-watt.json").write_text(json.dumps(dict(reversed(config.items()))))
    assert read_bundle(bundle_dir).digest == first.digest
    config["v1_pu"] = 1.07
    (bundle_dir / "apps" / "volt-watt.json").write_text(json.dumps(config))
    changed = read_bundle(bundle_dir)
    assert changed.digest != first.digest
    assert changed.topology_digest == first.topology_digest


def test_a_stored_bundle_with_altered_content_is_refused() -> None:
    bundle = read_bundle(DATA / "good")
    document = json.loads(bundle.model_dump_json())
    document["app_configs"]["volt-watt"]["v1_pu"] = 0.5
    with pytest.raises(ValueError, match=r"digest .* does not match the content"):
        ConfigBundle.model_validate(document)
    assert ConfigBundle.model_validate_json(bundle.model_dump_json()) == bundle


def test_the_bundle_is_frozen() -> None:
    bundle = read_bundle(DATA / "good")
    with pytest.raises(ValueError, match="frozen"):
        bundle.feeder_id = "other"  # type: ignore[misc]


def test_every_schema_problem_is_collected_with_app_and_path(bundle_dir: Path) -> None:
    (bundle_dir / "apps" / "volt-watt.json").write_text(
        json.dumps({"v1_pu": "high", "p_min_pct": 120, "assets": ["pv01", 7], "gain": 1})
    )
    (bundle_dir / "apps" / "logger.yaml").write_text("period_s: -1\n")
    (bundle_dir / "apps" / "ghost.json").write_text("{}")
    bundle = read_bundle(bundle_dir)
    problems = bundle_problems(bundle, schemas())
    found = {(p.app, p.path, p.message) for p in problems}
    assert found == {
        (
            "ghost",
            "",
            "app 'ghost' is not installed (installed: logger, volt-watt); "
            "install it or remove its config",
        ),
        ("logger", "$.period_s", "-1 is less than or equal to the minimum of 0"),
        ("volt-watt", "$", "'v2_pu' is a required property"),
        ("volt-watt", "$", "Additional properties are not allowed ('gain' was unexpected)"),
        ("volt-watt", "$.v1_pu", "'high' is not of type 'number'"),
        ("volt-watt", "$.p_min_pct", "120 is greater than the maximum of 100"),
        ("volt-watt", "$.assets[1]", "7 is not of type 'string'"),
    }
    assert "apps/volt-watt.json: $.assets[1]: 7 is not of type 'string'" in map(str, problems)
    with pytest.raises(InvalidBundleError) as caught:
        check_bundle(bundle, schemas())
    assert caught.value.problems == problems
    assert "7 problem(s)" in str(caught.value)
    assert isinstance(caught.value, ConfigBundleError)


def test_an_installed_app_without_config_needs_a_schema_accepting_empty(bundle_dir: Path) -> None:
    (bundle_dir / "apps" / "logger.yaml").unlink()
    assert bundle_problems(read_bundle(bundle_dir), schemas()) == []  # logger accepts {}
    (bundle_dir / "apps" / "volt-watt.json").unlink()
    (problem,) = bundle_problems(read_bundle(bundle_dir), schemas())
    assert problem.app == "volt-watt"
    assert "is installed but has no config" in problem.message
    assert "'v1_pu' is a required property" in problem.message


def test_a_bad_topology_is_refused_with_the_loaders_message(bundle_dir: Path) -> None:
    topology = json.loads((bundle_dir / "topology.json").read_text())
    topology["lines"][0]["length_km"] = "far"
    (bundle_dir / "topology.json").write_text(json.dumps(topology))
    (problem,) = bundle_problems(read_bundle(bundle_dir), schemas())
    assert problem.file == "topology.json"
    assert "length_km" in problem.message and "valid number" in problem.message

    topology["lines"][0]["length_km"] = 0.1
    topology["lines"][0]["bus2"]["bus"] = "nowhere"
    (bundle_dir / "topology.json").write_text(json.dumps(topology))
    problems = bundle_problems(read_bundle(bundle_dir), schemas())
    assert any(
        "bus 'nowhere' is not in buses" in p.message and p.path.endswith("bus2") for p in problems
    )


def test_a_bundle_for_another_feeder_is_refused() -> None:
    bundle = read_bundle(DATA / "good")
    (problem,) = bundle_problems(bundle, schemas(), feeder_id="other-feeder")
    assert "'streetgrid-1' but this runtime serves 'other-feeder'" in problem.message


def test_a_broken_app_schema_is_a_problem_not_a_crash() -> None:
    bundle = read_bundle(DATA / "good")
    broken = {**schemas(), "logger": {"type": "objekt"}}
    (problem,) = bundle_problems(bundle, broken, check_topology=False)
    assert problem.app == "logger" and "not a valid JSON Schema" in problem.message
    dangling = {**schemas(), "logger": {"$ref": "#/$defs/missing"}}
    (problem,) = bundle_problems(bundle, dangling, check_topology=False)
    assert "does not resolve" in problem.message


def _messages(exc: InvalidBundleError) -> list[str]:
    return [str(p) for p in exc.problems]


def test_malformed_files_are_all_reported_at_once(bundle_dir: Path) -> None:
    (bundle_dir / "bundle.toml").write_text('format_version = 2\ncolour = "red"\n')
    (bundle_dir / "apps" / "volt-watt.json").write_text('{"v1_pu": 1.0,}')
    (bundle_dir / "apps" / "logger.yaml").write_text("when: 2026-01-01\n")
    (bundle_dir / "apps" / "notes.txt").write_text("hello")
    (bundle_dir / "apps" / "bad name!.json").write_text("{}")
    (bundle_dir / "topology.json").unlink()
    with pytest.raises(InvalidBundleError) as caught:
        read_bundle(bundle_dir)
    messages = _messages(caught.value)
    assert messages == [
        "bundle.toml: unknown key 'colour'; the keys are format_version, feeder_id, "
        "description, author",
        "bundle.toml: format_version is 2; this runtime reads format_version = 1",
        'bundle.toml: feeder_id is missing; add feeder_id = "<id>"',
        "topology.json: missing from the bundle",
        "apps/bad name!.json: file name: app name 'bad name!' is not valid: use 1-128 "
        "letters, digits, '_', '.', ':' or '-', starting with a letter or digit",
        "apps/logger.yaml: $.when: a date is not a JSON value; quote it as a string",
        "apps/notes.txt: not an app config; apps/ holds only <app>.json, .yaml or .yml files",
        "apps/volt-watt.json: line 1: invalid JSON: Expecting property name enclosed in double "
        "quotes",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[1, 2]", "must hold a JSON object at the top level, not list"),
        ('{"x": NaN}', "NaN is not a JSON number"),
        ("\xff", "cannot read: 'utf-8' codec can't decode byte 0xff"),
    ],
)
def test_app_config_must_be_a_json_object(bundle_dir: Path, text: str, expected: str) -> None:
    (bundle_dir / "apps" / "volt-watt.json").write_text(text, encoding="latin-1")
    with pytest.raises(InvalidBundleError) as caught:
        read_bundle(bundle_dir)
    (message,) = _messages(caught.value)
    assert message.startswith("apps/volt-watt.json: ") and expected in message


def test_meta_file_rules(bundle_dir: Path) -> None:
    (bundle_dir / "bundle.json").write_text('{"format_version": 1, "feeder_id": "f1"}')
    with pytest.raises(InvalidBundleError, match=r"found both of bundle\.toml and bundle\.json"):
        read_bundle(bundle_dir)
    (bundle_dir / "bundle.toml").unlink()
    assert read_bundle(bundle_dir).feeder_id == "f1"
    (bundle_dir / "bundle.json").write_text('{"format_version": 1, "feeder_id": "a/b"}')
    with pytest.raises(InvalidBundleError, match="feeder_id 'a/b' is not valid"):
        read_bundle(bundle_dir)
    (bundle_dir / "bundle.json").unlink()
    with pytest.raises(InvalidBundleError, match="found neither"):
        read_bundle(bundle_dir)
    (bundle_dir / "apps" / "volt-watt.yaml").write_text("v1_pu: 1.0\n")
    (bundle_dir / "bundle.toml").write_text("format_version = 1\nfeeder_id = 'f1'\n")
    with pytest.raises(InvalidBundleError, match=r"also has apps/volt-watt\.json"):
        read_bundle(bundle_dir)


def test_not_a_folder(tmp_path: Path) -> None:
    with pytest.raises(ConfigBundleError, match="not a folder"):
        read_bundle(tmp_path / "missing")


def test_diff_names_changed_apps_paths_and_topology(bundle_dir: Path) -> None:
    old = read_bundle(bundle_dir)
    config = json.loads((bundle_dir / "apps" / "volt-watt.json").read_text())
    config["v2_pu"] = 1.09
    config["assets"].append("pv03")
    (bundle_dir / "apps" / "volt-watt.json").write_text(json.dumps(config))
    (bundle_dir / "apps" / "logger.yaml").unlink()
    topology = json.loads((bundle_dir / "topology.json").read_text())
    topology["name"] = "streetgrid-b"
    (bundle_dir / "topology.json").write_text(json.dumps(topology))
    change = diff_bundles(old, read_bundle(bundle_dir))
    assert change.topology_changed and not change.feeder_id_changed
    assert change.removed == ("logger",) and change.added == ()
    assert change.changed == {"volt-watt": ("$.assets", "$.v2_pu")}
    assert diff_bundles(old, old).empty


def test_problem_text_without_path() -> None:
    assert str(BundleProblem("bundle.toml", "x")) == "bundle.toml: x"
