"""Fault soak: delivery under kills, faults and one poisoned item, on loopback only, bounded in time.

    python -m bench.fault_soak [--sync-kills 200] [--server-kills 20] [--behind 300] [--rate 0.3]
                               [--seed 18] [--max-seconds 900] [--out FILE]

A central server (``kiosk-central serve``, SQLite) runs as a child process behind the fault proxy
(``tools.faultproxy``: drops, resets, lost answers, held connections, 500, 429, 413 pages, slow and dripped
answers). One kiosk data folder is enrolled through the proxy. At the start its queue holds one poisoned
inspection (the proxy answers 500 to any request carrying it, as PostgreSQL answered a NaN) and ``--behind``
inspections queued after it. A feeder process records a new inspection every 20 ms throughout; a sync
process (``SyncEngine`` passes in a loop, as the GUI's loop runs them) is SIGKILLed ``--sync-kills`` times
at random moments and restarted, and the server is SIGKILLed ``--server-kills`` times and restarted.

Then the faults stop, the kiosk drains, and the soak prints: items lost (recorded on the kiosk, not on the
server), duplicated (more than once on the server), quarantined (only the poisoned item should be), and how
long after the start the items queued behind the poisoned one were all on the server.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from kiosk.central_client import DEVICE_KEY_FILE, HttpCentral, load_credentials, save_credentials
from kiosk.config import Settings
from kiosk.core import open_core
from kiosk.keystore import load_or_create_secret, save_secret
from kiosk.sync import SyncEngine
from tools.central_process import ServerProcess

# The server side (SQLAlchemy, the central app, the proxy) is imported where the soak itself runs: the sync
# processes, started 200 times, load only what a kiosk loads, and are killed at random points of their work
# rather than mostly during start-up.

# A request's total deadline in the soak: short, so that a dripped answer costs seconds, not the minutes
# of the production default (kiosk.central_client.DEADLINE_S); the mechanism is the same.
SOAK_DEADLINE_S = 5.0
FEED_EVERY_S = 0.02
# How long each sync process lives before its SIGKILL (uniform between the two).
LIFE_S = (1.0, 4.0)


def server_ids(database_url: str) -> list[str]:
    from sqlalchemy import select

    from central.db import make_engine, session_factory
    from central.models import Inspection

    engine = make_engine(database_url)
    try:
        with session_factory(engine)() as session:
            return list(session.scalars(select(Inspection.id)))
    finally:
        engine.dispose()


def _bind_checkpoint(database_url: str, checkpoint_id: str) -> None:
    """Let the device report under the kiosk's checkpoint, on a server that binds devices to checkpoints
    (enrolment does it from the code; the soak's device is written to the database directly)."""
    from central.db import make_engine, session_factory
    from central.models import Device

    if not hasattr(Device, "checkpoints"):
        return  # a server that takes inspections under any checkpoint id
    engine = make_engine(database_url)
    try:
        with session_factory(engine)() as session:
            for device in session.query(Device):
                device.checkpoints = [checkpoint_id]
            session.commit()
    finally:
        engine.dispose()


def _client(data: Path) -> HttpCentral:
    credentials = load_credentials(data / "secrets")
    assert credentials is not None
    seed = load_or_create_secret(data / "secrets" / DEVICE_KEY_FILE)
    return HttpCentral(credentials, seed, deadline_s=SOAK_DEADLINE_S)


def sync_child(data: Path, seed: int) -> None:
    """Sync passes in a loop until killed; small and large batches, so kills land inside batches too."""
    rng = random.Random(seed)
    core = open_core(Settings(data_dir=data))
    engine = SyncEngine(core.outbox, _client(data), batch_size=rng.choice((5, 20, 200)))
    while True:
        status, _ = engine.run_once()
        if not status.online:
            time.sleep(0.2)


def feeder_child(data: Path) -> None:
    core = open_core(Settings(data_dir=data))
    n = 0
    while True:
        core.checkpoint.inspect(f"soak feeder {os.getpid()} {n}", source="manual")
        n += 1
        time.sleep(FEED_EVERY_S)


@contextmanager
def _process(*args: str) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen([sys.executable, "-m", "bench.fault_soak", *args])
    try:
        yield proc
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)


