"""What a receipt says, for every service alike: the definition chooses the fields, this module the content.

The model holds only what may be printed: masked personal values, the signed code and its validity. It is
stored with the print job as JSON, so a receipt can be printed again later without the personal data.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class ReceiptData:
    site_name: str
    title: str
    number_label: str
    number: str
    time_label: str
    time: str
    lines: list[tuple[str, str]]  # (label, masked value) in the definition's order
    qr_text: str
    validity_label: str
    validity: str
    instruction: str
    language: str
    big_label: str | None = None
    big: str | None = None  # the queue number, printed large
    notes: list[str] = field(default_factory=list)
    # A decided service's outcome (kiosk.decisions.outcomes.on_receipt): what is known when it is printed,
    # the reasons of a rejection, and the central decision code of an approval (a second QR code).
    decision_label: str | None = None
    decision: str | None = None
    decision_reasons: list[str] = field(default_factory=list)
    decision_qr: str | None = None
    decision_qr_label: str | None = None

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> ReceiptData:
        data: dict[str, Any] = json.loads(text)
        data["lines"] = [tuple(line) for line in data["lines"]]
        return cls(**data)
