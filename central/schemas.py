"""Request and response bodies of API v1 (pydantic). Every limit here is part of the published contract."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    StringConstraints,
    ValidationError,
    model_validator,
)
from pydantic_core import ErrorDetails

from protocol.decisions import MAX_QUERY_IDS, DecidedBy
from protocol.decisions import Outcome as DecisionOutcome
from protocol.items import BookingStatus, ItemStatus
from protocol.sealing import SEAL_OVERHEAD

MAX_BATCH = 500
MAX_SEALED_BYTES = 64 * 1024

# Every string the server stores: PostgreSQL text cannot hold a NUL character (and nothing a kiosk sends
# needs one), so it is refused here rather than failing in the database.
NO_NUL = r"^[^\x00]*$"
_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")

Hex64 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
Ident = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")]
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=NO_NUL)]
Version = Annotated[str, StringConstraints(min_length=1, max_length=40, pattern=NO_NUL)]
Key = Annotated[str, StringConstraints(max_length=100, pattern=NO_NUL)]
# NaN and Infinity (also a literal too large for a float, which parses as Infinity) are not JSON numbers:
# PostgreSQL's json type refuses them, and no figure a kiosk reports is meant to be one.
Finite = Annotated[float, Field(allow_inf_nan=False)]
Scalar = Annotated[str, StringConstraints(max_length=1000, pattern=NO_NUL)] | int | Finite | bool | None


def _iso_day(value: object) -> object:
    """Only ``YYYY-MM-DD``: pydantic alone also takes a number or a digit string as a Unix time, which the
    published schema (a string of format date) does not allow. The last day of the calendar is refused too:
    a day's range runs to the next midnight, which does not exist."""
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not _ISO_DAY.match(value):
        raise ValueError("must be a date written YYYY-MM-DD")
    if value >= date.max.isoformat():
        raise ValueError("is outside the supported range")
    return value


Day = Annotated[date, BeforeValidator(_iso_day)]


def _key_rules_on_names(schema: dict[str, Any]) -> None:
    """Pydantic writes a dict whose keys have a pattern as ``patternProperties``, which leaves keys that do
    not match it free to hold anything; the published rule is that every key matches it."""
    values = schema.pop("patternProperties", None)
    if values:
        [(pattern, value_schema)] = values.items()
        schema["additionalProperties"] = value_schema
        schema.setdefault("propertyNames", {})["pattern"] = pattern


