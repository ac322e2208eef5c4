"""The kiosk's record of what was decided about its submissions: the one owner of the ``decisions`` table.

A submission of a service with a decision gets a row in the transaction that stores it, holding no decision
yet (or a provisional one the kiosk worked out itself, see :func:`provisional_decision`). The central
server's decisions replace it as they arrive — in the answer to an upload, or from ``POST
/v1/decisions/query`` at a later sync pass — and a manager's later decision replaces a ``manual`` one. The
table holds nothing personal: the applicant is a keyed hash of the ID number (under a key that never leaves
this kiosk), enough for "check my application" to tell whether the card shown is the applicant's, useless
to anyone holding only the table.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from kiosk.decisions.rules import (
    DECISIONS_DIR,
    Decision,
    DecisionFileError,
    DecisionRules,
    decide,
    decision_for,
)
from kiosk.forms.receipts import ReceiptData
from kiosk.i18n import translate
from kiosk.keystore import load_or_create_secret
from kiosk.store import Store
from protocol.decisions import WireDecision

log = logging.getLogger(__name__)

KEY_FILE = "decision-lookup.key"
# Decisions are asked for while they may still change: a month and a half covers a manual review's weeks;
# after that the applicant hears by text message or at a window, not from this kiosk.
ASK_FOR = timedelta(days=45)
PROVISIONAL_BY = "kiosk"
# The digits of a submission number (MMDD and the day's sequence): enough to find it among this kiosk's.
NUMBER_DIGITS = 8
DEFAULT_IDENTITY_FIELD = "id_number"  # where the applicant's ID number is when the decision file is unusable


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class KnownDecision:
    """The last decision known of one submission; ``outcome`` None while none is known."""

    submission_id: str
    service_id: str
    number: str
    outcome: str | None
    reasons: tuple[Mapping[str, str], ...]
    decided_at: str | None
    decided_by: str | None
    code: str | None
    provisional: bool

    @property
    def final(self) -> bool:
        """Approved or rejected by the central server: nothing later will change it."""
        return self.outcome in ("approved", "rejected") and not self.provisional

    def reasons_in(self, language: str) -> list[str]:
        return [reason.get(language) or reason.get("zh-CN", "") for reason in self.reasons]


def _known(row: sqlite3.Row) -> KnownDecision:
    return KnownDecision(
        row["submission_id"],
        row["service_id"],
        row["number"],
        row["outcome"],
        tuple(json.loads(row["reasons"])),
        row["decided_at"],
        row["decided_by"],
        row["code"],
        bool(row["provisional"]),
    )


_COLUMNS = "submission_id, service_id, number, outcome, reasons, decided_at, decided_by, code, provisional"


class DecisionBook:
    def __init__(self, store: Store, key: bytes) -> None:
        self.store = store
        self._key = key

    @classmethod
    def open(cls, store: Store, secrets_dir: Path) -> DecisionBook:
        """The book with this kiosk's lookup key (made at first use; only this kiosk ever hashes with it)."""
        return cls(store, load_or_create_secret(secrets_dir / KEY_FILE))

    def id_hash(self, id_number: str) -> str:
        return hmac.new(self._key, id_number.strip().upper().encode("utf-8"), hashlib.sha256).hexdigest()

    def open_in(
        self,
        conn: sqlite3.Connection,
        *,
        submission_id: str,
        service_id: str,
        number: str,
        id_number: str,
        submitted_at: str,
        provisional: Decision | None = None,
    ) -> KnownDecision:
        """The submission's row, on the caller's open transaction (the one that stores the submission)."""
        decided = provisional is not None
        reasons = tuple(provisional.reasons) if provisional else ()
        conn.execute(
            "INSERT INTO decisions (submission_id, service_id, number, id_hash, submitted_at, outcome,"
            " reasons, decided_at, decided_by, provisional, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                submission_id,
                service_id,
                number,
                self.id_hash(id_number),
                submitted_at,
                provisional.outcome if provisional else None,
                json.dumps(list(reasons), ensure_ascii=False),
                submitted_at if decided else None,
                PROVISIONAL_BY if decided else None,
                int(decided),
                _now(),
            ),
        )
        return KnownDecision(
            submission_id,
            service_id,
            number,
            provisional.outcome if provisional else None,
            reasons,
            submitted_at if decided else None,
            PROVISIONAL_BY if decided else None,
            None,
            decided,
        )

    def record(self, decisions: Iterable[WireDecision]) -> list[str]:
        """Keep the central server's decisions; returns the ids whose decision changed. A decision for a
        submission this kiosk does not hold is ignored, and one older than the decision kept does not
        replace it (answers to two requests may cross)."""
        changed: list[str] = []
        now = _now()
        with self.store.transaction() as conn:
            for d in decisions:
                row = conn.execute(
                    "SELECT outcome, decided_at, decided_by, code, reasons, provisional FROM decisions"
                    " WHERE submission_id = ?",
                    (d["submission_id"],),
                ).fetchone()
                if row is None:
                    continue
                reasons = json.dumps(list(d["reasons"]), ensure_ascii=False)
                same = (
                    row["outcome"],
                    row["decided_at"],
                    row["decided_by"],
                    row["code"],
                    row["reasons"],
                ) == (
                    d["outcome"],
                    d["decided_at"],
                    d["decided_by"],
                    d["code"],
                    reasons,
                )
                older = not row["provisional"] and row["decided_at"] and row["decided_at"] > d["decided_at"]
                if (same and not row["provisional"]) or older:
                    continue
                conn.execute(
                    "UPDATE decisions SET outcome = ?, reasons = ?, decided_at = ?, decided_by = ?, code = ?,"
                    " provisional = 0, updated_at = ? WHERE submission_id = ?",
                    (
                        d["outcome"],
                        reasons,
                        d["decided_at"],
                        d["decided_by"],
                        d["code"],
                        now,
                        d["submission_id"],
                    ),
                )
                changed.append(d["submission_id"])
        if changed:
            log.info("decisions: %d submission(s) decided", len(changed))
        return changed

    def get(self, submission_id: str) -> KnownDecision | None:
        rows = self.store.query(f"SELECT {_COLUMNS} FROM decisions WHERE submission_id = ?", (submission_id,))
        return _known(rows[0]) if rows else None

    def find(self, number: str, id_number: str) -> KnownDecision | None:
        """The decision of submission ``number`` if ``id_number`` is its applicant's; None otherwise (no
        difference between a wrong number and a wrong card, so the screen cannot be used to probe either).

        ``number`` as printed (``CP014-1207-0001``) or only its digits (``12070001``, what a keypad types:
        the device part is this kiosk's own)."""
        key = re.sub(r"[^0-9A-Z]", "", number.upper())
        if len(key) < NUMBER_DIGITS:
            return None
        rows = self.store.query(
            f"SELECT {_COLUMNS}, id_hash FROM decisions WHERE replace(number, '-', '') = ?"
            " OR (? GLOB '[0-9]*' AND substr(replace(number, '-', ''), -?) = ?) ORDER BY submitted_at DESC",
            (key, key, len(key), key),
        )
        wanted = self.id_hash(id_number)
        for row in rows:
            if hmac.compare_digest(row["id_hash"], wanted):
                return _known(row)
        return None

    def awaiting(self, limit: int, now: datetime | None = None) -> list[str]:
        """Submissions the server has (no longer in the outbox) without a final decision here, submitted
        within ASK_FOR; those asked about longest ago first, so a long ``manual`` queue is asked about in
        turns rather than the same ``limit`` every pass."""
        since = ((now or datetime.now(UTC)) - ASK_FOR).isoformat(timespec="milliseconds")
        rows = self.store.query(
            "SELECT submission_id FROM decisions"
            " WHERE (provisional = 1 OR outcome IS NULL OR outcome = 'manual') AND submitted_at >= ?"
            " AND submission_id NOT IN (SELECT item_id FROM outbox)"
            " ORDER BY updated_at, submitted_at LIMIT ?",
            (since, limit),
        )
        return [str(row[0]) for row in rows]

    def asked(self, submission_ids: Iterable[str]) -> None:
        """Note that these were asked about (and not changed): they go to the back of the turn."""
        now = _now()
        with self.store.transaction() as conn:
            conn.executemany(
                "UPDATE decisions SET updated_at = ? WHERE submission_id = ?",
                [(now, i) for i in submission_ids],
            )


