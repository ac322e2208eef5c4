"""Helpers for tests against a real central server on 127.0.0.1 with a real database file."""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip(
    "fastapi", reason="the central server's packages are missing: pip install -e '.[central]'"
)

import uvicorn
from fastapi import FastAPI

from central.app import create_app
from central.db import make_engine, session_factory
from central.enrolment import issue_code
from kiosk.central_client import DEVICE_KEY_FILE, Credentials, enrol, save_credentials
from kiosk.keystore import load_or_create_secret
from protocol.sealing import b64e

POSTGRES_ENV = "KIOSK_TEST_POSTGRES_URL"
BACKENDS = ("sqlite", "postgresql")
NO_POSTGRES = (
    f"POSTGRESQL NOT TESTED: {POSTGRES_ENV} is not set. `bash .ci/postgres.sh start` starts a throwaway "
    "server and prints it; .ci/run does so for CI."
)


@dataclass
class LiveServer:
    url: str
    database_url: str
    key_dir: Path
    app: FastAPI | None = None

    def new_code(
        self, site: str = "default", valid: timedelta = timedelta(hours=1), checkpoints: tuple[str, ...] = ()
    ) -> str:
        engine = make_engine(self.database_url)
        try:
            with session_factory(engine)() as session:
                return issue_code(session, site, checkpoints, valid)
        finally:
            engine.dispose()

    def enrol(
        self,
        data_dir: Path,
        site: str = "default",
        url: str | None = None,
        checkpoints: tuple[str, ...] = ("CP-001",),
    ) -> tuple[Credentials, bytes]:
        """Enrol a kiosk data folder like `kiosk enrol` does; ``url`` lets it talk through a proxy."""
        seed = load_or_create_secret(data_dir / "secrets" / DEVICE_KEY_FILE)
        credentials = enrol(
            self.url, self.new_code(site, checkpoints=checkpoints), seed, "test kiosk", "0.1.0"
        )
        if url is not None:
            credentials = Credentials(**(vars(credentials) | {"url": url}))
        save_credentials(data_dir / "secrets", credentials)
        return credentials, seed


@contextmanager
def running_server(
    tmp_path: Path, database_url: str | None = None, **app_options: Any
) -> Iterator[LiveServer]:
    """uvicorn on a free loopback port in a thread of this process."""
    database_url = database_url or f"sqlite:///{tmp_path / 'central.sqlite3'}"
    key_dir = tmp_path / "central-keys"
    app = create_app(database_url, key_dir, **app_options)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    # As `kiosk-central serve` runs it: forwarded headers are the app's business (``trusted_proxies``).
    config = uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=1, proxy_headers=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", database_url, key_dir, app)
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
        app.state.engine.dispose()


def postgres_url() -> str | None:
    return os.environ.get(POSTGRES_ENV)


@contextmanager
def backend_database(backend: str, tmp_path: Path) -> Iterator[str]:
    """A new, empty database of ``backend`` for one test: a SQLite file, or a PostgreSQL database of its
    own (created on the server named by $KIOSK_TEST_POSTGRES_URL, dropped afterwards). Skips, saying so
    loudly, when PostgreSQL is asked for and no server is configured."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'central.sqlite3'}"
        return
    admin = postgres_url()
    if not admin:
        pytest.skip(NO_POSTGRES)
    import psycopg
    from sqlalchemy.engine import make_url

    name = f"kiosk_test_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(admin).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            # FORCE: a connection a test left open must not keep the database (and the next run) alive.
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


NOW = datetime.now(UTC).replace(microsecond=0)


def inspection(**overrides: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "at": NOW.isoformat(),
        "local_day": NOW.date().isoformat(),
        "checkpoint_id": "CP-001",
        "source": "camera",
        "kind": "pass",
        "code_hash": "a" * 64,
        "subject_hash": uuid.uuid4().hex * 2,
        "verdict": "green",
        "reason": "code.valid",
    } | overrides


def submission(sealed: bytes | None = None, **overrides: Any) -> dict[str, Any]:
    item = {
        "id": str(uuid.uuid4()),
        "service_id": "residence-permit",
        "submitted_at": NOW.isoformat(),
        "local_day": NOW.date().isoformat(),
        "fields": {"copies": 2},
    }
    if sealed is not None:
        item["sealed_personal"] = b64e(sealed)
    return item | overrides
