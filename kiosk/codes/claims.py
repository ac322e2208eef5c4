"""Claim sets of the kiosk's own signed codes: what each code type holds, how it is checked and shown.

Claims arrive as JSON with plain names (``plate``, ``name``, ``occupants`` …). A code stores only what a
checkpoint needs, already masked (a name as 张*三; an ID number never, only a keyed pseudonym made by the
signer), under small integer keys so the code stays small.

Versioning, so that a later kiosk does not break older checkpoints: every code carries its type's claims
version. A newer version may only *add* fields under new keys; a reader ignores keys it does not know and
requires only the fields of the version it knows. A change that cannot follow this rule gets a new type id.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from kiosk.idnumber import IdNumberError, parse_id_number
from kiosk.masking import mask_name


class ClaimsError(ValueError):
    """Issuing input that cannot become a code; the message names the field."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"claim {field!r}: {problem}")
        self.field = field


# Payload keys. 4–7 are the CWT claim keys of RFC 8392 (exp, nbf, iat, cti); negative keys are this format's.
EXP, NBF, IAT, CTI = 4, 5, 6, 7
TYPE, VERSION, BODY, SUBJECT = -1, -2, -3, -4
CODE_ID_BYTES = 8
SUBJECT_BYTES = 8

COLOURS = ("green", "yellow", "red")
# Province character, issuing-office letter, 4–6 serial characters, an optional suffix (挂, 学, 警 …).
_PLATE = re.compile(r"^[\u4e00-\u9fff][A-Z][A-Z0-9]{4,6}[\u4e00-\u9fff]?$")


@dataclass(frozen=True)
class Codec:
    """How one field goes from JSON input to the stored value, and from a stored value to display text."""

    parse: Callable[[Any], Any]
    valid: Callable[[Any], bool]
    show: Callable[[Any, tzinfo | None], str]


def _text(max_len: int) -> Codec:
    def parse(value: Any) -> str:
        if not isinstance(value, str) or not value.strip():
            raise ValueError("must be non-empty text")
        text = value.strip()
        if len(text) > max_len:
            raise ValueError(f"must be at most {max_len} characters")
        return text

    return Codec(parse, lambda v: isinstance(v, str) and 0 < len(v) <= max_len, lambda v, tz: v)


def _parse_name(value: Any) -> str:
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > 64:
        raise ValueError("must be a name of 1 to 64 characters")
    return mask_name(value)


def _parse_plate(value: Any) -> str:
    plate = value.replace(" ", "").upper() if isinstance(value, str) else ""
    if not _PLATE.match(plate):
        raise ValueError("must be a licence plate such as 京A12345")
    return plate


def _count(low: int, high: int) -> Codec:
    def ok(value: Any) -> bool:
        return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high

    def parse(value: Any) -> int:
        if not ok(value):
            raise ValueError(f"must be a whole number from {low} to {high}")
        return value

    return Codec(parse, ok, lambda v, tz: str(v))


def _parse_colour(value: Any) -> int:
    if value not in COLOURS:
        raise ValueError(f"must be one of {', '.join(COLOURS)}")
    return COLOURS.index(value)


def parse_moment(value: Any) -> datetime:
    """An ISO 8601 time with its UTC offset (a time without one is ambiguous across a border)."""
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise ValueError("must be an ISO 8601 time with offset, e.g. 2026-11-26T09:30:00+08:00")
    return moment