def rules_for(decision_file: str, folder: Path = DECISIONS_DIR) -> DecisionRules | None:
    """The service's decision file, or None (logged) when it cannot be used here: the submission is
    stored all the same, and the central server decides it (``manual`` if it cannot either)."""
    try:
        return decision_for(decision_file, folder)
    except DecisionFileError as err:
        log.error("decision file: %s", err)
        return None


def applicant_id(rules: DecisionRules | None, answers: Mapping[str, Any]) -> str:
    return str(answers.get(rules.identity_field if rules else DEFAULT_IDENTITY_FIELD, ""))


def provisional_decision(
    rules: DecisionRules | None, answers: Mapping[str, Any], now: datetime
) -> Decision | None:
    """The kiosk's own decision, for a decision file that needs only the answers and the identity (no data
    set): approved or rejected, labelled provisional wherever shown. None when the file needs data sets or
    the rules leave it to a person — then the kiosk says only "received"."""
    if rules is None or rules.lookups:
        return None
    decided = decide(rules, answers, {}, now)
    return decided if decided.outcome in ("approved", "rejected") else None


def status_key(known: KnownDecision | None) -> str:
    """The message key of what is known: approved, rejected, manual, or received (nothing known yet)."""
    if known is None or known.outcome is None:
        return "decision.pending"
    return f"decision.{known.outcome}"


