"""Confirmed submissions: checked, numbered, signed, sealed and stored with their outbox item and print job
in ONE transaction, before the person is told it is done.

The GUI and ``kiosk submit`` both call :meth:`SubmissionDesk.submit`, so a submission made from a script
is exactly one made at the screen. Nothing here needs the network, except booking an appointment slot,
which the central API must confirm before the appointment exists.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from kiosk.codes.claims import CODE_TYPES, ClaimsError, parse_claims
from kiosk.codes.keys import SigningKey, load_or_create_device_key
from kiosk.codes.signed import issue
from kiosk.config import Settings, SettingsSource, fixed
from kiosk.decisions.outcomes import (
    DecisionBook,
    applicant_id,
    on_receipt,
    provisional_decision,
    rules_for,
)
from kiosk.decisions.rules import DECISIONS_DIR
from kiosk.forms.answers import (
    AnswerError,
    display_value,
    mask_answers,
    personal_answers,
    validate_answers,
)
from kiosk.forms.definition import FieldDef, ServiceDefinition, text_in
from kiosk.forms.protect import PersonalDataLock
from kiosk.forms.receipts import ReceiptData
from kiosk.forms.slots import OfflineSlots, SlotSource
from kiosk.i18n import translate
from kiosk.outbox import enqueue
from kiosk.store import Store

Clock = Callable[[], datetime]
RECEIPT_CODE = "receipt"  # what the kiosk signs when the service's own code is the central issuer's
SERVICE_CLAIM_MAX = 32


IDENTITY_SOURCES = ("chip", "ocr", "typed")


def local_now() -> datetime:
    return datetime.now().astimezone()


@dataclass(frozen=True)
class Submission:
    id: str
    number: str
    service_id: str
    service_version: int
    at: datetime
    code: str
    code_type: str
    ticket: str | None
    print_job_id: int
    receipt: ReceiptData


def device_prefix(checkpoint_id: str) -> str:
    """The device part of a submission number: the kiosk's id without punctuation (CP-014 → CP014)."""
    return re.sub(r"[^A-Za-z0-9]", "", checkpoint_id).upper()[:6] or "K"


def _next(conn: Any, name: str) -> int:
    row = conn.execute(
        "INSERT INTO sequences (name, value) VALUES (?, 1)"
        " ON CONFLICT (name) DO UPDATE SET value = value + 1 RETURNING value",
        (name,),
    ).fetchone()
    return int(row[0])


def _value(
    definition: ServiceDefinition, source: Any, answers: Mapping[str, Any], meta: Mapping[str, Any]
) -> Any:
    """A claim or receipt value from its source in the definition (see the schema's ``source``)."""
    if isinstance(source, str):
        head, _, part = source.partition(".")
        value = answers.get(head)
        return value.get(part) if part and isinstance(value, Mapping) else value
    if "count" in source:
        return len(answers.get(source["count"], [])) + source.get("plus", 0)
    if "label" in source:
        fdef = definition.field(source["label"])
        option = fdef.option(answers.get(source["label"], ""))
        return text_in(option.label, "zh-CN")[:SERVICE_CLAIM_MAX] if option else None
    if "meta" in source:
        return meta[source["meta"]]
    return source["const"]


def _scalar_fields(fields: tuple[FieldDef, ...], answers: Mapping[str, Any]) -> dict[str, Any]:
    """Non-personal answers as the API's flat scalar ``fields`` (groups as a count, slots as a time)."""
    out: dict[str, Any] = {}
    for fdef in fields:
        if fdef.id not in answers:
            continue
        value = answers[fdef.id]
        if fdef.type == "group":
            out[f"{fdef.id}_count"] = len(value)
        elif fdef.type == "slot":
            out[fdef.id] = value["starts_at"]
        elif not fdef.personal:
            out[fdef.id] = value
    return out


