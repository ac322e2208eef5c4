"""智慧批 decisions on the wire: what the server says it decided about a submission, both sides' types.

A decision object travels in two places: as the optional ``decision`` of a submission's result in the batch
answer (``POST /v1/submissions/batch``, on ``accepted`` and on ``duplicate``), and in the answer of
``POST /v1/decisions/query``. :func:`parse_decision` is the one reader: anything that is not exactly a
decision object is a :class:`~protocol.items.ProtocolError`, so a kiosk never shows an outcome on a guess.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Literal, TypedDict, cast, get_args

from protocol.items import ProtocolError

Outcome = Literal["approved", "rejected", "manual"]  # manual: waiting for a person
DecidedBy = Literal["rules", "manager"]

OUTCOMES: tuple[Outcome, ...] = get_args(Outcome)
DECIDERS: tuple[DecidedBy, ...] = get_args(DecidedBy)
MAX_QUERY_IDS = 200
MAX_REASONS = 20
MAX_REASON_CHARS = 500
MAX_CODE_CHARS = 2000

# "zh-CN" is not a Python name, hence the functional form.
Reason = TypedDict("Reason", {"zh-CN": str, "en": str})


class WireDecision(TypedDict):
    submission_id: str
    service_id: str
    outcome: Outcome
    reasons: list[Reason]  # non-empty only for rejected
    decided_at: str  # ISO 8601 UTC, e.g. 2026-12-07T08:00:00Z
    decided_by: DecidedBy
    code: str | None  # the signed decision code, only when approved


DECISION_FIELDS: tuple[str, ...] = tuple(WireDecision.__annotations__)


def wire_time(moment: datetime) -> str:
    """``decided_at`` as the wire writes it: UTC, whole seconds, ``Z``."""
    if moment.tzinfo is None:
        raise ValueError("decision times must be aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _text(value: Any, name: str, limit: int) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise ProtocolError(f"decision {name}: must be text of 1 to {limit} characters")
    return value


def _reasons(value: Any) -> list[Reason]:
    if not isinstance(value, list) or len(value) > MAX_REASONS:
        raise ProtocolError(f"decision reasons: must be a list of at most {MAX_REASONS}")
    reasons: list[Reason] = []
    for reason in value:
        if not isinstance(reason, dict) or set(reason) != {"zh-CN", "en"}:
            raise ProtocolError('decision reasons: each must be {"zh-CN": …, "en": …}')
        reasons.append(
            {
                "zh-CN": _text(reason["zh-CN"], "reason", MAX_REASON_CHARS),
                "en": _text(reason["en"], "reason", MAX_REASON_CHARS),
            }
        )
    return reasons


def parse_decision(value: Any) -> WireDecision:
    """A decision object exactly as the contract has it; raises :class:`ProtocolError` for anything else
    (a missing or extra field, an unknown outcome, reasons on an approval, a code without one …)."""
    if not isinstance(value, dict):
        raise ProtocolError("decision: must be an object")
    if set(value) != set(DECISION_FIELDS):
        raise ProtocolError(f"decision: must hold exactly {', '.join(DECISION_FIELDS)}")
    outcome, decided_by, code = value["outcome"], value["decided_by"], value["code"]
    if outcome not in OUTCOMES:
        raise ProtocolError(f"decision outcome: unknown {str(outcome)[:40]!r}")
    if decided_by not in DECIDERS:
        raise ProtocolError(f"decision decided_by: unknown {str(decided_by)[:40]!r}")
    reasons = _reasons(value["reasons"])
    if bool(reasons) != (outcome == "rejected"):
        raise ProtocolError("decision reasons: given for a rejection, and only for one")
    if code is not None:
        code = _text(code, "code", MAX_CODE_CHARS)
    if (code is not None) != (outcome == "approved"):
        raise ProtocolError("decision code: given for an approval, and only for one")
    decided_at = _text(value["decided_at"], "decided_at", 40)
    try:
        moment = datetime.fromisoformat(decided_at)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise ProtocolError("decision decided_at: must be an ISO 8601 time with offset")
    return {
        "submission_id": _text(value["submission_id"], "submission_id", 64),
        "service_id": _text(value["service_id"], "service_id", 64),
        "outcome": cast(Outcome, outcome),
        "reasons": reasons,
        "decided_at": decided_at,
        "decided_by": cast(DecidedBy, decided_by),
        "code": code,
    }


def item_decisions(body: Any) -> dict[str, WireDecision]:
    """``{item id: decision}`` of the results in a batch answer that carry one (read beside
    :func:`protocol.items.item_answers`, which reads their statuses)."""
    try:
        results = body["results"]
        return {
            str(result["id"]): parse_decision(result["decision"])
            for result in results
            if result.get("decision") is not None
        }
    except (KeyError, TypeError, AttributeError) as err:
        raise ProtocolError(f"malformed batch answer: {err}") from None


def decision_query(ids: Sequence[str]) -> dict[str, list[str]]:
    """The body of ``POST /v1/decisions/query`` for ``ids`` (1 to :data:`MAX_QUERY_IDS`)."""
    if not 1 <= len(ids) <= MAX_QUERY_IDS:
        raise ProtocolError(f"a decision query asks for 1 to {MAX_QUERY_IDS} ids, not {len(ids)}")
    return {"ids": [str(i) for i in ids]}


def query_answer(body: Any) -> list[WireDecision]:
    """The decisions in the answer of ``POST /v1/decisions/query``."""
    try:
        decisions = body["decisions"]
    except (KeyError, TypeError) as err:
        raise ProtocolError(f"malformed decision answer: {err}") from None
    if not isinstance(decisions, list):
        raise ProtocolError("malformed decision answer: decisions must be a list")
    return [parse_decision(decision) for decision in decisions]
