"""The health-status list a central issuer publishes in the bundle, and the verdict of an ID card tapped on
the reader at a checkpoint (the 数字哨兵 way).

The list names holders only by keyed hash: for each listed person, the subject hash the checkpoints
compute for an ID number (HMAC-SHA256 under the person key the server hands out at enrolment, of
``id:<number>``, as ``kiosk.checkpoint.Checkpoint.subject_hash`` does), with a colour. Only non-green
holders need be listed. The bundle part ``health_status`` is ``{"issued_at": ISO time, "entries":
{hash: "yellow"|"red"}}``, kept as ``health_status.json`` beside the other parts.

A card is green when its chip read whole (the card's checks passed) and its holder is not listed; the
listed colour when listed; yellow (check by hand) when the list is older than the trust store's age limit,
when there is no list, or when the card has expired.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from kiosk.codes.registry import CodeResult, Verdict
from kiosk.fileio import FileProblem, parse_json, read_capped
from kiosk.i18n import Message
from kiosk.idcard.chip import ChipIdentity
from kiosk.masking import mask_id_number, mask_name

PART = "health_status"
FILE = f"{PART}.json"
KIND = "id-card"
# A list of a few million hashes is about 300 MB of JSON; a city's non-green entries are far fewer.
MAX_LIST_BYTES = 64 * 1024 * 1024
COLOURS = {"yellow": Verdict.YELLOW, "red": Verdict.RED}


@dataclass(frozen=True)
class HealthStatusList:
    issued_at: datetime
    entries: Mapping[str, str]  # subject hash -> "yellow" | "red"


def parse_health_list(data: Any) -> HealthStatusList:
    """The list from its bundle part; ``ValueError`` naming what is wrong."""
    if not isinstance(data, dict) or not isinstance(data.get("entries"), dict):
        raise ValueError("health_status needs an object with issued_at and entries")
    try:
        issued = datetime.fromisoformat(str(data.get("issued_at")))
    except ValueError:
        raise ValueError("health_status.issued_at is not an ISO time") from None
    if issued.tzinfo is None:
        raise ValueError("health_status.issued_at has no time zone")
    entries = data["entries"]
    bad = next((k for k, v in entries.items() if v not in COLOURS or len(k) != 64), None)
    if bad is not None:
        raise ValueError(f"health_status entry {bad[:16]!r}: a 64-hex hash with yellow or red")
    return HealthStatusList(issued, dict(entries))


def load_health_list(bundle_dir: Path) -> HealthStatusList | None:
    """The kept list, or None when the bundle had none (or it cannot be read: then no card is green)."""
    try:
        return parse_health_list(parse_json(read_capped(bundle_dir / FILE, MAX_LIST_BYTES), FILE))
    except FileNotFoundError:
        return None
    except (FileProblem, ValueError):
        return None


def card_subject(identity: ChipIdentity) -> str:
    """The subject a card's holder is counted by: the same as a scanned or typed ID number's."""
    return f"id:{identity.fields['id_number']}"


def card_result(
    identity: ChipIdentity,
    subject_hash: str,
    status: HealthStatusList | None,
    now: datetime,
    max_age: timedelta,
) -> CodeResult:
    """The verdict for a card read whole from its chip; the claims hold the masked name and number."""
    name, number = identity.fields["name"], identity.fields["id_number"]
    claims = {"id_number": mask_id_number(number)}
    holder = mask_name(name)
    subject = card_subject(identity)

    def result(verdict: Verdict, key: str) -> CodeResult:
        return CodeResult(KIND, verdict, Message(key), claims, holder, subject)

    if "expired" in identity.warnings:
        return result(Verdict.YELLOW, "chip.expired")
    if status is None:
        return result(Verdict.YELLOW, "chip.no_list")
    if now - status.issued_at > max_age:
        return result(Verdict.YELLOW, "chip.list_stale")
    colour = status.entries.get(subject_hash)
    if colour is not None:
        return result(COLOURS[colour], f"chip.listed_{colour}")
    return result(Verdict.GREEN, "chip.not_listed")
