"""The ASGI application. Processes keep no state that matters between requests (rate-limit buckets aside),
so any number of them can serve one PostgreSQL behind a load balancer."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError, OperationalError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from central.api_v1 import CentralState, router
from central.auth import RateLimiter
from central.dashboard import DashboardSettings, install_dashboard
from central.db import make_engine, migrate, session_factory
from central.keys import load_keys

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 4 * 1024 * 1024
API_VERSION = "1.0.0"


class BodyLimit:
    """Refuses bodies over the limit with 413, by the declared length and while streaming (chunked)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await _too_large(scope, send)
            return
        seen = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                raise _TooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not started:
                await _too_large(scope, send)


class _TooLarge(Exception):
    pass


async def _too_large(scope: Scope, send: Send) -> None:
    await JSONResponse({"detail": "request body too large"}, status_code=413)(scope, _no_receive, send)


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}


def create_app(
    database_url: str,
    key_dir: Path,
    *,
    max_body_bytes: int = MAX_BODY_BYTES,
    device_rate: tuple[float, float] = (20.0, 60.0),
    enrol_rate: tuple[float, float] = (0.2, 10.0),
    sqlite_busy_timeout_s: float = 10.0,
    dashboard: DashboardSettings | None = None,
) -> FastAPI:
    """``device_rate`` and ``enrol_rate``: (requests per second, burst) per device, per client address."""
    engine = make_engine(database_url, sqlite_busy_timeout_s)
    migrate(engine)
    app = FastAPI(
        title="Kiosk central API",
        version=API_VERSION,
        description="Enrolment, bundle, batched idempotent upload, heartbeats, appointments and statistics "
        "for self-service and checkpoint kiosks. Every device request carries a bearer token and an "
        "Ed25519 signature (X-Kiosk-Timestamp, X-Kiosk-Nonce, X-Kiosk-Signature) over METHOD, path with "
        "query, timestamp, nonce and the SHA-256 of the body, joined by newlines.",
    )
    app.state.central = CentralState(
        sessions=session_factory(engine),
        keys=load_keys(key_dir),
        device_limiter=RateLimiter(*device_rate),
        enrol_limiter=RateLimiter(*enrol_rate),
    )
    app.state.engine = engine
    app.include_router(router)
    # HTML for managers, outside the API's OpenAPI document.
    install_dashboard(app, dashboard or DashboardSettings())

    @app.exception_handler(OperationalError)
    async def _database_busy(_request: Request, exc: Exception) -> JSONResponse:
        # Locked SQLite, a PostgreSQL fail-over: temporary, so the kiosk is told to come back.
        log.warning("database unavailable: %s", exc)
        return JSONResponse(
            {"detail": "database busy, retry later"}, status_code=503, headers={"Retry-After": "2"}
        )

    @app.exception_handler(IntegrityError)
    async def _conflict(_request: Request, exc: Exception) -> JSONResponse:
        # Two requests raced to write the same key; the retry sees the winner and answers properly.
        log.info("write conflict: %s", exc)
        return JSONResponse({"detail": "conflicting concurrent write, retry"}, status_code=409)

    app.add_middleware(BodyLimit, max_bytes=max_body_bytes)
    return app


def app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory`` with several worker processes (``kiosk-central serve --workers``)."""
    settings: dict[str, Any] = {}
    if "KIOSK_CENTRAL_DEVICE_RATE" in os.environ:
        rate, burst = os.environ["KIOSK_CENTRAL_DEVICE_RATE"].split(",")
        settings["device_rate"] = (float(rate), float(burst))
    return create_app(
        os.environ["KIOSK_CENTRAL_DATABASE"],
        Path(os.environ["KIOSK_CENTRAL_KEY_DIR"]),
        dashboard=DashboardSettings.from_env(),
        **settings,
    )