def outcome_text(known: KnownDecision | None, language: str) -> str:
    """The outcome in words, labelled as provisional when the kiosk worked it out itself."""
    outcome = translate(status_key(known), language)
    if known is not None and known.provisional:
        return translate("decision.provisional_outcome", language, outcome=outcome)
    return outcome


def on_receipt(receipt: ReceiptData, known: KnownDecision | None) -> ReceiptData:
    """The receipt with what is known of the decision: the outcome (labelled provisional if it is), the
    reasons of a rejection, and the decision code of a central approval — never a code for a provisional
    one, which no checkpoint must take for a decision."""
    lang = receipt.language
    outcome = outcome_text(known, lang)
    code = known.code if known is not None and known.final and known.outcome == "approved" else None
    return replace(
        receipt,
        decision_label=translate("receipt.decision", lang),
        decision=outcome,
        decision_reasons=known.reasons_in(lang) if known is not None and known.outcome == "rejected" else [],
        decision_qr=code,
        decision_qr_label=translate("receipt.decision_code", lang) if code else None,
        # A decided service's instruction tells how the result will come: moot once it has come.
        instruction="" if known is not None and known.final else receipt.instruction,
    )


def receipt_number(text: str) -> str | None:
    """The submission number a receipt's QR code carries (``number`` in its claims), or None for anything
    else. Read without checking the signature or the code's day of validity: the number alone shows
    nothing — the decision is shown only for the applicant's ID number, checked against the stored hash."""
    from kiosk.codes import claims as c
    from kiosk.codes.cose import decode_sign1, strict_loads
    from kiosk.codes.envelope import unwrap
    from kiosk.codes.errors import Rejected
    from kiosk.codes.signed import PREFIX

    if not text.startswith(PREFIX):
        return None
    try:
        payload = strict_loads(decode_sign1(unwrap(text.strip(), PREFIX)).payload)
    except Rejected:
        return None
    if not isinstance(payload, Mapping):
        return None
    type_id = payload.get(c.TYPE)
    code_type = c.TYPES_BY_ID.get(type_id) if isinstance(type_id, int) else None
    body = payload.get(c.BODY)
    field = next((f for f in code_type.fields if f.name == "number"), None) if code_type else None
    value = body.get(field.key) if field is not None and isinstance(body, Mapping) else None
    return value if isinstance(value, str) and value else None
