"""What the sync benchmarks share: a central server run as in production (``kiosk-central serve``, uvicorn,
in its own processes) on 127.0.0.1, a throwaway PostgreSQL started by the CI script, enrolled devices."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from central.auth import hash_secret, new_token
from central.db import make_engine, migrate, session_factory, utcnow
from central.keys import load_keys
from central.models import Device
from kiosk.central_client import Credentials
from kiosk.keystore import load_or_create_secret
from protocol.sealing import b64e, signing_public_key
from tools.central_process import free_port

REPO_ROOT = Path(__file__).resolve().parents[1]
POSTGRES_SCRIPT = REPO_ROOT / ".ci" / "postgres.sh"


@contextmanager
def postgres() -> Iterator[str]:
    """A new durable cluster (fsync on, as in production) from the CI script; its URL, then stopped."""
    out = subprocess.run(["bash", str(POSTGRES_SCRIPT), "start"], check=True, capture_output=True, text=True)
    exports = dict(
        line.removeprefix("export ").split("=", 1) for line in out.stdout.splitlines() if "=" in line
    )
    try:
        yield exports["KIOSK_TEST_POSTGRES_URL"]
    finally:
        subprocess.run(["bash", str(POSTGRES_SCRIPT), "stop", exports["KIOSK_POSTGRES_DIR"]], check=False)


@contextmanager
def central_server(
    database_url: str, key_dir: Path, workers: int, extra_env: dict[str, str] | None = None
) -> Iterator[str]:
    """The API as ``kiosk-central serve --workers N`` runs it (uvicorn, factory mode, N processes) on a free
    loopback port; its base URL while it runs.

    uvicorn is started directly so that the per-device rate limit can be raised for every worker count: it
    guards a real server against a misbehaving kiosk, and here it would measure the limiter instead."""
    engine = make_engine(database_url)
    migrate(engine)  # once, before the workers start, as `kiosk-central serve` does
    engine.dispose()
    load_keys(key_dir)
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        "central.app:app_from_env",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--log-level",
        "warning",
        "--no-access-log",
        # As `kiosk-central serve`: forwarded headers count only from the proxies the app is told of.
        "--no-proxy-headers",
    ]
    env = (
        os.environ
        | {
            "KIOSK_CENTRAL_DATABASE": database_url,
            "KIOSK_CENTRAL_KEY_DIR": str(key_dir),
            "KIOSK_CENTRAL_DEVICE_RATE": "100000,100000",
        }
        | (extra_env or {})
    )
    proc = subprocess.Popen(cmd, env=env)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("central server did not start") from None
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def enrol_devices(
    url: str, database_url: str, key_dir: Path, folder: Path, count: int
) -> list[tuple[Credentials, bytes]]:
    """``count`` devices, each with its own Ed25519 key and token, registered as enrolment registers them.

    Written to the database directly: /v1/enrol is rate-limited per client address, and every simulated
    kiosk here comes from 127.0.0.1."""
    keys = load_keys(key_dir)
    engine = make_engine(database_url)
    devices = []
    now = utcnow()
    with session_factory(engine)() as session:
        for index in range(count):
            seed = load_or_create_secret(folder / f"device-{index}.key")
            token = new_token()
            device = Device(
                id=str(uuid.uuid4()),
                site="bench",
                name=f"bench kiosk {index}",
                public_key=signing_public_key(seed),
                token_hash=hash_secret(token),
                created_at=now,
                checkpoints=["CP-001"],
            )
            session.add(device)
            credentials = Credentials(
                url=url,
                device_id=device.id,
                token=token,
                site=device.site,
                bundle_signing_key=b64e(keys.bundle_public),
                seal_key=b64e(keys.seal_public),
            )
            devices.append((credentials, seed))
        session.commit()
    engine.dispose()
    return devices


def row_count(database_url: str, table: str) -> int:
    from sqlalchemy import text

    engine = make_engine(database_url)
    with engine.connect() as conn:
        count = int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
    engine.dispose()
    return count