def soak(
    sync_kills: int, server_kills: int, behind: int, rate: float, seed: int, max_seconds: float
) -> dict[str, Any]:
    from bench.live_central import enrol_devices
    from central.db import make_engine, migrate
    from central.keys import load_keys
    from tools.faultproxy import FAULTS, REQUEST_FAULTS, FaultProxy

    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="kiosk-soak-") as tmp:
        folder = Path(tmp)
        database_url = f"sqlite:///{folder / 'central.sqlite3'}"
        key_dir = folder / "central-keys"
        engine = make_engine(database_url)
        migrate(engine)
        engine.dispose()
        load_keys(key_dir)
        # The per-device limit guards a real server against a misbehaving kiosk; here it would only slow
        # the retries after each kill.
        server = ServerProcess(database_url, key_dir, env={"KIOSK_CENTRAL_DEVICE_RATE": "100000,100000"})
        server.start()
        faults = (*FAULTS, *REQUEST_FAULTS)
        proxy = FaultProxy.random(server.port, rate, seed, faults, hold_s=3.0, drip_s=0.5)
        data = folder / "kiosk"
        [(credentials, device_seed)] = enrol_devices(proxy.url, database_url, key_dir, folder, 1)
        save_credentials(data / "secrets", credentials)
        save_secret(data / "secrets" / DEVICE_KEY_FILE, device_seed)
        _bind_checkpoint(database_url, Settings(data_dir=data).checkpoint_id)

        core = open_core(Settings(data_dir=data))
        core.checkpoint.inspect("soak poisoned item", source="manual")
        [poison] = [row[0] for row in core.store.query("SELECT id FROM inspections")]
        for n in range(behind):
            core.checkpoint.inspect(f"soak behind {n}", source="manual")
        queued_behind = {row[0] for row in core.store.query("SELECT id FROM inspections")} - {poison}
        core.close()
        proxy.poison = poison.encode()

        started = time.monotonic()
        behind_done: list[float] = []
        stop = threading.Event()

        def watch_behind() -> None:
            while not stop.wait(0.5):
                try:
                    if queued_behind <= set(server_ids(database_url)):
                        behind_done.append(time.monotonic() - started)
                        return
                except Exception:  # the server's database mid-write: look again
                    continue

        watcher = threading.Thread(target=watch_behind, daemon=True)
        watcher.start()
        server_every = max(1, sync_kills // max(1, server_kills))
        kills = {"sync": 0, "server": 0}
        with _process("--feeder", str(data)):
            for kill in range(sync_kills):
                if time.monotonic() - started > max_seconds:
                    break
                with _process("--sync-child", str(data), str(seed * 100_000 + kill)):
                    # Start-up takes about a second here: past it most times, then anywhere in a pass.
                    time.sleep(rng.uniform(*LIFE_S))
                kills["sync"] += 1
                if kills["server"] < server_kills and (kill + 1) % server_every == 0:
                    server.kill()
                    kills["server"] += 1
                    time.sleep(rng.uniform(0.1, 1.0))
                    server.start()
        # The feeder is killed too (mid-write at times). Now the faults stop and the kiosk drains.
        proxy.choose = lambda: None
        core = open_core(Settings(data_dir=data))
        engine_pass = SyncEngine(core.outbox, _client(data), batch_size=200)
        drain_until = time.monotonic() + 120
        while time.monotonic() < drain_until:
            status, _ = engine_pass.run_once()
            if status.online and status.pending == 0:
                break
        recorded = {row[0] for row in core.store.query("SELECT id FROM inspections")}
        held = core.outbox.quarantined()
        pending = core.outbox.counts().pending
        core.close()
        stop.set()
        watcher.join(5)
        stored = server_ids(database_url)
        server.kill()
        proxy.close()
    return {
        "sync_kills": kills["sync"],
        "server_kills": kills["server"],
        "seconds": round(time.monotonic() - started, 1),
        "recorded": len(recorded),
        "lost": len(recorded - set(stored) - {poison}),
        "duplicated": len(stored) - len(set(stored)),
        "quarantined": len(held),
        "quarantined_is_the_poisoned_item": [item.item_id for item in held] == [poison],
        "pending_after_drain": pending,
        "behind_poisoned": len(queued_behind),
        "behind_delivered_after_s": behind_done[0] if behind_done else None,
        "faults_seen": dict(proxy.seen),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sync-kills", type=int, default=200)
    parser.add_argument("--server-kills", type=int, default=20)
    parser.add_argument("--behind", type=int, default=300)
    parser.add_argument("--rate", type=float, default=0.3, help="share of requests given a fault")
    parser.add_argument("--seed", type=int, default=18)
    parser.add_argument("--max-seconds", type=float, default=900.0, help="stop killing after this long")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--sync-child", nargs=2, metavar=("DATA", "SEED"), help=argparse.SUPPRESS)
    parser.add_argument("--feeder", metavar="DATA", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sync_child:
        sync_child(Path(args.sync_child[0]), int(args.sync_child[1]))
        return 0
    if args.feeder:
        feeder_child(Path(args.feeder))
        return 0
    result = soak(args.sync_kills, args.server_kills, args.behind, args.rate, args.seed, args.max_seconds)
    print(json.dumps(result, indent=2))
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n", "utf-8")
    ok = (
        result["lost"] == 0
        and result["duplicated"] == 0
        and result["quarantined_is_the_poisoned_item"]
        and result["pending_after_drain"] == 0
        and result["behind_delivered_after_s"] is not None
    )
    print("fault soak: " + ("nothing lost or doubled; only the poisoned item held" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