def _valid_epoch(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**40


def show_epoch(value: int, tz: tzinfo | None) -> str:
    """An epoch time in ``tz`` (None: the machine's local zone), to the minute."""
    return datetime.fromtimestamp(value, tz).isoformat(timespec="minutes")


def _parse_day(value: Any) -> str:
    try:
        return date.fromisoformat(value).isoformat() if isinstance(value, str) and len(value) == 10 else ""
    except ValueError:
        return ""


def _checked_day(value: Any) -> str:
    day = _parse_day(value)
    if not day:
        raise ValueError("must be a date YYYY-MM-DD")
    return day


def _valid_day(value: Any) -> bool:
    return bool(_parse_day(value))


NAME = Codec(_parse_name, lambda v: isinstance(v, str) and 0 < len(v) <= 64, lambda v, tz: v)
PLATE = Codec(_parse_plate, lambda v: isinstance(v, str) and bool(_PLATE.match(v)), lambda v, tz: v)
COLOUR = Codec(_parse_colour, lambda v: v in range(len(COLOURS)), lambda v, tz: COLOURS[v])
MOMENT = Codec(lambda v: int(parse_moment(v).timestamp()), _valid_epoch, show_epoch)
DAY = Codec(_checked_day, _valid_day, lambda v, tz: v)
PLACE = _text(32)


def _parse_approved(value: Any) -> str:
    # Only an approval is worth a code a checkpoint shows green; a rejection is told, not carried.
    if value != "approved":
        raise ValueError('must be "approved"')
    return value


APPROVED = Codec(_parse_approved, lambda v: v == "approved", lambda v, tz: v)


@dataclass(frozen=True)
class Field:
    name: str  # the JSON / display name
    key: int  # the key inside the code's body
    codec: Codec


Validity = Callable[[dict[str, Any], datetime], tuple[datetime, datetime | None]]


@dataclass(frozen=True)
class CodeType:
    kind: str
    type_id: int
    version: int  # the claims version this kiosk writes and fully understands
    fields: tuple[Field, ...]
    # Codes only the central issuer may sign (health status, forest permits) are not the device's to make.
    device_may_sign: bool
    # (valid_from, valid_until) when the input does not give them; ``None``: valid_until must be given.
    default_validity: Validity


def _for_days(days: int) -> Validity:
    return lambda claims, now: (now, now + timedelta(days=days))


def _the_day(claims: dict[str, Any], now: datetime) -> tuple[datetime, datetime | None]:
    day = date.fromisoformat(claims["date"])
    start = datetime.combine(day, time(0), now.tzinfo)
    return start, start + timedelta(days=1)


def _until_end_of_day_of_time(claims: dict[str, Any], now: datetime) -> tuple[datetime, datetime | None]:
    moment = datetime.fromtimestamp(claims["time"], now.tzinfo)
    return now, datetime.combine(moment.date() + timedelta(days=1), time(0), now.tzinfo)


_SERVICE_FIELDS = (
    Field("number", 1, _text(16)),
    Field("service", 2, _text(32)),
    Field("time", 3, MOMENT),
)

CODE_TYPES: dict[str, CodeType] = {
    t.kind: t
    for t in (
        CodeType(
            "vehicle-pass",
            1,
            1,
            (
                Field("plate", 1, PLATE),
                Field("name", 2, NAME),
                Field("occupants", 3, _count(1, 99)),
                Field("origin", 4, PLACE),
                Field("destination", 5, PLACE),
            ),
            True,
            lambda claims, now: (now, None),  # valid_until is required: a pass is for a stated period
        ),
        CodeType("health", 2, 1, (Field("colour", 1, COLOUR), Field("name", 2, NAME)), False, _for_days(1)),
        CodeType(
            "forest-entry",
            3,
            1,
            (Field("name", 1, NAME), Field("area", 2, PLACE), Field("date", 3, DAY)),
            False,
            _the_day,
        ),
        CodeType("appointment", 4, 1, _SERVICE_FIELDS, True, _until_end_of_day_of_time),
        CodeType("queue-ticket", 5, 1, _SERVICE_FIELDS, True, _until_end_of_day_of_time),
        # Proof that a self-service submission was made (its number, service, time), for the services whose
        # own code only the central issuer may sign (health, forest entry): a kiosk cannot sign those, so
        # offline its receipt carries this instead, and a checkpoint shows it yellow (not a pass).
        CodeType("receipt", 6, 1, _SERVICE_FIELDS, True, _for_days(1)),
        # 智慧批: the central server decided a submission and approved it (its number, the service, the day
        # of the decision). Only the server signs one, after its rules or a manager approved; a year long,
        # as the approval it proves stands until a person revokes the code.
        CodeType(
            "decision",
            7,
            1,
            (
                Field("number", 1, _text(16)),
                Field("service", 2, _text(32)),
                Field("outcome", 3, APPROVED),
                Field("date", 4, DAY),
            ),
            False,
            _for_days(366),
        ),
    )
}
TYPES_BY_ID = {t.type_id: t for t in CODE_TYPES.values()}
DEVICE_TYPES = tuple(kind for kind, t in CODE_TYPES.items() if t.device_may_sign)
VALIDITY_FIELDS = ("valid_from", "valid_until")
ID_FIELD = "id_number"  # accepted on input for the pseudonymous subject; never stored


@dataclass(frozen=True)
class ParsedClaims:
    code_type: CodeType
    body: dict[int, Any]
    valid_from: datetime
    valid_until: datetime
    id_number: str | None


def parse_claims(kind: str, claims: Mapping[str, Any], now: datetime) -> ParsedClaims:
    """Check issuing input field by field; unknown fields are refused (a typo must not drop a claim)."""
    code_type = CODE_TYPES.get(kind)
    if code_type is None:
        raise ClaimsError("type", f"unknown code type {kind!r}; choose one of {', '.join(CODE_TYPES)}")
    if not isinstance(claims, Mapping):
        raise ClaimsError("claims", "must be a JSON object")
    known = {f.name for f in code_type.fields} | set(VALIDITY_FIELDS) | {ID_FIELD}
    unknown = sorted(set(claims) - known)
    if unknown:
        raise ClaimsError(unknown[0], f"not a field of {kind} codes (fields: {', '.join(sorted(known))})")
    body: dict[int, Any] = {}
    parsed: dict[str, Any] = {}
    for fld in code_type.fields:
        if fld.name not in claims:
            raise ClaimsError(fld.name, "is required")
        try:
            body[fld.key] = parsed[fld.name] = fld.codec.parse(claims[fld.name])
        except ValueError as err:
            raise ClaimsError(fld.name, str(err)) from None
    valid_from, valid_until = code_type.default_validity(parsed, now)
    if "valid_from" in claims:
        valid_from = _moment_field("valid_from", claims["valid_from"])
    if "valid_until" in claims:
        valid_until = _moment_field("valid_until", claims["valid_until"])
    if valid_until is None:
        raise ClaimsError("valid_until", "is required")
    if valid_until <= valid_from:
        raise ClaimsError("valid_until", "must be later than valid_from")
    id_number = None
    if ID_FIELD in claims:
        raw = claims[ID_FIELD]
        try:
            id_number = parse_id_number(raw if isinstance(raw, str) else "", today=now.date()).value
        except IdNumberError as err:
            raise ClaimsError(ID_FIELD, str(err)) from None
    return ParsedClaims(code_type, body, valid_from, valid_until, id_number)


def _moment_field(name: str, value: Any) -> datetime:
    try:
        return parse_moment(value)
    except ValueError as err:
        raise ClaimsError(name, str(err)) from None


def display_body(
    code_type: CodeType, body: Mapping[Any, Any], tz: tzinfo | None = UTC
) -> dict[str, str] | None:
    """Display texts of a verified body, or ``None`` when a field this version requires is missing or bad."""
    shown: dict[str, str] = {}
    for fld in code_type.fields:
        value = body.get(fld.key)
        if not fld.codec.valid(value):
            return None
        shown[fld.name] = fld.codec.show(value, tz)
    return shown
