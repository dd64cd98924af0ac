"""``fos app``: keys, signing, install, list, status, remove, acl, upgrade; errors exit 2."""

from __future__ import annotations

import uuid
from pathlib import Path

from typer.testing import CliRunner

from feederos.cli.fos_app import app

runner = CliRunner()
APPS = Path(__file__).parents[1] / "data" / "runtime" / "apps"
BROKER_URL = "mqtt://127.0.0.1:1883"


def _ok(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_sign_install_inspect_remove(tmp_path: Path) -> None:
    home = str(tmp_path / "home")
    key = tmp_path / "dev.key.pem"
    _ok("keygen", str(key), "--trust", "--home", home)
    assert (tmp_path / "home" / "trusted_keys" / "dev.key.pub.pem").is_file()
    bundle = tmp_path / "echo-1.0.0.fos"
    _ok("sign", str(APPS / "echo-1.0.0"), "--key", str(key), "--out", str(bundle))
    assert "installed echo 1.0.0 (signed by" in _ok("install", str(bundle), "--home", home)

    listing = _ok("list", "--home", home)
    assert "echo" in listing and "1.0.0" in listing
    assert "active 1.0.0" in _ok("status", "echo", "--home", home)
    acl = _ok("acl", "--home", home, "--feeder", "f9")
    assert "user echo\ntopic read feeder/f9/measurements/+\n" in acl
    _ok("disable", "echo", "--home", home)
    assert "disabled" in _ok("status", "echo", "--home", home)
    _ok("remove", "echo", "--home", home)
    assert "echo" not in _ok("list", "--home", home)


def test_bad_input_exits_2_with_one_line(tmp_path: Path) -> None:
    home = str(tmp_path / "home")
    unsigned = tmp_path / "u.fos"
    cases = [
        (["install", str(tmp_path / "absent.fos"), "--home", home], "no such bundle file"),
        (["install", "echo@1", "--home", home], "not semantic versioning"),
        (["status", "nope", "--home", home], "'nope' is not installed"),
        (
            ["sign", str(tmp_path), "--key", str(tmp_path / "k"), "--out", str(unsigned)],
            "cannot read key",
        ),
        (
            ["sign", str(tmp_path), "--key", str(tmp_path / "dev.pem"), "--out", str(unsigned)],
            "no app.toml",
        ),
        (["rollback", "nope", "--home", home], "not installed"),
    ]
    _ok("keygen", str(tmp_path / "dev.pem"))
    for args, message in cases:
        result = runner.invoke(app, args)
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output, result.output
        assert "Traceback" not in result.output
        assert result.exception is None or isinstance(result.exception, SystemExit)


def test_upgrade_to_crashing_version_exits_1(tmp_path: Path) -> None:
    home = tmp_path / "home"
    key = tmp_path / "dev.key.pem"
    _ok("keygen", str(key), "--trust", "--home", str(home))
    for src, out in (("echo-1.0.0", "echo-1.0.0.fos"), ("echo-2.0.0-crash", "echo-2.0.0.fos")):
        _ok("sign", str(APPS / src), "--key", str(key), "--out", str(home / "store" / out))
    _ok("install", "echo@1.0.0", "--home", str(home))
    feeder = f"t-{uuid.uuid4().hex[:10]}"
    result = runner.invoke(
        app, ["upgrade", "echo", "--home", str(home), "--broker", BROKER_URL, "--feeder", feeder]
    )
    assert result.exit_code == 1, result.output
    assert "rolled back" in result.output and "1.0.0 stays active" in result.output
    status = _ok("status", "echo", "--home", str(home))
    assert "rolled_back" in status
    assert "calibration table" in _ok("logs", "echo", "--version", "2.0.0", "--home", str(home))
