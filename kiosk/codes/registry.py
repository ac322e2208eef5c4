"""The code-format registry: every decoded text ends in a verdict with a reason, whatever it contains."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from kiosk.i18n import Message

log = logging.getLogger(__name__)

# Longer than any code a checkpoint expects (a version-40 QR holds at most 4,296 alphanumerics).
MAX_TEXT_LENGTH = 8192


class Verdict(StrEnum):
    GREEN = "green"  # pass
    YELLOW = "yellow"  # check by hand
    RED = "red"  # stop


@dataclass(frozen=True)
class CodeResult:
    """What a code means at a checkpoint.

    ``claims`` hold only display-safe values (personal fields already masked). ``subject`` identifies the
    person for the unique-person count; it is never shown, nor stored in the clear (only a keyed hash).
    """

    kind: str
    verdict: Verdict
    reason: Message
    claims: dict[str, str] = field(default_factory=dict)
    holder: str | None = None
    subject: str | None = None


class CodeFormat(Protocol):
    """One kind of code. ``matches`` must be cheap; ``evaluate`` is only called when it returned True."""

    kind: str

    def matches(self, text: str) -> bool: ...

    def evaluate(self, text: str, now: datetime) -> CodeResult: ...


class CodeRegistry:
    """Tries formats in order; the first that matches evaluates the text."""

    def __init__(self, formats: list[CodeFormat]) -> None:
        self.formats = list(formats)

    def evaluate(self, text: str, now: datetime | None = None) -> CodeResult:
        now = now or datetime.now().astimezone()
        if not text or len(text) > MAX_TEXT_LENGTH or not text.isprintable():
            return CodeResult("malformed", Verdict.RED, Message("code.malformed"))
        for fmt in self.formats:
            try:
                if fmt.matches(text):
                    return fmt.evaluate(text, now)
            except Exception:  # a format bug must not take the checkpoint down; the log says which
                log.exception("code format %s failed on a %d-character code", fmt.kind, len(text))
                return CodeResult(fmt.kind, Verdict.RED, Message("code.error"))
        return CodeResult("text", Verdict.YELLOW, Message("code.unrecognised"))
