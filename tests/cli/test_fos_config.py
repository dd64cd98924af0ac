"""``fos config``: every command end to end on a temporary home, and clean failures."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from feederos.cli.fos_config import app, schemas_from_home
from feederos.runtime.state import STATE_FILE, RuntimeState

DATA = Path(__file__).resolve().parents[1] / "data" / "runtime" / "config"
runner = CliRunner()


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A runtime home with volt-watt 1.2.0 active (schema file) and logger (inline schema)."""
    home = tmp_path / "home"
    vw = home / "apps" / "volt-watt" / "1.2.0"
    vw.mkdir(parents=True)
    shutil.copy(DATA / "schemas" / "volt-watt.schema.json", vw / "config.schema.json")
    (vw / "app.toml").write_text(
        'name = "volt-watt"\nversion = "1.2.0"\nentrypoint = "vw:VoltWatt"\n'
        '[config]\nschema = "config.schema.json"\n'
    )
    lg = home / "apps" / "logger" / "0.1.0"
    lg.mkdir(parents=True)
    (lg / "app.toml").write_text(
        'name = "logger"\nversion = "0.1.0"\nentrypoint = "lg:Logger"\n'
        '[config.schema]\ntype = "object"\nadditionalProperties = false\n'
        '[config.schema.properties.period_s]\ntype = "number"\nexclusiveMinimum = 0\n'
    )
    with RuntimeState.open(home / STATE_FILE) as state:
        for name, version, folder in (("volt-watt", "1.2.0", vw), ("logger", "0.1.0", lg)):
            state.add_version(name, version, path=folder, manifest={})
            state.set_active(name, version, enabled=True)
    return home


def bundle_copy(tmp_path: Path, name: str, v1_pu: object) -> Path:
    folder = Path(shutil.copytree(DATA / "good", tmp_path / name))
    path = folder / "apps" / "volt-watt.json"
    config = json.loads(path.read_text())
    config["v1_pu"] = v1_pu
    path.write_text(json.dumps(config))
    return folder


def invoke(*args: str | Path) -> tuple[int, str]:
    result = runner.invoke(app, [str(a) for a in args])
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def test_schemas_from_home(home: Path) -> None:
    schemas = schemas_from_home(home)
    assert sorted(schemas) == ["logger", "volt-watt"]
    assert schemas["logger"]["properties"]["period_s"]["exclusiveMinimum"] == 0
    assert schemas["volt-watt"]["required"] == ["v1_pu", "v2_pu"]


def test_apply_history_show_diff_rollback(home: Path, tmp_path: Path) -> None:
    one, two = bundle_copy(tmp_path, "one", 1.05), bundle_copy(tmp_path, "two", 1.07)
    code, out = invoke("validate", one, "--home", home)
    assert code == 0 and "ok: dir:" in out and "feeder streetgrid-1, 2 app config(s)" in out
    code, out = invoke("apply", one, "--home", home, "--by", "ana")
    assert (code, out.strip()) == (0, f"applied version 1 from dir:{one.resolve()}")
    code, out = invoke("apply", one, "--home", home, "--by", "ana")
    assert code == 0 and out.startswith("unchanged: identical to current version 1")
    code, out = invoke("apply", two, "--home", home, "--by", "ben")
    assert code == 0 and "applied version 2" in out

    code, out = invoke("diff", "1", "2", "--home", home)
    assert code == 0
    assert out.splitlines() == ["topology: unchanged", "~ volt-watt: $.v1_pu"]
    code, out = invoke("show", "--home", home)
    shown = json.loads(out)
    assert (shown["version"], shown["applied_by"]) == (2, "ben")
    assert shown["app_configs"]["volt-watt"]["v1_pu"] == 1.07
    code, out = invoke("show", "1", "--home", home)
    assert json.loads(out)["app_configs"]["volt-watt"]["v1_pu"] == 1.05

    code, out = invoke("rollback", "--home", home, "--by", "ana")
    assert (code, out.strip()) == (0, "rolled back: version 3 restores version 1")
    code, out = invoke("history", "--home", home)
    assert code == 0
    assert "rollback to 1, current" in out and "ben" in out
    code, out = invoke("diff", "1", "3", "--home", home)
    assert "identical" in out


def test_apply_from_git_ref(home: Path, tmp_path: Path) -> None:
    repo = bundle_copy(tmp_path, "repo", 1.05)
    env = [
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@example.com",
        "-c",
        "tag.gpgsign=false",
        "-c",
        "commit.gpgsign=false",
    ]
    for args in (
        ["init", "--quiet"],
        ["add", "-A"],
        ["commit", "--quiet", "-m", "x"],
        ["tag", "prod"],
    ):
        subprocess.run(["git", "-C", str(repo), *env, *args], check=True, capture_output=True)
    code, out = invoke("apply", repo, "--ref", "prod", "--home", home)
    assert code == 0 and f"from git+{repo.resolve()}@" in out
    code, out = invoke("apply", repo, "--ref", "nope", "--home", home)
    assert code == 2 and "ref 'nope' not found" in out


def test_bad_input_exits_2_naming_the_problem(home: Path, tmp_path: Path) -> None:
    bad = bundle_copy(tmp_path, "bad", "high")
    (bad / "apps" / "ghost.json").write_text("{}")
    code, out = invoke("apply", bad, "--home", home)
    assert code == 2
    assert "apps/volt-watt.json: $.v1_pu: 'high' is not of type 'number'" in out
    assert "apps/ghost.json: app 'ghost' is not installed" in out
    code, out = invoke("history", "--home", home)
    assert out.strip() == "no config applied yet"
    code, out = invoke("apply", tmp_path / "nowhere", "--home", home)
    assert code == 2 and "not a folder, an archive file" in out
    code, out = invoke("show", "4", "--home", home)
    assert code == 2 and "no config version 4" in out
    code, out = invoke("show", "--home", home)
    assert code == 2 and "no config applied yet" in out
    code, out = invoke("rollback", "--home", home)
    assert code == 2 and "nothing to roll back" in out
    broken = tmp_path / "broken-home"
    broken.mkdir()
    (broken / "config.db").write_bytes(b"garbage" * 200)
    code, out = invoke("history", "--home", broken)
    assert code == 2 and f"{broken / 'config.db'}: the config history is unreadable" in out


def test_schemas_from_folder_and_env_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FOS_HOME", str(tmp_path / "envhome"))
    code, out = invoke("apply", DATA / "good", "--schemas-from", DATA / "schemas")
    assert code == 0 and "applied version 1" in out
    assert (tmp_path / "envhome" / "config.db").is_file()
    code, out = invoke("validate", DATA / "good", "--schemas-from", tmp_path / "none")
    assert code == 2 and "--schemas-from must be a folder" in out
    # With no app installed, every config names an app that is not installed.
    code, out = invoke("validate", DATA / "good")
    assert code == 2 and "app 'logger' is not installed (installed: none)" in out


def test_broken_manifest_is_named(home: Path) -> None:
    (home / "apps" / "logger" / "0.1.0" / "app.toml").write_text("name = ")
    code, out = invoke("validate", DATA / "good", "--home", home)
    assert code == 2 and "logger/0.1.0/app.toml: not valid TOML" in out
