"""The ASGI application. Processes keep no state that matters between requests (rate-limit buckets aside),
so any number of them can serve one PostgreSQL behind a load balancer."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError, OperationalError
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from central.api_v1 import CentralState, router
from central.auth import RateLimiter
from central.dashboard import DashboardSettings, install_dashboard
from central.db import make_engine, migrate, session_factory
from central.deciding import Decider
from central.keys import load_keys
from kiosk.decisions.rules import DEFAULT_TIME_BOUND_S

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 4 * 1024 * 1024
API_VERSION = "1.0.0"


class BodyLimit:
    """Refuses bodies over the limit with 413, by the declared length and while streaming (chunked).

    The body is read whole here before the app sees it: an error raised from inside the app's own read
    would reach FastAPI's body parsing, which answers any failure there with 400."""

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
        chunks: list[bytes] = []
        seen = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                # The client went away: let the app see the disconnect as it would have.
                await self.app(scope, _replay([message]), send)
                return
            chunk = message.get("body", b"")
            seen += len(chunk)
            if seen > self.max_bytes:
                await _too_large(scope, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = {"type": "http.request", "body": b"".join(chunks), "more_body": False}
        await self.app(scope, _replay([body], then=receive), send)


def _replay(messages: list[Message], then: Receive | None = None) -> Receive:
    """A receive that hands out ``messages`` and then waits on ``then`` (for the client's disconnect)."""
    pending = list(messages)

    async def receive() -> Message:
        if pending:
            return pending.pop(0)
        return await (then or _no_receive)()

    return receive


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
    trusted_proxies: Sequence[str] = (),
    decision_time_bound_s: float = DEFAULT_TIME_BOUND_S,
) -> FastAPI:
    """``device_rate`` and ``enrol_rate``: (requests per second, burst) per device, per client address.

    ``trusted_proxies``: addresses (or networks) of the reverse proxies in front of the server. Only from
    them is X-Forwarded-For taken as the client's address; from anyone else it is ignored, or a new header
    per request would be a new client to every limit. Run uvicorn with ``proxy_headers=False`` so that it
    does not apply its own default (which trusts 127.0.0.1).

    ``decision_time_bound_s``: how long one decision's rules may run before the submission falls to a
    person."""
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
    sessions = session_factory(engine)
    keys = load_keys(key_dir)
    app.state.central = CentralState(
        sessions=sessions,
        keys=keys,
        device_limiter=RateLimiter(*device_rate),
        enrol_limiter=RateLimiter(*enrol_rate),
        decider=Decider(keys, sessions, time_bound_s=decision_time_bound_s),
    )
    app.state.engine = engine
    app.include_router(router)
    # HTML for managers, outside the API's OpenAPI document.
    install_dashboard(app, dashboard or DashboardSettings(), app.state.central.keys.bundle_seed)

    @app.exception_handler(OperationalError)
    async def _database_busy(_request: Request, exc: Exception) -> JSONResponse:
        # Locked SQLite, a PostgreSQL fail-over: temporary, so the kiosk is told to come back.
        log.warning("database unavailable: %s", exc)
        return JSONResponse(
            {"detail": "database busy, retry later"}, status_code=503, headers={"Retry-After": "2"}
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        # Where and what, without echoing the input: it may be personal, or a value JSON cannot carry
        # (NaN, Infinity) that would turn the refusal itself into a 500.
        detail = [{"type": e["type"], "loc": list(e["loc"]), "msg": e["msg"]} for e in exc.errors()]
        return JSONResponse({"detail": detail}, status_code=422)

    @app.exception_handler(IntegrityError)
    async def _conflict(_request: Request, exc: Exception) -> JSONResponse:
        # Two requests raced to write the same key; the retry sees the winner and answers properly.
        log.info("write conflict: %s", exc)
        return JSONResponse({"detail": "conflicting concurrent write, retry"}, status_code=409)

    app.add_middleware(BodyLimit, max_bytes=max_body_bytes)
    if trusted_proxies:
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=list(trusted_proxies))
    return app


def app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory`` with several worker processes (``kiosk-central serve --workers``)."""
    settings: dict[str, Any] = {}
    if "KIOSK_CENTRAL_DEVICE_RATE" in os.environ:
        rate, burst = os.environ["KIOSK_CENTRAL_DEVICE_RATE"].split(",")
        settings["device_rate"] = (float(rate), float(burst))
    settings["trusted_proxies"] = proxy_list(os.environ.get("KIOSK_CENTRAL_FORWARDED_ALLOW_IPS", ""))
    return create_app(
        os.environ["KIOSK_CENTRAL_DATABASE"],
        Path(os.environ["KIOSK_CENTRAL_KEY_DIR"]),
        dashboard=DashboardSettings.from_env(),
        **settings,
    )


def proxy_list(text: str) -> list[str]:
    """``10.0.0.1, 10.0.0.0/24`` as a list; empty for none."""
    return [part.strip() for part in text.split(",") if part.strip()]
