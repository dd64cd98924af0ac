"""The simulation service end to end, for ``make run``: serve, store, solve, run a job.

Starts ``feederos serve`` on a free loopback port with a fresh data folder (SQLite),
makes a token with ``feederos token create``, stores IEEE 123, solves its power flow,
runs a 24-hour time series as a job and prints what came back; then stops the server.
Only the standard library speaks HTTP here, as any client could.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from feederos.feeders import load_feeder

BIN = Path(sys.executable).parent


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _call(base: str, method: str, path: str, token: str, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        base + path,
        data=data,
        method=method,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=120) as answer:
        return json.loads(answer.read())


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="feederos-demo-") as folder:
        made = subprocess.run(
            [
                str(BIN / "feederos"),
                "token",
                "create",
                "demo",
                "--role",
                "engineer",
                "--data-dir",
                folder,
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        token = made.stdout.strip().splitlines()[-1]
        port = _port()
        base = f"http://127.0.0.1:{port}"
        server = subprocess.Popen(
            [
                str(BIN / "feederos"),
                "serve",
                "--port",
                str(port),
                "--data-dir",
                folder,
                "--job-workers",
                "1",
                "--log-level",
                "warning",
            ],
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    urllib.request.urlopen(base + "/health", timeout=1).close()
                    break
                except (urllib.error.URLError, ConnectionError):
                    if server.poll() is not None or time.monotonic() > deadline:
                        raise SystemExit("feederos serve did not start") from None
                    time.sleep(0.2)
            print(f"service up at {base} (OpenAPI at {base}/docs)")
            doc = load_feeder("ieee123").model_dump(mode="json")
            saved = _call(base, "POST", "/networks", token, {"network": doc, "message": "demo"})
            nid = saved["network"]["id"]
            print(f"stored {saved['network']['name']} as network {nid}, version 1")
            flow = _call(base, "POST", "/simulate/powerflow", token, {"network_id": nid})
            s = flow["summary"]
            print(
                f"power flow: converged {s['converged']}, source {s['source_p_kw']:.0f} kW, "
                f"losses {s['losses_kw']:.1f} kW, v {s['v_min_pu']:.4f}–{s['v_max_pu']:.4f} pu, "
                f"{s['n_violations']} violations, CapEx estimate "
                f"{flow['cost']['total']:,.0f} {flow['cost']['currency']} "
                f"({flow['elapsed_ms']:.0f} ms)"
            )
            job = _call(
                base,
                "POST",
                "/simulate/scenario-run",
                token,
                {"network_id": nid, "options": {"steps": 24, "mode": "daily"}},
            )
            while job["status"] in ("queued", "running"):
                time.sleep(0.5)
                job = _call(base, "GET", f"/jobs/{job['id']}", token)
            summary = job["summary"] or {}
            print(
                f"time series job {job['id']}: {job['status']}, {summary.get('steps')} steps, "
                f"files {', '.join(job['files'])}"
            )
        finally:
            server.terminate()
            server.wait(30)


if __name__ == "__main__":
    main()
