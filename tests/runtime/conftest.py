"""Fixtures of the runtime tests: the system Mosquitto, private Mosquittos, feeder ids."""

from __future__ import annotations

import getpass
import http.server
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO, ClassVar

import pytest

MOSQUITTO = Path("/usr/sbin/mosquitto")
_START_TIMEOUT_S = 10.0


def _listening(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def free_port() -> int:
    """A TCP port on loopback nobody listens on (now)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PrivateMosquitto:
    """A Mosquitto of one test, on its own loopback port, started and stopped at will.

    ``persistence=True`` keeps sessions and queued messages across :meth:`stop` and
    :meth:`start` (in the test's temporary directory), as a production broker would.
    """

    def __init__(self, directory: Path, *, persistence: bool = False) -> None:
        self.port = free_port()
        self.url = f"mqtt://127.0.0.1:{self.port}"
        self.directory = directory
        self.config = directory / "mosquitto.conf"
        lines = [
            f"listener {self.port} 127.0.0.1",
            "allow_anonymous true",
            f"persistence {'true' if persistence else 'false'}",
            # Started as root, Mosquitto drops to user "mosquitto", who cannot write the
            # test's directory: its persistence file would silently not be saved.
            f"user {getpass.getuser()}",
        ]
        if persistence:
            lines.append(f"persistence_location {directory}/")
        self.config.write_text("\n".join(lines) + "\n")
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def running(self) -> bool:
        return self._process is not None

    def start(self) -> None:
        """Start it (on the same port as before) and return once it listens."""
        if self._process is not None:
            return
        self._log = (self.directory / "mosquitto.log").open("ab")
        self._process = subprocess.Popen(
            [str(MOSQUITTO), "-c", str(self.config)], stdout=self._log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + _START_TIMEOUT_S
        while not _listening("127.0.0.1", self.port):
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                log = (self.directory / "mosquitto.log").read_text(errors="replace")
                pytest.fail(f"private mosquitto on port {self.port} did not start:\n{log}")
            time.sleep(0.01)

    def stop(self) -> None:
        """Stop it (SIGTERM: it saves its state if persistence is on) and wait."""
        process, self._process = self._process, None
        if process is not None:
            process.terminate()
            try:
                process.wait(_START_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None


@pytest.fixture
def unused_port() -> int:
    """A loopback TCP port nobody listens on."""
    return free_port()


@pytest.fixture
def feeder_id() -> str:
    """A feeder id no other test (nor a parallel run) uses."""
    return f"t-{uuid.uuid4().hex[:16]}"


@pytest.fixture
def private_mosquitto(tmp_path: Path) -> Iterator[PrivateMosquitto]:
    """A started Mosquitto of this test only (anonymous, no persistence); stopped at teardown."""
    broker = PrivateMosquitto(tmp_path)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture
def persistent_mosquitto(tmp_path: Path) -> Iterator[PrivateMosquitto]:
    """Like ``private_mosquitto``, but it keeps sessions across ``stop()``/``start()``."""
    broker = PrivateMosquitto(tmp_path, persistence=True)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


class _Files(http.server.BaseHTTPRequestHandler):
    files: ClassVar[dict[str, bytes]] = {}

    def do_GET(self) -> None:
        body = self.files.get(self.path)
        if body is None:
            self.send_error(404, "Not Found")
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the tests assert on what the client sees."""


@pytest.fixture
def server() -> Iterator[tuple[str, dict[str, bytes]]]:
    """An HTTP server on loopback serving ``files`` (path → bytes): (base URL, files)."""
    files: dict[str, bytes] = {}
    handler = type("Handler", (_Files,), {"files": files})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", files
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)
