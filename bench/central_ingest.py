"""Server ingest benchmark: 20 simulated kiosks, each its own process with its own enrolled device, upload
submissions at once to the central API on SQLite and on PostgreSQL; and the baseline, the same kind of
upload done one request per submission (as ODK Collect sends forms), in the same run.

    python -m bench.central_ingest [--kiosks N] [--items N] [--single-items N] [--batch N]
                                   [--workers N ...] [--backends sqlite postgresql] [--out FILE]

The server runs as in production: uvicorn with ``--workers`` API processes (the API keeps no state) on
127.0.0.1; PostgreSQL is a throwaway durable cluster (fsync on) started by ``.ci/postgres.sh``, SQLite a
WAL file with synchronous=FULL. Each kiosk signs every request with its own Ed25519 key, as a kiosk does.
Figures: submissions stored per second of wall time (from the start signal to the last answer) and the
p50/p95 latency of one request. Target: ≥ 1,000 submissions/s on PostgreSQL.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.live_central import central_server, enrol_devices, postgres, row_count
from kiosk.central_client import Credentials, HttpCentral, Unavailable
from kiosk.sync import backoff_delay
from protocol.sealing import b64d, b64e, seal

TARGET_PER_S = 1000


def _items(n: int, seal_key: bytes) -> list[dict[str, Any]]:
    now = datetime.now(UTC)
    return [
        {
            "id": str(uuid.uuid4()),
            "service_id": "residence-permit",
            "submitted_at": now.isoformat(),
            "local_day": now.date().isoformat(),
            "fields": {"copies": 1 + index % 3, "purpose": "work", "district": "东城区"},
            "sealed_personal": b64e(seal(seal_key, json.dumps({"name": "张三", "n": index}).encode())),
        }
        for index in range(n)
    ]


def _kiosk(credentials: Credentials, seed: bytes, n: int, batch: int, start: Any, out: Any) -> None:
    """One kiosk process: its items are made before the start signal, then uploaded as fast as answered.

    A busy answer (503, 429) is handled as the sync engine handles it: wait (backoff with jitter, never
    sooner than Retry-After) and send the same batch again. Latency is that of each answered request."""
    try:
        items = _items(n, b64d(credentials.seal_key))
        client = HttpCentral(credentials, seed)
        latencies, retries = [], 0
        start.wait()
        begun = time.perf_counter()
        for offset in range(0, n, batch):
            chunk = items[offset : offset + batch]
            failures = 0
            while True:
                sent = time.perf_counter()
                try:
                    answers = client.upload("submission", chunk)
                    break
                except Unavailable as err:
                    failures += 1
                    retries += 1
                    time.sleep(backoff_delay(failures, base=0.5, cap=5.0, retry_after=err.retry_after))
            latencies.append(time.perf_counter() - sent)
            if sorted(status for status, _ in answers.values()) != ["accepted"] * len(chunk):
                raise RuntimeError(f"not all accepted: {answers}")
        out.put((begun, time.perf_counter(), latencies, retries))
    except Exception as err:  # the parent waits on the queue: it must hear of a failure too
        out.put(err)
        raise


def measure(url: str, devices: list[tuple[Credentials, bytes]], items: int, batch: int) -> dict[str, Any]:
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Barrier(len(devices) + 1)
    out = ctx.Queue()
    procs = [
        ctx.Process(target=_kiosk, args=(credentials, seed, items, batch, start, out))
        for credentials, seed in devices
    ]
    for proc in procs:
        proc.start()
    start.wait()
    results = [out.get(timeout=1800) for _ in procs]
    failed = [r for r in results if isinstance(r, Exception)]
    if failed:
        for proc in procs:
            proc.kill()
        raise SystemExit(f"a kiosk process failed: {failed[0]}")
    for proc in procs:
        proc.join()
        if proc.exitcode != 0:
            raise SystemExit("a kiosk process failed")
    begun = min(r[0] for r in results)
    ended = max(r[1] for r in results)
    latencies = sorted(latency for r in results for latency in r[2])
    total = items * len(devices)
    return {
        "submissions": total,
        "batch": batch,
        "requests": len(latencies),
        "seconds": round(ended - begun, 2),
        "per_s": round(total / (ended - begun)),
        "p50_ms": round(statistics.median(latencies) * 1000, 1),
        "p95_ms": round(statistics.quantiles(latencies, n=20)[-1] * 1000, 1),
        "retries": sum(r[3] for r in results),
    }


@contextmanager
def database(backend: str, folder: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'central.sqlite3'}"
    else:
        with postgres() as admin_url:
            yield admin_url


def run_backend(backend: str, args: argparse.Namespace) -> list[dict[str, Any]]:
    rows = []
    for workers in args.workers:
        with tempfile.TemporaryDirectory(prefix="kiosk-ingest-") as tmp, database(backend, Path(tmp)) as db:
            folder = Path(tmp)
            key_dir = folder / "central-keys"
            with central_server(db, key_dir, workers) as url:
                devices = enrol_devices(url, db, key_dir, folder, args.kiosks)
                for mode, items, batch in (
                    ("batched", args.items, args.batch),
                    ("one per request", args.single_items, 1),
                ):
                    before = row_count(db, "submissions")
                    row = measure(url, devices, items, batch)
                    stored = row_count(db, "submissions") - before
                    if stored != row["submissions"]:
                        raise SystemExit(f"{stored} stored of {row['submissions']}")
                    row |= {"backend": backend, "workers": workers, "mode": mode}
                    print(json.dumps(row), flush=True)
                    rows.append(row)
    return rows


def markdown(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| database | API processes | upload | submissions | requests | busy, resent | time | submissions/s "
        "| p50 | p95 |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        lines.append(
            f"| {r['backend']} | {r['workers']} | {r['mode']} (batch {r['batch']}) | {r['submissions']:,} "
            f"| {r['requests']:,} | {r['retries']:,} | {r['seconds']:.1f} s | **{r['per_s']:,}** "
            f"| {r['p50_ms']:.0f} ms | {r['p95_ms']:.0f} ms |"
        )
    lines.append("")
    for backend in dict.fromkeys(r["backend"] for r in rows):
        for workers in dict.fromkeys(r["workers"] for r in rows if r["backend"] == backend):
            pair = {r["mode"]: r for r in rows if r["backend"] == backend and r["workers"] == workers}
            ratio = pair["batched"]["per_s"] / pair["one per request"]["per_s"]
            lines.append(f"- {backend}, {workers} API process(es): batched is {ratio:.1f}× one per request")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kiosks", type=int, default=20)
    parser.add_argument("--items", type=int, default=1000, help="submissions per kiosk, batched")
    parser.add_argument(
        "--single-items", type=int, default=150, help="submissions per kiosk, one request each"
    )
    parser.add_argument("--batch", type=int, default=200, help="the kiosk's default sync_batch_size")
    parser.add_argument("--workers", type=int, nargs="+", default=[2], help="API processes")
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--out", type=Path, help="also write the figures as JSON to this file")
    args = parser.parse_args(argv)
    print(
        f"Machine: {os.cpu_count()} CPUs, {platform.system()} {platform.machine()}, "
        f"Python {platform.python_version()}; {args.kiosks} kiosk processes",
        flush=True,
    )
    rows = [row for backend in args.backends for row in run_backend(backend, args)]
    print(markdown(rows))
    if args.out:
        args.out.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    best_pg = max((r["per_s"] for r in rows if r["backend"] == "postgresql" and r["batch"] > 1), default=0)
    if "postgresql" in args.backends:
        met = best_pg >= TARGET_PER_S
        print(f"target ≥ {TARGET_PER_S:,}/s on PostgreSQL: {best_pg:,}/s, {'met' if met else 'MISSED'}")
        return 0 if met else 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
