"""Run one edge node as a process: ``python -m feederos.edge.run``.

Without the Pi's hardware it runs on gpiozero's mock pins with a synthetic ADC source
(a 120 V house drawing a few amperes per circuit at 3840 Hz, one second of samples
computed once and handed out as views, as a real ADC costs the process nothing; 2.5-cycle
blocks, 4-cycle blocks while the frequency is steady), on the real clock: one thread that
sleeps until the next block or timer. Telemetry goes to
stdout as JSON lines. No orchestrator is attached, so after ``--timeout`` seconds the
node goes fail-safe (and says so in bit 6 of ``flags``); the replayed CT samples do not
see the relays, so ``p_w`` does not drop when circuits open. It is what
``bench/edge_idle.py`` measures.

Examples
--------
>>> args = parse_args(["--node", "4", "--duration", "0.2"])
>>> args.node, args.duration
(4, 0.2)
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections.abc import Sequence
from dataclasses import asdict
from types import FrameType

from feederos.edge.messages import Telemetry

__all__ = ["main", "parse_args"]


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        prog="python -m feederos.edge.run",
        description="Run a StreetGrid edge node on mock pins with a synthetic ADC.",
    )
    parser.add_argument("--node", type=int, default=1, help="node id 1..255")
    parser.add_argument(
        "--duration", type=float, default=0.0, help="seconds to run; 0 runs until SIGTERM/SIGINT"
    )
    parser.add_argument("--telemetry", type=float, default=10.0, help="telemetry period [s]")
    parser.add_argument(
        "--timeout", type=float, default=60.0, help="orchestrator silence before fail-safe [s]"
    )
    parser.add_argument(
        "--block-n", type=int, default=160, help="samples per block (160 = 2.5 cycles at 3840 Hz)"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the node until ``--duration`` elapses or a signal arrives."""
    args = parse_args(argv)
    # Imported here so that importing this module (for --help, doctests) touches no pins.
    from gpiozero import Device
    from gpiozero.pins.mock import MockFactory

    from feederos.edge.node import EdgeNode, NodeSettings
    from feederos.edge.sampling import RealClock
    from feederos.edge.synthetic import Harmonic, LoadSpec, SyntheticAdcSource, WaveformSpec

    Device.pin_factory = MockFactory()
    spec = WaveformSpec(
        v1_rms_v=120.0,
        v_harmonics=(Harmonic(3, 2.0, 10.0), Harmonic(5, 1.5, 0.0)),
        loads=(
            LoadSpec(2.0, 10.0),
            LoadSpec(4.0, 25.0, (Harmonic(3, 20.0, 30.0),)),
            LoadSpec(1.5, 5.0),
            LoadSpec(0.0),
        ),
        noise_counts=1.0,
    )
    clock = RealClock()

    def send(t: Telemetry) -> None:
        d = asdict(t)
        d["kind"] = "telemetry"
        print(json.dumps(d), flush=True)

    node = EdgeNode(
        NodeSettings(
            node=args.node,
            telemetry_period_s=args.telemetry,
            orchestrator_timeout_s=args.timeout,
        ),
        clock=clock,
        adc=SyntheticAdcSource(
            spec, clock=clock, block_n=args.block_n, seed=args.node, replay_blocks=24
        ),
        send=send,
        read_soc_pct=lambda: 0.0,  # no battery model attached to this house
    )
    done = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        done.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    clock.start()
    clock.call_soon(node.start)
    done.wait(args.duration if args.duration > 0 else None)
    clock.call_soon(node.stop)
    clock.stop()
    clock.join(5.0)
    node.relays.release()
    return 0


if __name__ == "__main__":
    sys.exit(main())