# Base64 of exactly 32 bytes.
Key32 = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$")]
# Base64 of a sealed box: starts with the magic "KS1" (base64 "S1Mx"), at least the box overhead long.
SealedB64 = Annotated[
    str,
    StringConstraints(
        pattern=r"^S1Mx(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$",
        min_length=4 * -(-SEAL_OVERHEAD // 3),
        max_length=4 * -(-MAX_SEALED_BYTES // 3),
    ),
]


class Strict(BaseModel):
    # Unknown fields are refused rather than ignored, so a client bug shows up as a 422, not as lost data.
    model_config = ConfigDict(extra="forbid")


class EnrolIn(Strict):
    code: Annotated[str, StringConstraints(pattern=r"^[0-9A-Z]{4}(-[0-9A-Z]{4}){3}$")]
    public_key: Annotated[Key32, Field(description="the device's Ed25519 public key, 32 bytes in base64")]
    name: ShortText
    version: Version


class EnrolOut(BaseModel):
    device_id: UUID
    token: str
    site: str
    bundle_signing_key: str
    seal_key: str
    person_hash_key: Annotated[
        str,
        Field(
            description="32 bytes in base64, the same for every kiosk of this server: the HMAC key of the "
            "inspections' subject_hash, so that persons are counted once across kiosks"
        ),
    ]


class InspectionIn(Strict):
    id: UUID
    at: AwareDatetime
    local_day: Day
    checkpoint_id: Ident
    source: Literal["camera", "manual", "chip"]  # chip: an ID card tapped on the reader
    kind: Ident
    code_hash: Hex64
    subject_hash: Hex64
    verdict: Literal["green", "yellow", "red"]
    reason: ShortText


class SubmissionIn(Strict):
    id: UUID
    service_id: Ident
    submitted_at: AwareDatetime
    local_day: Day
    fields: Annotated[
        dict[Key, Scalar],
        Field(max_length=100, description="non-personal form fields", json_schema_extra=_key_rules_on_names),
    ]
    sealed_personal: Annotated[
        SealedB64 | None,
        Field(description="personal fields, sealed to the central key on the kiosk (base64)"),
    ] = None


class DecisionReason(BaseModel):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)
    zh_CN: Annotated[str, Field(alias="zh-CN")]
    en: str


class DecisionOut(BaseModel):
    """What the server decided about a submission (智慧批); ``protocol.decisions`` reads it."""

    submission_id: str
    service_id: str
    outcome: Annotated[DecisionOutcome, Field(description="manual: waiting for a person")]
    reasons: Annotated[list[DecisionReason], Field(description="why it was refused; only for rejected")]
    decided_at: Annotated[str, Field(description="ISO 8601, UTC")]
    decided_by: DecidedBy
    code: Annotated[str | None, Field(description="the signed decision code (KP1:…), only for approved")]


class ItemResult(BaseModel):
    id: UUID
    status: ItemStatus
    reason: str | None = None
    decision: Annotated[
        DecisionOut | None,
        Field(
            description="a submission whose service is decided: what was decided, on accepted and duplicate"
        ),
    ] = None


class DecisionQuery(Strict):
    ids: Annotated[list[UUID], Field(min_length=1, max_length=MAX_QUERY_IDS)]


class DecisionsOut(BaseModel):
    decisions: list[DecisionOut]


def _item_refusals(data: object, err: ValidationError) -> dict[int, ItemResult] | None:
    """The items an error is confined to, each as a rejection naming its fields; None when an error is not
    confined to an item that has a usable id (the envelope, or an item the answer could not name)."""
    if not isinstance(data, dict) or not isinstance(data.get("items"), list):
        return None
    problems: dict[int, list[ErrorDetails]] = {}
    for error in err.errors():
        loc = error["loc"]
        if len(loc) < 2 or loc[0] != "items" or not isinstance(loc[1], int):
            return None
        problems.setdefault(loc[1], []).append(error)
    refusals = {}
    for index, errors in problems.items():
        item = data["items"][index]
        try:
            item_id = UUID(item["id"]) if isinstance(item, dict) and isinstance(item.get("id"), str) else None
        except ValueError:
            item_id = None
        if item_id is None or any(error["loc"][2:3] == ("id",) for error in errors):
            return None
        refusals[index] = ItemResult(id=item_id, status="rejected", reason=_reason(errors))
    return refusals


def _printable(text: str) -> str:
    return "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in text)


def _reason(errors: list[ErrorDetails]) -> str:
    """``fields.copies: Input should be a finite number``, one line per field. A union (a form field's value)
    reports a failure per member; the one that is not a mere type mismatch says what was wrong."""
    seen: dict[str, str] = {}
    mismatch = ("_type", "_parsing")
    for error in sorted(errors, key=lambda e: e["type"].endswith(mismatch)):
        # A key may hold the very character refused; the reason is shown and stored, so it is escaped.
        path = [_printable(str(part)) for part in error["loc"][2:]]
        # The member of a union that failed (``float``, ``constrained-str``) is no part of the field's name.
        if error["loc"][2:3] in {("fields",), ("health",)} and len(path) > 2:
            path = path[:2]
        seen.setdefault(".".join(path) or "item", error["msg"])
    return "; ".join(f"{field}: {message}" for field, message in seen.items())[:500]


class _Batch(Strict):
    """A batch whose items are checked one by one: an item that breaks the schema but has a usable id is
    answered ``rejected`` with the field and the reason, and the others go ahead, so one bad item cannot
    hold back a kiosk's queue. Anything else wrong (the envelope, an item without a usable id) refuses the
    whole request with 422 naming the item's index."""

    _refused: dict[int, ItemResult] = PrivateAttr(default_factory=dict)

    @model_validator(mode="wrap")
    @classmethod
    def _per_item(cls, data: Any, handler: Any) -> Any:
        try:
            return handler(data)
        except ValidationError as err:
            refusals = _item_refusals(data, err)
            if not refusals:
                raise
            kept = [item for index, item in enumerate(data["items"]) if index not in refusals]
            batch = handler(data | {"items": kept}) if kept else cls.model_construct(items=[])
            batch._refused = refusals
            return batch

    def answer(self, results: list[ItemResult]) -> list[ItemResult]:
        """``results`` for the accepted items merged with the refusals, in the order the items came."""
        merged, rest = [], iter(results)
        for index in range(len(results) + len(self._refused)):
            merged.append(self._refused[index] if index in self._refused else next(rest))
        return merged


class InspectionBatch(_Batch):
    items: Annotated[list[InspectionIn], Field(min_length=1, max_length=MAX_BATCH)]


class SubmissionBatch(_Batch):
    items: Annotated[list[SubmissionIn], Field(min_length=1, max_length=MAX_BATCH)]


class BatchOut(BaseModel):
    results: list[ItemResult]


class HeartbeatIn(Strict):
    version: Version
    queue_depth: Annotated[int, Field(ge=0, le=10**9)]
    quarantined: Annotated[int, Field(ge=0, le=10**9)] = 0
    health: Annotated[dict[Key, Scalar], Field(max_length=50, json_schema_extra=_key_rules_on_names)] = {}


class HeartbeatOut(BaseModel):
    server_time: datetime


class Bundle(BaseModel):
    version: str
    issued_at: datetime
    site: dict[str, Any]
    services: list[Any]
    trust_store: Any
    revocations: list[Any]
    seal_key: str
    signature: str


class SlotOut(BaseModel):
    id: UUID
    service_id: str
    starts_at: datetime
    ends_at: datetime
    capacity: int
    remaining: int


class BookingIn(Strict):
    id: UUID
    slot_id: UUID
    reference: Ident


class BookingOut(BaseModel):
    id: UUID
    slot_id: UUID
    status: BookingStatus


class InspectionDay(BaseModel):
    checkpoint_id: str
    day: date
    inspections: int
    persons: int
    by_verdict: dict[str, int]


class SubmissionDay(BaseModel):
    service_id: str
    day: date
    submissions: int


class Stats(BaseModel):
    inspections: list[InspectionDay]
    submissions: list[SubmissionDay]
