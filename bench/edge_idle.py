"""CPU use of an idle StreetGrid edge node process, as % of one core.

Starts ``python -m feederos.edge.run`` (mock pins, synthetic ADC, real clock), lets it
warm up, then reads its user+system CPU time from ``/proc/<pid>/stat`` at the start and
end of a window of ``--seconds`` and prints the ratio to wall time. Linux only.

Usage: ``.venv/bin/python bench/edge_idle.py --seconds 60``
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path


def cpu_s(pid: int) -> float:
    """User + system CPU time of ``pid`` [s] (fields 14 and 15 of /proc/<pid>/stat)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    # The command name (field 2) may hold spaces; split after its closing parenthesis.
    fields = stat[stat.rindex(")") + 2 :].split()
    utime, stime = int(fields[11]), int(fields[12])
    return (utime + stime) / os.sysconf("SC_CLK_TCK")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="measurement window [s]")
    parser.add_argument("--warmup", type=float, default=5.0, help="wait before measuring [s]")
    parser.add_argument("--block-n", type=int, default=160, help="samples per ADC block")
    args = parser.parse_args()
    total_s = args.warmup + args.seconds + 5.0
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "feederos.edge.run",
            "--duration",
            str(total_s),
            "--block-n",
            str(args.block_n),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(args.warmup)
        if proc.poll() is not None:
            print(f"node process exited early with code {proc.returncode}", file=sys.stderr)
            return 1
        c0, t0 = cpu_s(proc.pid), time.monotonic()
        time.sleep(args.seconds)
        c1, t1 = cpu_s(proc.pid), time.monotonic()
        if proc.poll() is not None:
            print(f"node process exited during the window ({proc.returncode})", file=sys.stderr)
            return 1
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
    lines = [ln for ln in out.splitlines() if ln.strip()]
    pct = 100.0 * (c1 - c0) / (t1 - t0)
    print(
        f"edge node idle CPU: {pct:.3f} % of one core over {t1 - t0:.1f} s "
        f"({c1 - c0:.2f} s CPU; {len(lines)} telemetry lines)"
    )
    if lines:
        print(f"last telemetry: {lines[-1]}")
    return 0 if proc.returncode in (0, -15) else 1


if __name__ == "__main__":
    sys.exit(main())
