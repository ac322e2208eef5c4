"""Unsigned formats: a bare ID number and a web link. Nothing in them can be verified, so at best they
identify a person (an ID number whose check digit holds) or ask for a check by hand (a link)."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit

from kiosk.codes.registry import CodeRegistry, CodeResult, Verdict
from kiosk.i18n import Message
from kiosk.idnumber import IdNumberError, looks_like_id_number, parse_id_number
from kiosk.masking import mask_id_number


class IdNumberFormat:
    kind = "id-number"

    def matches(self, text: str) -> bool:
        return looks_like_id_number(text)

    def evaluate(self, text: str, now: datetime) -> CodeResult:
        try:
            number = parse_id_number(text, today=now.date())
        except IdNumberError as err:
            return CodeResult(self.kind, Verdict.RED, Message(err.key), {"id_number": mask_id_number(text)})
        return CodeResult(
            self.kind,
            Verdict.GREEN,
            Message("id.valid"),
            {"id_number": mask_id_number(number.value)},
            subject=f"id:{number.value}",
        )


class UrlFormat:
    kind = "url"

    def matches(self, text: str) -> bool:
        return text.lower().startswith(("http://", "https://"))

    def evaluate(self, text: str, now: datetime) -> CodeResult:
        host = urlsplit(text).hostname
        if not host:
            return CodeResult(self.kind, Verdict.RED, Message("code.malformed"))
        reason = Message("url.unverified", {"host": host})
        return CodeResult(self.kind, Verdict.YELLOW, reason, {"host": host})


def default_registry() -> CodeRegistry:
    """The unsigned formats every kiosk reads: resident ID numbers and web addresses."""
    return CodeRegistry([IdNumberFormat(), UrlFormat()])