class SubmissionDesk:
    def __init__(
        self,
        store: Store,
        settings: Settings | SettingsSource,
        slots: SlotSource | None = None,
        clock: Clock = local_now,
        signing_key: SigningKey | None = None,
        decisions_dir: Path = DECISIONS_DIR,
    ) -> None:
        """``settings``: fixed (one command-line run) or a source asked at each submission, so a site name
        or checkpoint ID changed in admin mode reaches the next number and receipt. ``decisions_dir``: where
        the decision files the services name are (for a provisional decision on the kiosk)."""
        self.store = store
        self._settings = fixed(settings) if isinstance(settings, Settings) else settings
        self.slots = slots or OfflineSlots()
        self.clock = clock
        start = self._settings()
        # The folder of secrets is not a live setting: it moves only with the data folder.
        self.lock = PersonalDataLock(start.secrets_dir)
        self.key = signing_key or load_or_create_device_key(start.secrets_dir)
        self.decisions = DecisionBook.open(store, start.secrets_dir)
        self.decisions_dir = decisions_dir

    @property
    def settings(self) -> Settings:
        return self._settings()

    def submit(
        self,
        definition: ServiceDefinition,
        answers: Mapping[str, Any],
        language: str,
        submission_id: str | None = None,
        identity_source: str | None = None,
    ) -> Submission:
        """Check, store and queue one submission; raises :class:`AnswerError` (nothing stored) for bad
        answers, and ``SlotsUnavailable``/``SlotTaken`` when an appointment cannot be booked.

        ``submission_id`` (a UUID; new if not given) is also the booking's id: a retry of a submission
        whose booking answer was lost passes the same one, so the place is not taken twice.

        ``identity_source`` (``chip``, ``ocr`` or ``typed``: where the ID step's fields came from) goes with
        the submission's non-personal fields, for the central side to count and audit."""
        if identity_source not in (None, *IDENTITY_SOURCES):
            raise ValueError(f"unknown identity source {identity_source!r}")
        now = self.clock()
        settings = self.settings  # one submission, one checkpoint ID, whatever admin mode does meanwhile
        checked = validate_answers(definition, answers, now.date())
        self._check_slots(definition, checked)
        submission_id = submission_id or str(uuid.uuid4())
        for fdef in definition.fields:
            if fdef.type == "slot":
                # Before anything is stored: an appointment exists only once the central API has a place.
                self.slots.book(
                    slot_id=checked[fdef.id]["id"], booking_id=submission_id, reference=submission_id
                )
        personal = personal_answers(definition.fields, checked)
        sealed = (
            self.lock.protect(json.dumps(personal, ensure_ascii=False).encode("utf-8"), submission_id)
            if personal
            else None
        )
        clear = mask_answers(definition.fields, checked)
        at = now.astimezone(UTC).isoformat(timespec="milliseconds")
        day = now.date()
        rules = rules_for(definition.decision, self.decisions_dir) if definition.decision else None
        provisional = provisional_decision(rules, checked, now) if definition.decision else None
        with self.store.transaction() as conn:
            seq = _next(conn, f"submission:{day.isoformat()}")
            # Short enough to read out and to fit a code's 16-character number; unique with its day.
            number = f"{device_prefix(settings.checkpoint_id)}-{day:%m%d}-{seq:04d}"
            ticket = None
            if definition.ticket_field is not None:
                option = definition.field(definition.ticket_field).option(checked[definition.ticket_field])
                assert option is not None and option.prefix is not None  # checked when the definition loaded
                ticket = f"{option.prefix}{_next(conn, f'ticket:{day.isoformat()}:{option.prefix}'):03d}"
            meta = {
                "number": number,
                "ticket": ticket,
                "time": now.isoformat(timespec="seconds"),
                "title": definition.title["zh-CN"][:SERVICE_CLAIM_MAX],
            }
            code_type, code, valid_until = self._issue(definition, checked, meta, now)
            conn.execute(
                "INSERT INTO submissions (id, number, service_id, service_version, device_id, at, local_day,"
                " clear, sealed_personal, code, code_type) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    submission_id,
                    number,
                    definition.id,
                    definition.version,
                    settings.checkpoint_id,
                    at,
                    day.isoformat(),
                    json.dumps(clear, ensure_ascii=False),
                    sealed,
                    code,
                    code_type,
                ),
            )
            fields = _scalar_fields(definition.fields, checked) | {
                "number": number,
                "service_version": definition.version,
                "device": settings.checkpoint_id,
            }
            if ticket:
                fields["ticket"] = ticket
            if identity_source:
                fields["identity_source"] = identity_source
            payload = {
                "id": submission_id,
                "service_id": definition.id,
                "submitted_at": at,
                "local_day": day.isoformat(),
                "fields": fields,
            }
            # Same transaction: a stored submission is always one the sync will deliver.
            enqueue(conn, kind="submission", item_id=submission_id, payload=payload, sealed_personal=sealed)
            receipt = self._receipt(definition, clear, meta, code, valid_until, language, settings.site_name)
            if definition.decision:
                known = self.decisions.open_in(
                    conn,
                    submission_id=submission_id,
                    service_id=definition.id,
                    number=number,
                    id_number=applicant_id(rules, checked),
                    submitted_at=at,
                    provisional=provisional,
                )
                receipt = on_receipt(receipt, known)
            job_id = conn.execute(
                "INSERT INTO print_jobs (submission_id, created_at, status, receipt)"
                " VALUES (?, ?, 'pending', ?)",
                (submission_id, at, receipt.to_json()),
            ).lastrowid
        return Submission(
            submission_id,
            number,
            definition.id,
            definition.version,
            now,
            code,
            code_type,
            ticket,
            int(job_id or 0),
            receipt,
        )

    def demo_receipt(self, definition: ServiceDefinition, language: str) -> ReceiptData:
        """A sample receipt from the definition's example answers; nothing is stored or booked."""
        from kiosk.forms.answers import example_answers

        now = self.clock()
        settings = self.settings
        checked = validate_answers(definition, example_answers(definition, now.date()), now.date())
        ticket = None
        if definition.ticket_field is not None:
            ticket = f"{definition.field(definition.ticket_field).options[0].prefix}000"
        meta = {
            "number": f"{device_prefix(settings.checkpoint_id)}-{now:%m%d}-0000",
            "ticket": ticket,
            "time": now.isoformat(timespec="seconds"),
            "title": definition.title["zh-CN"][:SERVICE_CLAIM_MAX],
        }
        _, code, valid_until = self._issue(definition, checked, meta, now)
        clear = mask_answers(definition.fields, checked)
        receipt = self._receipt(definition, clear, meta, code, valid_until, language, settings.site_name)
        return replace(receipt, notes=[*receipt.notes, translate("receipt.sample", language)])

    def _check_slots(self, definition: ServiceDefinition, checked: Mapping[str, Any]) -> None:
        for fdef in definition.fields:
            day_field = fdef.day_field
            if fdef.type == "slot" and fdef.id in checked and day_field is not None and day_field in checked:
                starts = datetime.fromisoformat(checked[fdef.id]["starts_at"]).astimezone()
                if starts.date().isoformat() != checked[day_field]:
                    raise AnswerError(fdef.id, "form.error.slot_day")

    def _issue(
        self,
        definition: ServiceDefinition,
        answers: Mapping[str, Any],
        meta: Mapping[str, Any],
        now: datetime,
    ) -> tuple[str, str, datetime]:
        spec = definition.code
        if CODE_TYPES[spec.type].device_may_sign:
            code_type = spec.type
            claims = {name: _value(definition, source, answers, meta) for name, source in spec.claims.items()}
            claims = {name: value for name, value in claims.items() if value is not None}
        else:
            # Only the central issuer signs health and forest codes; the kiosk signs proof of submission.
            code_type = RECEIPT_CODE
            claims = {"number": meta["number"], "service": meta["title"], "time": meta["time"]}
        if spec.valid_hours is not None:
            claims["valid_until"] = (now + timedelta(hours=spec.valid_hours)).isoformat(timespec="seconds")
        try:
            code = issue(code_type, claims, self.key, now)
        except ClaimsError as err:
            # The answers passed their own checks but not the code's (e.g. a 40-character place name).
            claim_source = spec.claims.get(err.field)
            field_id = claim_source if isinstance(claim_source, str) else err.field
            raise AnswerError(field_id.split(".")[0], "form.error.code", detail=str(err)) from None
        return code_type, code, parse_claims(code_type, claims, now).valid_until

    def _receipt(
        self,
        definition: ServiceDefinition,
        clear: Mapping[str, Any],
        meta: Mapping[str, Any],
        code: str,
        valid_until: datetime,
        language: str,
        site_name: str,
    ) -> ReceiptData:
        lines = []
        for field_id in definition.receipt.fields:
            fdef = definition.field(field_id)
            if field_id in clear:
                lines.append((text_in(fdef.label, language), display_value(fdef, clear[field_id], language)))
        big = definition.receipt.big
        notes = []
        if not CODE_TYPES[definition.code.type].device_may_sign:
            notes.append(
                translate(
                    "receipt.central_code", language, kind=translate(f"kind.{definition.code.type}", language)
                )
            )
        fmt = "%Y-%m-%d %H:%M"
        return ReceiptData(
            site_name=site_name,
            title=definition.title_in(language),
            number_label=translate("receipt.number", language),
            number=meta["number"],
            time_label=translate("receipt.time", language),
            time=datetime.fromisoformat(meta["time"]).strftime(fmt),
            lines=lines,
            qr_text=code,
            validity_label=translate("receipt.validity", language),
            validity=f"{valid_until.astimezone():{fmt}}",
            instruction=text_in(definition.receipt.instruction, language),
            language=language,
            big_label=translate("receipt.ticket", language) if big is not None else None,
            big=str(_value(definition, big, clear, meta)) if big is not None else None,
            notes=notes,
        )
