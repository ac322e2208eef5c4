"""Talking to the central API: credentials, signed requests, and the errors the sync engine acts on.

The engine (and the appointment form, for slots and bookings) sees only :class:`CentralApi`;
:class:`HttpCentral` is the real one (requests); the tests have an in-memory one (``tests/fakes.py``). Every
failure is one of three kinds, because the engine does one of three things: :class:`Unavailable` → retry
later (backoff, Retry-After); :class:`Refused` → the request itself is wrong (split the batch, quarantine a
lone item); :class:`Unauthorised` → stop and tell the admin (the device was revoked or never enrolled).
"""

from __future__ import annotations

import email.utils
import json
import logging
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import MISSING, asdict, dataclass, field, fields
from datetime import date
from pathlib import Path
from typing import Any, Protocol

import requests
import urllib3

from kiosk.fileio import FileProblem, parse_json, read_json, write_atomically
from kiosk.http_deadline import deadline, deadline_session
from kiosk.keystore import PERSON_KEY_FILE, load_secret, save_secret
from protocol.decisions import WireDecision, decision_query, item_decisions, query_answer
from protocol.items import (
    Answer,
    BookingStatus,
    InspectionItem,
    ItemKind,
    ProtocolError,
    Slot,
    SubmissionItem,
    booking_status,
    item_answers,
)
from protocol.sealing import b64d, b64e, request_message, sign, signing_public_key

log = logging.getLogger(__name__)

CREDENTIALS_FILE = "central.json"
DEVICE_KEY_FILE = "central-device.key"
# central.json is a few hundred bytes.
MAX_CREDENTIALS_BYTES = 64 * 1024
PERSON_KEY_BYTES = 32
TIMEOUT = (5.0, 30.0)  # connect, read: a dead link fails fast, a slow one still gets a big batch through
# The whole request, answer included: the read timeout alone lets a server that sends a byte every few seconds
# hold a sync pass for as long as it likes.
DEADLINE_S = 120.0
# The largest answer taken: a bundle (kiosk.bundle.MAX_BUNDLE_BYTES) with room to spare.
MAX_ANSWER_BYTES = 32 * 1024 * 1024

Answers = dict[str, Answer]


class BatchAnswers(dict[str, Answer]):
    """An upload's answers ``{item id: (status, reason)}``, and the decisions the server made on arrival
    (or had made, for a duplicate) of the submissions among them, by item id."""

    def __init__(self, answers: Answers, decisions: dict[str, WireDecision] | None = None) -> None:
        super().__init__(answers)
        self.decisions: dict[str, WireDecision] = decisions or {}


Items = Sequence[InspectionItem | SubmissionItem]


class CentralError(Exception):
    pass


