"""The chip's 256-byte text block (GA 490 layout as certified readers return it) as the card's fields.

The block is UCS-2 little-endian in fixed-width fields padded with spaces: name 30 bytes, sex code 2,
ethnicity code 4, birth date 16 (YYYYMMDD), address 70, ID number 36, issuing authority 30, validity start
16, validity end 16 (YYYYMMDD or 长期), then 36 reserved bytes. Codes map to the words printed on the card:
sex by GB/T 2261.1 (1 男, 2 女), ethnicity by GB 3304 (01 汉 ... 56 基诺, the order of ``ETHNICITIES``).

The chip has no recognition errors, but it is checked with the same rules as a camera reading
(``rules.check_front``/``check_back``): an answer whose number, birth date, sex, ethnicity or validity do
not agree is refused whole with :class:`ChipRefused`, never half-used. The rules that repair OCR slips in
the address are not applied to the chip's address, which is exactly as registered.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from kiosk.idcard import rules
from kiosk.idcard.data import ETHNICITIES
from kiosk.idcard.model import BACK_FIELDS, FRONT_FIELDS, CardResult

TEXT_BYTES = 256
# (field, bytes) in block order; what is left after them is reserved.
LAYOUT = (
    ("name", 30),
    ("sex", 2),
    ("ethnicity", 4),
    ("birth_date", 16),
    ("address", 70),
    ("id_number", 36),
    ("authority", 30),
    ("valid_from", 16),
    ("valid_until", 16),
)
SEX_CODES = {"1": "男", "2": "女"}
# Warnings that mean the chip's fields disagree with each other or with the law: refuse the whole answer.
# Not among them: "expired" (a true card, shown as the camera path shows it) and "id_region_mismatch"
# (people move); the address heuristics' "low_confidence" does not apply to chip text, and a field the
# rules would change is refused as "field_corrected" below.
REFUSING = frozenset(
    {
        "id_checksum",
        "id_corrected",
        "id_birth_mismatch",
        "id_sex_mismatch",
        "field_from_id",
        "ethnicity_unknown",
        "field_missing",
        "invalid_validity",
    }
)


class ChipRefused(ValueError):
    """A chip answer that cannot be used; ``reasons`` are warning codes (``ocr.warning.<code>``)."""

    def __init__(self, reasons: list[str], detail: str = "") -> None:
        super().__init__(detail or "the chip's data failed the card's checks: " + ", ".join(reasons))
        self.reasons = reasons


@dataclass(frozen=True)
class ChipIdentity:
    """The card's fields from its chip (dates ISO, validity end ISO or 长期), all certain."""

    fields: dict[str, str]
    warnings: tuple[str, ...] = ()

    def side(self, side: str) -> CardResult:
        """The front or back as the review screen and the form take a camera reading, at confidence 1."""
        names = FRONT_FIELDS if side == "front" else BACK_FIELDS
        fields = {name: self.fields[name] for name in names}
        own = "expired" if side == "back" else "id_region_mismatch"
        warnings = [w for w in self.warnings if w == own]
        return CardResult(side, fields, dict.fromkeys(names, 1.0), warnings)


def _ucs2(raw: bytes) -> str:
    try:
        text = raw.decode("utf-16-le")
    except UnicodeDecodeError:
        raise ChipRefused(["field_missing"], "the chip's text is not UCS-2") from None
    return text.replace("\x00", "").strip()


def split_fields(block: bytes) -> dict[str, str]:
    """The raw strings of the text block, codes not yet mapped."""
    if len(block) != TEXT_BYTES:
        raise ChipRefused(["field_missing"], f"a text block has {TEXT_BYTES} bytes, not {len(block)}")
    out, offset = {}, 0
    for name, width in LAYOUT:
        out[name] = _ucs2(block[offset : offset + width])
        offset += width
    return out


def _iso(text: str) -> str:
    match = re.fullmatch(r"(\d{4})(\d{2})(\d{2})", text)
    return f"{match[1]}-{match[2]}-{match[3]}" if match else ""


def decode_text(block: bytes, today: date | None = None) -> ChipIdentity:
    """Map and check the block; raises :class:`ChipRefused` when any check fails."""
    raw = split_fields(block)
    today = today or date.today()
    code = raw["ethnicity"]
    ethnicity = ETHNICITIES[int(code) - 1] if code.isdigit() and 1 <= int(code) <= len(ETHNICITIES) else ""
    fields = {
        "name": raw["name"],
        "sex": SEX_CODES.get(raw["sex"], ""),
        "ethnicity": ethnicity,
        "birth_date": _iso(raw["birth_date"]),
        "address": raw["address"],
        "id_number": raw["id_number"],
        "authority": raw["authority"],
        "valid_from": _iso(raw["valid_from"]),
        "valid_until": "长期" if raw["valid_until"] == "长期" else _iso(raw["valid_until"]),
    }
    if raw["ethnicity"] and not ethnicity:
        raise ChipRefused(["ethnicity_unknown"], f"unknown ethnicity code {code!r} on the chip")
    if raw["sex"] and not fields["sex"]:
        raise ChipRefused(["field_missing"], f"unknown sex code {raw['sex']!r} on the chip")

    # The rules work on copies: they may only judge the chip's data, never change it.
    front = rules.check_front(CardResult("front", dict(fields), dict.fromkeys(FRONT_FIELDS, 1.0)))
    back_in = CardResult("back", {n: fields[n] for n in BACK_FIELDS}, dict.fromkeys(BACK_FIELDS, 1.0))
    birth = date.fromisoformat(fields["birth_date"]) if fields["birth_date"] else None
    back = rules.check_back(back_in, today, birth)
    warnings = front.warnings + [w for w in back.warnings if w not in front.warnings]
    refused = [w for w in warnings if w in REFUSING]
    # A field the rules would have repaired (a validity end one digit off an allowed span) is a
    # contradiction on the chip, not a slip: refused too. Only the address is exempt, see above.
    judged = {**front.fields, **back.fields}
    if any(judged[name] != value for name, value in fields.items() if name != "address"):
        refused.append("field_corrected")
    if refused:
        raise ChipRefused(refused)
    return ChipIdentity(fields, tuple(w for w in warnings if w in ("expired", "id_region_mismatch")))
