"""Kiosk uploads during a flood of managers' sign-ins: does guessing passwords starve delivery?

    python -m bench.signin_flood [--seconds S] [--rounds R] [--flood N] [--batch N]
                                 [--backends sqlite postgresql]

One kiosk process uploads batches of submissions, each as soon as the last is answered, to the central API
run as in production (uvicorn, one API process) on 127.0.0.1. R rounds, each S seconds quiet and S seconds
while N threads (another process) sign in to the dashboard as fast as they are answered (in turn first and
second), each flood followed by a pause that is not measured while the sign-ins still waiting drain. Quiet
and flood alternate so that a machine shared with other work slows both alike. Every sign-in carries a new
X-Forwarded-For and a new account name, and the server is told loopback is its proxy: so no per-address or
per-account limit stops the flood and every attempt costs a password check, as from a botnet. Figures:
uploads answered per second (and p50 latency), quiet and flooded, over all rounds; flooded against quiet,
measured in the same run. Target: >= 80 %.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import platform
import statistics
import tempfile
import threading
import time
import uuid
from collections import Counter
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

from bench.live_central import central_server, enrol_devices, postgres
from central.dashboard import DashboardSettings
from kiosk.central_client import Credentials, HttpCentral, Unavailable

TARGET_RATIO = 0.8
# (start, end on the monotonic clock, "quiet" or "flood")
Window = tuple[float, float, str]


def _uploader(credentials: Credentials, seed: bytes, batch: int, windows: list[Window], out: Any) -> None:
    """Uploads back to back from the first window's start to the last one's end; the latency of each answer,
    by the window it ended in (answers outside every window are not counted)."""
    client = HttpCentral(credentials, seed)
    latencies: dict[str, list[float]] = {"quiet": [], "flood": []}
    busy = 0
    while time.monotonic() < windows[0][0]:
        time.sleep(0.01)
    while time.monotonic() < windows[-1][1]:
        now = datetime.now(UTC)
        items = [
            {
                "id": str(uuid.uuid4()),
                "service_id": "residence-permit",
                "submitted_at": now.isoformat(),
                "local_day": now.date().isoformat(),
                "fields": {"copies": 1, "district": "东城区"},
            }
            for _ in range(batch)
        ]
        sent = time.monotonic()
        try:
            client.upload("submission", items)
        except Unavailable:
            busy += 1
            continue
        done = time.monotonic()
        for start, end, label in windows:
            if start <= done < end:
                latencies[label].append(done - sent)
    out.put((latencies, busy))


def _flood(url: str, threads: int, windows: list[Window], out: Any) -> None:
    answers: Counter[str] = Counter()
    lock = threading.Lock()
    flooding = [(start, end) for start, end, label in windows if label == "flood"]

    def one() -> None:
        session = requests.Session()
        n = 0
        for start, end in flooding:
            while time.monotonic() < start:
                time.sleep(0.01)
            while time.monotonic() < end:
                n += 1
                address = f"10.{n % 250}.{uuid.uuid4().int % 250}.{threading.get_ident() % 250}"
                try:
                    status = session.get(
                        url + "/dashboard",
                        auth=(f"guess-{uuid.uuid4().hex[:10]}", "wrong password"),
                        headers={"X-Forwarded-For": address},
                        timeout=60,
                    ).status_code
                    key = str(status)
                except requests.RequestException as err:
                    key = type(err).__name__
                with lock:
                    answers[key] += 1

    workers = [threading.Thread(target=one) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    out.put(dict(answers))


@contextmanager
def _database(backend: str, folder: Path) -> Any:
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'central.sqlite3'}"
    else:
        with postgres() as url:
            yield url


def run(backend: str, seconds: float, rounds: int, flood_threads: int, batch: int) -> dict[str, Any]:
    ctx = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory() as tmp, _database(backend, Path(tmp)) as database_url:
        folder = Path(tmp)
        # Loopback is the proxy: each flood request's X-Forwarded-For is another client to the limits.
        env = {"KIOSK_CENTRAL_FORWARDED_ALLOW_IPS": "127.0.0.1"}
        with central_server(database_url, folder / "keys", workers=1, extra_env=env) as url:
            [(credentials, seed)] = enrol_devices(url, database_url, folder / "keys", folder, 1)
            # Both processes started and connected 3 s from now; after each flood, the sign-ins still waiting
            # for a check (one per flood thread, at the server's pace) drain unmeasured.
            settle = flood_threads * DashboardSettings().check_interval_s + 1
            at = time.monotonic() + 3
            windows: list[Window] = []
            # Quiet-flood, then flood-quiet, and so on: a drift of the machine's load over the run
            # weighs on both alike.
            for k in range(rounds):
                for label in ("quiet", "flood") if k % 2 == 0 else ("flood", "quiet"):
                    windows.append((at, at + seconds, label))
                    at += seconds + (settle if label == "flood" else 0)
            out = ctx.Queue()
            uploader = ctx.Process(target=_uploader, args=(credentials, seed, batch, windows, out))
            flood = ctx.Process(target=_flood, args=(url, flood_threads, windows, out))
            uploader.start()
            flood.start()
            timeout = at - time.monotonic() + 180
            results = [out.get(timeout=timeout) for _ in range(2)]
            uploader.join()
            flood.join()
    (latencies, busy), flood_answers = sorted(results, key=lambda r: isinstance(r, dict))
    total = seconds * rounds
    rate = {label: len(values) / total for label, values in latencies.items()}
    p50 = {label: round(statistics.median(v) * 1000, 1) if v else None for label, v in latencies.items()}
    ratio = rate["flood"] / rate["quiet"]
    return {
        "backend": backend,
        "seconds_per_phase": seconds,
        "rounds": rounds,
        "batch": batch,
        "flood_threads": flood_threads,
        "uploads_per_s": {label: round(value, 1) for label, value in rate.items()},
        "p50_ms": p50,
        "flood_ratio": round(ratio, 3),
        "busy_answers": busy,
        "sign_in_answers": flood_answers,
        "target_met": ratio >= TARGET_RATIO,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=6.0, help="length of each phase (default 6)")
    parser.add_argument("--rounds", type=int, default=4, help="quiet/flood rounds (default 4)")
    parser.add_argument("--flood", type=int, default=32, help="sign-in threads (default 32)")
    parser.add_argument("--batch", type=int, default=10, help="submissions per upload (default 10)")
    parser.add_argument(
        "--backends", nargs="+", default=["sqlite", "postgresql"], choices=["sqlite", "postgresql"]
    )
    parser.add_argument("--out", type=Path, default=Path("bench/out/signin_flood.json"))
    args = parser.parse_args()
    rows = []
    for backend in args.backends:
        row = run(backend, args.seconds, args.rounds, args.flood, args.batch)
        rows.append(row)
        rate, p50 = row["uploads_per_s"], row["p50_ms"]
        print(
            f"{backend:<10}  uploads/s quiet {rate['quiet']:>6}  flood {rate['flood']:>6}  "
            f"|  p50 ms quiet {p50['quiet']}  flood {p50['flood']}"
            f"  |  flood/quiet {row['flood_ratio']:.0%} (target ≥ {TARGET_RATIO:.0%})"
            f"  |  sign-in answers {row['sign_in_answers']}",
            flush=True,
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {"machine": platform.platform(), "cpus": multiprocessing.cpu_count(), "rows": rows}, indent=2
        )
    )
    return 0 if all(row["target_met"] for row in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