class Unavailable(CentralError):
    """Network down, server error, overload or throttling: try again later (no sooner than retry_after)."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RequestRefused(Unavailable):
    """Something refused the request as a whole, not an item in it: 413 (from the server or anything on the
    way), the API path not found, an answer that is not the API's (a portal's HTML page). Nothing is wrong
    with the items, so none is quarantined: back off and try again later."""


class TooLarge(RequestRefused):
    """HTTP 413: smaller requests may pass; a single item that is still too large waits (never quarantined:
    the limit is the middlebox's, not a verdict on the item)."""


class ServerFailed(Unavailable):
    """HTTP 500: the server failed on this request. Often the server is down, but it may be one item the
    server cannot store (NaN in its JSON on PostgreSQL): the sync engine tells the two apart by splitting."""


class Refused(CentralError):
    """The API refused the request as invalid (a 4xx with the API's JSON, other than auth and throttling)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class Unauthorised(CentralError):
    """The device is not (or no longer) allowed to talk to the server."""


class Conflict(Refused):
    """A booking the server's state forbids (HTTP 409: the slot is full, or the booking id is another
    booking's): asking again will not help, choosing another slot may."""


@dataclass(frozen=True)
class Credentials:
    url: str
    device_id: str
    token: str
    site: str
    bundle_signing_key: str
    seal_key: str
    # The server's person hash key (base64), None from a server too old to send one. Kept out of repr so
    # that logging credentials never shows it; stored apart in PERSON_KEY_FILE, where the checkpoint reads it.
    person_hash_key: str | None = field(default=None, repr=False)


def credentials_path(secrets_dir: Path) -> Path:
    return secrets_dir / CREDENTIALS_FILE


def load_credentials(secrets_dir: Path) -> Credentials | None:
    """The enrolment, or None before there is one; a damaged file is a :class:`FileProblem` naming it."""
    path = credentials_path(secrets_dir)
    try:
        data = read_json(path, MAX_CREDENTIALS_BYTES, max_depth=2)
    except FileNotFoundError:
        return None
    stored = [f.name for f in fields(Credentials) if f.name != "person_hash_key"]
    required = [f.name for f in fields(Credentials) if f.default is MISSING]
    if (
        not isinstance(data, dict)
        or any(name not in data for name in required)
        or set(data) - set(stored)
        or not all(isinstance(value, str) for value in data.values())
    ):
        raise FileProblem(str(path), f"not a kiosk enrolment (needs the text fields {', '.join(required)})")
    person_key = load_secret(secrets_dir / PERSON_KEY_FILE)
    return Credentials(**data, person_hash_key=b64e(person_key) if person_key else None)


def save_credentials(secrets_dir: Path, credentials: Credentials) -> None:
    """Written owner-only and atomically: a crash leaves the old file or the new one, never half of one."""
    secrets_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = credentials_path(secrets_dir)
    stored = asdict(credentials)
    person_key = stored.pop("person_hash_key")
    write_atomically(path, json.dumps(stored, indent=2).encode("utf-8"), mode=0o600)
    # After the credentials: a crash in between leaves an enrolment without the key, which hashes with the
    # local key as an enrolment with an older server does, never a key without an enrolment.
    if person_key is None:
        # Re-enrolled with a server that sends no key: a key left from an earlier server must not stay in use.
        (secrets_dir / PERSON_KEY_FILE).unlink(missing_ok=True)
    else:
        save_secret(secrets_dir / PERSON_KEY_FILE, b64d(person_key))


def parse_retry_after(value: str | None, now: Callable[[], float] = time.time) -> float | None:
    """Retry-After is either seconds or an HTTP date."""
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now())


class DeviceAuth(requests.auth.AuthBase):
    """Adds the bearer token and signs the prepared request (the exact bytes that go on the wire)."""

    def __init__(self, token: str, device_seed: bytes) -> None:
        self.token = token
        self.seed = device_seed

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode("utf-8")
        timestamp = str(int(time.time()))
        nonce = secrets.token_hex(16)
        path = request.path_url
        request.headers["Authorization"] = f"Bearer {self.token}"
        request.headers["X-Kiosk-Timestamp"] = timestamp
        request.headers["X-Kiosk-Nonce"] = nonce
        message = request_message(request.method or "GET", path, timestamp, nonce, body)
        request.headers["X-Kiosk-Signature"] = b64e(sign(self.seed, message))
        return request


class CentralApi(Protocol):
    def upload(self, kind: ItemKind, items: Items) -> Answers: ...

    def fetch_bundle(self, etag: str | None) -> bytes | None: ...

    def heartbeat(self, status: dict[str, Any]) -> None: ...

    def query_decisions(self, ids: Sequence[str]) -> list[WireDecision]:
        """The decisions the server has of these submissions of this site (1 to 200 ids); the others are
        simply not in the answer."""
        ...

    def hurried(self, within_s: float) -> CentralApi:
        """The same server, for requests that give up after ``within_s`` in all (the done page's wait)."""
        ...

    def slots(self, service_id: str, day: date) -> list[Slot]:
        """The service's appointment slots at the device's site starting on ``day`` (a UTC day)."""
        ...

    def book(self, *, slot_id: str, booking_id: str, reference: str) -> BookingStatus:
        """Take a place: "booked", or "duplicate" when ``booking_id`` already holds it (a retry)."""
        ...


