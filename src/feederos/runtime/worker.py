"""The app process: ``python -m feederos.runtime.worker --home H --app NAME --version V ...``.

The supervisor starts one of these per running app version. It reads the installed
version's manifest and the app's config from the runtime state, loads the app class,
connects to the broker as user ``NAME`` with a retained ``offline`` status as its last
will, and runs an :class:`~feederos.runtime.host.AppHost` on the wall clock until
SIGTERM (or SIGINT), then stops the app cleanly.

Exit codes: 0 after a clean stop, 2 when the version cannot be loaded (bad arguments,
not installed, import error), 3 when the app's ``on_start`` raised, 4 when the broker
cannot be reached.

Examples
--------
>>> args = parse_args(["--home", "/h", "--app", "echo", "--version", "1.0.0",
...                    "--broker", "mqtt://127.0.0.1:1883", "--feeder", "f1"])
>>> args.app, args.heartbeat_s
('echo', 2.0)
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from feederos.errors import FosError
from feederos.runtime.bus.base import BusMessage
from feederos.runtime.config_store import CONFIG_DB, ConfigStore
from feederos.runtime.host import DEFAULT_HEARTBEAT_S, AppHost
from feederos.runtime.loader import load_app_class
from feederos.runtime.manifest import read_manifest
from feederos.runtime.messages import AppState, AppStatus, encode, utc_now
from feederos.runtime.state import STATE_FILE, RuntimeState
from feederos.runtime.topics import app_status_topic

__all__ = ["EXIT_BROKER", "EXIT_LOAD", "EXIT_START", "main", "parse_args"]

EXIT_LOAD = 2
EXIT_START = 3
EXIT_BROKER = 4


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """The worker's command line."""
    parser = argparse.ArgumentParser(prog="python -m feederos.runtime.worker")
    parser.add_argument("--home", type=Path, required=True, help="runtime home folder")
    parser.add_argument("--app", required=True, help="app name")
    parser.add_argument("--version", required=True, help="installed version to run")
    parser.add_argument("--broker", required=True, help="MQTT broker URL")
    parser.add_argument("--feeder", required=True, help="feeder id")
    parser.add_argument(
        "--heartbeat-s", type=float, default=DEFAULT_HEARTBEAT_S, help="heartbeat period [s]"
    )
    return parser.parse_args(list(argv))


def main(argv: Sequence[str] | None = None) -> int:
    """Run one app version until SIGTERM; return the exit code."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    stop = threading.Event()
    running = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()
        if not running.is_set():
            # Still loading or in on_start (which may hang): leave now; the finally
            # blocks below still close the broker connection cleanly.
            raise SystemExit(EXIT_START)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        with RuntimeState.open(args.home / STATE_FILE, read_only=True) as state:
            record = state.version(args.app, args.version)
            app_record = state.app(args.app)
        if record is None:
            raise FosError(f"{args.app} {args.version} is not installed in {args.home}")
        config = app_record.config if app_record is not None else {}
        if (args.home / CONFIG_DB).exists():
            # An applied config bundle is the authority over a config set by hand.
            current = ConfigStore(args.home).current()
            if current is not None and args.app in current.bundle.app_configs:
                config = current.bundle.app_configs[args.app]
        manifest = read_manifest(record.path)
        app_class = load_app_class(record.path, manifest.entrypoint)
        app = app_class()
    except Exception as exc:
        print(f"worker: cannot load {args.app} {args.version}: {exc}", file=sys.stderr)
        return EXIT_LOAD

    # Imported here: only the worker process needs an MQTT client.
    from feederos.runtime.bus.mqtt import MqttBus

    status_topic = app_status_topic(args.feeder, args.app)
    will = AppStatus(
        ts=utc_now(), app=args.app, version=args.version, state=AppState.OFFLINE, pid=os.getpid()
    )
    try:
        bus = MqttBus(
            args.broker,
            client_id=f"fos-{args.feeder}-{args.app}-{args.version}-{os.getpid()}",
            username=args.app,
            will=BusMessage(status_topic, encode(will), qos=1, retain=True),
        )
    except FosError as exc:
        print(f"worker: {exc}", file=sys.stderr)
        return EXIT_BROKER
    host = AppHost(
        app,
        bus,
        feeder_id=args.feeder,
        app_name=args.app,
        version=args.version,
        permissions=manifest.permissions,
        config=config,
        heartbeat_s=args.heartbeat_s,
        log_stream=sys.stderr,
    )
    try:
        try:
            host.start()
        except Exception:
            # The host logged the traceback and published a "failed" status.
            return EXIT_START
        running.set()
        host.run_until(stop)
        host.stop()
        return 0
    finally:
        bus.flush(2.0)
        bus.close()


if __name__ == "__main__":  # pragma: no cover - the supervisor's entry point
    sys.exit(main())
