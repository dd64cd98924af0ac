"""Load on the simulation service: concurrent ``/simulate/powerflow`` calls over loopback.

Run ``python -m bench.api_load`` from the repository root. It starts ``feederos serve``
in its own process (a fresh SQLite data folder, or ``--database-url`` for PostgreSQL),
stores IEEE 123, then ``--clients`` threads (each its own HTTP connection) send
``--calls`` power-flow requests each, as fast as answers come. Prints latency
percentiles, throughput and errors (any non-200 answer or transport error), and, in the
same run, the library's own time for the same work (:func:`feederos.powerflow.solve` on
the compiled network, plus the result tables) so the service's overhead reads as a ratio.
It also checks that one API answer equals the library's result.

Timings are printed, never asserted.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np

from feederos.feeders import load_feeder
from feederos.powerflow import compile_network, solve
from feederos.powerflow.result_document import records

_BIN = Path(sys.executable).parent


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _token(data_dir: Path, database_url: str | None) -> str:
    args = [
        str(_BIN / "feederos"),
        "token",
        "create",
        "bench",
        "--role",
        "engineer",
        "--data-dir",
        str(data_dir),
    ]
    if database_url:
        args += ["--database-url", database_url]
    out = subprocess.run(args, check=True, capture_output=True, text=True)
    return out.stdout.strip().splitlines()[-1]


def _start(data_dir: Path, port: int, database_url: str | None) -> subprocess.Popen[bytes]:
    args = [
        str(_BIN / "feederos"),
        "serve",
        "--port",
        str(port),
        "--data-dir",
        str(data_dir),
        "--job-workers",
        "1",
        "--log-level",
        "warning",
    ]
    if database_url:
        args += ["--database-url", database_url]
    server = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        if server.poll() is not None:
            raise SystemExit(f"the service did not start:\n{server.stderr.read().decode()}")
        time.sleep(0.2)
    server.kill()
    raise SystemExit("the service did not answer /health within 60 s")


def _library_ms(repeats: int) -> tuple[float, float]:
    """Median time of the library's solve, and of solve + result tables [ms]."""
    compiled = compile_network(load_feeder("ieee123"))
    solve(compiled)
    bare, full = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = solve(compiled)
        t1 = time.perf_counter()
        for table in (result.voltages, result.branches, result.losses, result.violations()):
            records(table)
        t2 = time.perf_counter()
        bare.append((t1 - t0) * 1e3)
        full.append((t2 - t0) * 1e3)
    return float(np.median(bare)), float(np.median(full))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="feederos-bench-") as folder:
        data_dir = Path(folder)
        secret = _token(data_dir, args.database_url)
        port = _free_port()
        server = _start(data_dir, port, args.database_url)
        try:
            base = f"http://127.0.0.1:{port}"
            headers = {"Authorization": f"Bearer {secret}"}
            doc = load_feeder("ieee123").model_dump(mode="json")
            created = httpx.post(
                f"{base}/networks",
                json={"network": doc, "message": "bench"},
                headers=headers,
                timeout=60,
            )
            created.raise_for_status()
            network_id = created.json()["network"]["id"]
            body = {"network_id": network_id}
            first = httpx.post(f"{base}/simulate/powerflow", json=body, headers=headers, timeout=60)
            first.raise_for_status()

            reference = solve(load_feeder("ieee123"))
            api_v = np.array([r["v_pu"] for r in first.json()["voltages"]], dtype=float)
            lib_v = np.array([r["v_pu"] for r in records(reference.voltages)], dtype=float)
            same = api_v.shape == lib_v.shape and bool(
                np.allclose(api_v, lib_v, rtol=0, atol=1e-12, equal_nan=True)
            )

            alone: list[float] = []
            with httpx.Client(base_url=base, headers=headers, timeout=120) as http:
                for _ in range(args.calls):
                    t0 = time.perf_counter()
                    http.post("/simulate/powerflow", json=body).raise_for_status()
                    alone.append((time.perf_counter() - t0) * 1e3)

            latencies: list[float] = []
            errors: list[str] = []
            lock = threading.Lock()
            go = threading.Event()

            def client() -> None:
                mine: list[float] = []
                with httpx.Client(base_url=base, headers=headers, timeout=120) as http:
                    go.wait()
                    for _ in range(args.calls):
                        t0 = time.perf_counter()
                        try:
                            r = http.post("/simulate/powerflow", json=body)
                            if r.status_code != 200:
                                with lock:
                                    errors.append(f"HTTP {r.status_code}: {r.text[:200]}")
                        except httpx.HTTPError as exc:
                            with lock:
                                errors.append(f"{type(exc).__name__}: {exc}")
                        mine.append((time.perf_counter() - t0) * 1e3)
                with lock:
                    latencies.extend(mine)

            threads = [threading.Thread(target=client) for _ in range(args.clients)]
            for t in threads:
                t.start()
            t_start = time.perf_counter()
            go.set()
            for t in threads:
                t.join()
            wall_s = time.perf_counter() - t_start
        finally:
            server.terminate()
            server.wait(30)
            if server.stderr is not None:
                server.stderr.close()

    bare_ms, full_ms = _library_ms(50)
    lat = np.array(latencies)
    n = len(lat)
    p50, p90, p99 = np.percentile(lat, [50, 90, 99])
    db = "PostgreSQL" if args.database_url else "SQLite"
    print(
        f"service: feederos serve ({db}), IEEE 123, {args.clients} clients × {args.calls} "
        f"POST /simulate/powerflow over loopback, 2 cores shared by server and clients"
    )
    print(
        f"  requests {n}, errors {len(errors)}, wall {wall_s:.1f} s, "
        f"throughput {n / wall_s:.1f} req/s"
    )
    print(f"  latency p50 {p50:.1f} ms, p90 {p90:.1f} ms, p99 {p99:.1f} ms, max {lat.max():.1f} ms")
    print(
        f"  one client alone, {args.calls} calls: p50 {np.median(alone):.1f} ms, "
        f"p99 {np.percentile(alone, 99):.1f} ms"
    )
    print(
        f"  library in-process: solve {bare_ms:.2f} ms, solve + tables {full_ms:.2f} ms "
        f"(median of 50); service time per request at full load "
        f"{wall_s * 1e3 / n:.2f} ms = {wall_s * 1e3 / n / full_ms:.2f} × library"
    )
    print(f"  API voltages equal the library's: {same}")
    for e in errors[:5]:
        print("  error:", e)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    main()