def _json(response: requests.Response, what: str) -> Any:
    """The answer's JSON, within the depth cap every file and answer the kiosk reads gets."""
    return parse_json(response.content, what)


def _from_api(response: requests.Response) -> bool:
    """An answer in the API's shape (JSON with a ``detail``), not a proxy's or a portal's page."""
    try:
        answer = _json(response, "answer")
    except ValueError:
        return False
    return isinstance(answer, dict) and "detail" in answer


def _detail(response: requests.Response) -> str:
    try:
        detail = _json(response, "answer").get("detail")
    except (ValueError, AttributeError):
        detail = None
    text = detail if isinstance(detail, str) else json.dumps(detail, ensure_ascii=False) if detail else ""
    return f"HTTP {response.status_code}: {text or response.reason}"[:500]


def _read_answer(response: requests.Response, until: float, late: str) -> None:
    """Read the body into ``response`` (so ``.content`` works) in pieces, giving up at ``until`` (saying
    ``late``) or past MAX_ANSWER_BYTES; the deadline's watchdog ends a piece that waits past it."""
    body = bytearray()
    while piece := response.raw.read1(65536, decode_content=True):
        body += piece
        if len(body) > MAX_ANSWER_BYTES:
            raise Unavailable(f"answer larger than {MAX_ANSWER_BYTES} bytes")
        if time.monotonic() > until:
            raise Unavailable(late)
    response._content = bytes(body)  # what requests itself does after reading a body


class HttpCentral:
    def __init__(
        self,
        credentials: Credentials,
        device_seed: bytes,
        timeout: tuple[float, float] = TIMEOUT,
        session: requests.Session | None = None,
        deadline_s: float = DEADLINE_S,
    ) -> None:
        self.credentials = credentials
        self.device_seed = device_seed
        self.base = credentials.url.rstrip("/")
        self.timeout = timeout
        self.deadline_s = deadline_s
        self.session = deadline_session(session)
        self.session.auth = DeviceAuth(credentials.token, device_seed)

    def _request(
        self, method: str, path: str, conflict_is_final: bool = False, **kwargs: Any
    ) -> requests.Response:
        """``conflict_is_final``: a 409 is the answer (:class:`Conflict`), not a race to retry."""
        late = f"no complete answer within {self.deadline_s:g} s"
        try:
            with deadline(self.deadline_s) as watch:
                response = self.session.request(
                    method, self.base + path, timeout=self.timeout, stream=True, **kwargs
                )
                with response:
                    _read_answer(response, time.monotonic() + self.deadline_s, late)
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as err:
            # urllib3's errors come through as they are when the body is read piece by piece.
            raise Unavailable(late if watch.fired else f"{type(err).__name__}: {err}"[:500]) from None
        status = response.status_code
        if status in (401, 403):
            raise Unauthorised(_detail(response))
        if status == 409 and conflict_is_final:
            raise Conflict(_detail(response), status)
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        if status == 413:
            raise TooLarge(_detail(response), retry_after)
        if status == 500:
            raise ServerFailed(_detail(response), retry_after)
        # 408/409/425: the request was fine but raced or timed out; 429 and 5xx: come back later.
        if status in (408, 409, 425, 429) or status >= 500:
            raise Unavailable(_detail(response), retry_after)
        if status >= 400:
            if not _from_api(response):
                raise RequestRefused(f"{_detail(response)} (not an answer of the API)", retry_after)
            raise Refused(_detail(response), status)
        return response

    def upload(self, kind: ItemKind, items: Items) -> Answers:
        try:
            body = json.dumps({"items": list(items)}, ensure_ascii=False, allow_nan=False).encode("utf-8")
        except ValueError as err:
            # NaN or Infinity stored before answers were checked for them: no server can take it. Refused
            # here as the server would, so the engine finds and quarantines that item.
            raise Refused(f"not valid JSON: {err}") from None
        try:
            response = self._request(
                "POST", f"/v1/{kind}s/batch", data=body, headers={"Content-Type": "application/json"}
            )
        except Refused as err:
            if err.status in (404, 405):
                # The upload path exists on every server this kiosk talks to: a wrong address or a proxy.
                raise RequestRefused(str(err)) from None
            raise
        try:
            body = _json(response, "upload answer")
            answers = item_answers(body)
        except ValueError:  # ProtocolError included: a status this kiosk does not know is no answer
            # A 200 whose body did not arrive whole, a portal's page, or an answer outside the protocol:
            # nothing is known, nothing is marked.
            raise RequestRefused("unreadable answer to an upload") from None
        try:
            decisions = item_decisions(body)
        except ProtocolError as err:
            # The items were taken all the same: they leave the queue, and their decisions are asked
            # for again at the next pass rather than shown on a guess.
            log.warning("upload answer: decisions not readable: %s", err)
            decisions = {}
        return BatchAnswers(answers, decisions)

    def fetch_bundle(self, etag: str | None) -> bytes | None:
        headers = {"If-None-Match": f'"{etag}"'} if etag else {}
        response = self._request("GET", "/v1/bundle", headers=headers)
        return None if response.status_code == 304 else response.content

    def heartbeat(self, status: dict[str, Any]) -> None:
        self._request("POST", "/v1/heartbeat", json=status)

    def query_decisions(self, ids: Sequence[str]) -> list[WireDecision]:
        response = self._request("POST", "/v1/decisions/query", json=decision_query(ids))
        try:
            return query_answer(_json(response, "decision answer"))
        except ValueError:  # ProtocolError included: no outcome is shown on a guess
            raise RequestRefused("unreadable answer to a decision query") from None

    def hurried(self, within_s: float) -> HttpCentral:
        # A session of its own: the sync thread may be using the other one at the same time.
        return HttpCentral(self.credentials, self.device_seed, (within_s, within_s), deadline_s=within_s)

    def slots(self, service_id: str, day: date) -> list[Slot]:
        params = {"service_id": service_id, "day": day.isoformat()}
        response = self._request("GET", "/v1/slots", params=params)
        try:
            return [Slot.from_wire(item) for item in _json(response, "slots answer")]
        except (ValueError, TypeError):  # ProtocolError is a ValueError
            raise Unavailable("unreadable answer to a slots request") from None

    def book(self, *, slot_id: str, booking_id: str, reference: str) -> BookingStatus:
        body = {"id": booking_id, "slot_id": slot_id, "reference": reference}
        response = self._request("POST", "/v1/bookings", conflict_is_final=True, json=body)
        try:
            return booking_status(_json(response, "booking answer"))
        except ValueError:  # ProtocolError included
            # The booking may or may not have been made; the same id asked again says which.
            raise Unavailable("unreadable answer to a booking") from None


