"""``feederos serve`` as a real server process, and ``feederos token``."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from feederos.cli.main import app

FEEDEROS = Path(sys.executable).parent / "feederos"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_tokens_made_by_the_cli_open_the_served_api(tmp_path: Path) -> None:
    runner = CliRunner()
    made = runner.invoke(
        app, ["token", "create", "ana", "--role", "viewer", "--data-dir", str(tmp_path)]
    )
    assert made.exit_code == 0, made.output
    secret = made.stdout.strip().splitlines()[-1]
    assert secret.startswith("fos_")
    listed = runner.invoke(app, ["token", "list", "--data-dir", str(tmp_path)])
    assert "ana" in listed.output and "viewer" in listed.output
    bad = runner.invoke(
        app, ["token", "create", "x", "--role", "root", "--data-dir", str(tmp_path)]
    )
    assert bad.exit_code == 2 and "viewer, engineer or admin" in bad.output

    port = _free_port()
    server = subprocess.Popen(
        [
            str(FEEDEROS),
            "serve",
            "--port",
            str(port),
            "--data-dir",
            str(tmp_path),
            "--job-workers",
            "1",
            "--log-level",
            "warning",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"feederos serve did not start: {server.communicate()[1].decode()}")
            time.sleep(0.2)
        headers = {"Authorization": f"Bearer {secret}"}
        assert httpx.get(f"{base}/networks", headers=headers).json() == []
        assert httpx.get(f"{base}/networks").status_code == 401
        token_id = runner.invoke(app, ["token", "list", "--data-dir", str(tmp_path)]).output
        assert "ana" in token_id
    finally:
        server.terminate()
        server.wait(30)
        if server.stdout:
            server.stdout.close()
        if server.stderr:
            server.stderr.close()
    assert (tmp_path / "feederos.db").is_file()


def test_serve_refuses_a_bad_setting(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["serve", "--job-workers", "0", "--data-dir", str(tmp_path)])
    assert result.exit_code == 2 and "job_workers" in result.output
