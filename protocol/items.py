"""The items of API v1, as the kiosk builds them and reads the server's answers.

A stored row is not an item: :func:`inspection_item` and :func:`submission_item` pick the protocol's
fields by name, so a column the kiosk's store gains never travels (the server refuses unknown fields), and
a missing one is a :class:`ProtocolError` here rather than a 422 there. The server's pydantic schemas
(``central/schemas.py``) describe the same fields; ``tests/test_protocol.py`` keeps the two in step.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, TypedDict, cast, get_args

from protocol.sealing import b64e

ItemKind = Literal["inspection", "submission"]
# What the server answers for each uploaded item: taken (deleted from the outbox), already had it (the same),
# or refused for good (quarantined with the reason).
ItemStatus = Literal["accepted", "duplicate", "rejected"]
BookingStatus = Literal["booked", "duplicate"]
Answer = tuple[ItemStatus, str | None]

ITEM_KINDS: tuple[ItemKind, ...] = get_args(ItemKind)
ITEM_STATUSES: tuple[ItemStatus, ...] = get_args(ItemStatus)
BOOKING_STATUSES: tuple[BookingStatus, ...] = get_args(BookingStatus)


class ProtocolError(ValueError):
    """An item that cannot be built, or an answer that does not follow the protocol."""


class InspectionItem(TypedDict):
    id: str
    at: str
    local_day: str
    checkpoint_id: str
    source: str
    kind: str
    code_hash: str
    subject_hash: str
    verdict: str
    reason: str


class _SubmissionRequired(TypedDict):
    id: str
    service_id: str
    submitted_at: str
    local_day: str
    fields: dict[str, Any]


class SubmissionItem(_SubmissionRequired, total=False):
    sealed_personal: str  # base64 of a sealed box; absent when the form holds nothing personal


INSPECTION_FIELDS: tuple[str, ...] = tuple(InspectionItem.__annotations__)
SUBMISSION_FIELDS: tuple[str, ...] = (*_SubmissionRequired.__annotations__, "sealed_personal")


def _pick(kind: str, source: Mapping[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    missing = [name for name in names if name not in source]
    if missing:
        raise ProtocolError(f"{kind} item without {', '.join(missing)}")
    return {name: source[name] for name in names}


def inspection_item(row: Mapping[str, Any]) -> InspectionItem:
    """The upload item of an inspection, from anything that holds its fields by name (a stored row)."""
    return cast(InspectionItem, _pick("inspection", row, INSPECTION_FIELDS))


def submission_item(record: Mapping[str, Any], sealed_personal: bytes | None) -> SubmissionItem:
    """The upload item of a submission: its clear record and, apart, the personal part sealed on the kiosk."""
    item = cast(SubmissionItem, _pick("submission", record, tuple(_SubmissionRequired.__annotations__)))
    if sealed_personal is not None:
        item["sealed_personal"] = b64e(sealed_personal)
    return item


def item_answers(body: Any) -> dict[str, Answer]:
    """``{item id: (status, reason)}`` from the body of a batch upload's answer; anything else — a status
    this kiosk does not know included — is a :class:`ProtocolError`, so nothing is marked on a guess."""
    try:
        results = body["results"]
        answers: dict[str, Answer] = {}
        for result in results:
            status = result["status"]
            if status not in ITEM_STATUSES:
                raise ProtocolError(f"unknown item status {str(status)[:40]!r}")
            reason = result.get("reason")
            answers[str(result["id"])] = (status, None if reason is None else str(reason))
    except (KeyError, TypeError, AttributeError) as err:
        raise ProtocolError(f"malformed batch answer: {err}") from None
    return answers


def booking_status(body: Any) -> BookingStatus:
    try:
        status = body["status"]
    except (KeyError, TypeError) as err:
        raise ProtocolError(f"malformed booking answer: {err}") from None
    if status not in BOOKING_STATUSES:
        raise ProtocolError(f"unknown booking status {str(status)[:40]!r}")
    return cast(BookingStatus, status)


@dataclass(frozen=True)
class Slot:
    """An appointment slot as ``GET /v1/slots`` gives it, with the places left."""

    id: str
    starts_at: datetime
    ends_at: datetime
    remaining: int

    @classmethod
    def from_wire(cls, item: Any) -> Slot:
        try:
            return cls(
                str(item["id"]),
                datetime.fromisoformat(item["starts_at"]),
                datetime.fromisoformat(item["ends_at"]),
                int(item["remaining"]),
            )
        except (KeyError, TypeError, ValueError) as err:
            raise ProtocolError(f"malformed slot: {err}") from None

    def answer(self) -> dict[str, str]:
        """The slot as a form answer (and as the booking screen shows it)."""
        return {"id": self.id, "starts_at": self.starts_at.isoformat(), "ends_at": self.ends_at.isoformat()}