def enrol(url: str, code: str, device_seed: bytes, name: str, version: str) -> Credentials:
    body = {
        "code": code.strip().upper(),
        "public_key": b64e(signing_public_key(device_seed)),
        "name": name,
        "version": version,
    }
    try:
        response = requests.post(url.rstrip("/") + "/v1/enrol", json=body, timeout=TIMEOUT)
    except requests.RequestException as err:
        raise Unavailable(f"cannot reach {url}: {type(err).__name__}") from None
    if response.status_code != 201:
        raise (Unavailable if response.status_code >= 500 else Refused)(_detail(response))
    try:
        data = response.json()
    except (ValueError, RecursionError):  # RecursionError: JSON nested too deep for the parser
        raise Unavailable("unreadable enrolment answer") from None
    person_key = data.get("person_hash_key")  # absent from servers older than shared person counting
    if person_key is not None and len(_b64d_or_empty(person_key)) != PERSON_KEY_BYTES:
        raise Refused("the server's person_hash_key is not 32 bytes in base64")
    return Credentials(
        url=url.rstrip("/"),
        device_id=data["device_id"],
        token=data["token"],
        site=data["site"],
        bundle_signing_key=data["bundle_signing_key"],
        seal_key=data["seal_key"],
        person_hash_key=person_key,
    )


def _b64d_or_empty(text: object) -> bytes:
    try:
        return b64d(str(text))
    except ValueError:
        return b""
