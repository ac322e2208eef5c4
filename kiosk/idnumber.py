"""Resident identity card numbers (GB 11643-1999): ISO 7064 MOD 11-2 check digit and embedded birth date."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS = "10X98765432"
_SHAPE = re.compile(r"^\d{17}[\dX]$")


class IdNumberError(ValueError):
    """Why a typed or scanned ID number is not valid; ``key`` is the i18n message key."""

    def __init__(self, key: str, detail: str) -> None:
        super().__init__(detail)
        self.key = key


@dataclass(frozen=True)
class IdNumber:
    value: str
    birth_date: date
    sex: str  # "M" or "F", from the 17th digit (odd: male)

    @property
    def region(self) -> str:
        return self.value[:6]


def check_digit(first17: str) -> str:
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK_CHARS[total % 11]


def normalise(text: str) -> str:
    return text.strip().replace(" ", "").upper()


def looks_like_id_number(text: str) -> bool:
    return bool(_SHAPE.match(normalise(text)))


def birth_date_possible(born: date, today: date | None = None) -> bool:
    """Whether a card holder can have been born on ``born``: from 1900 (no one living was born earlier)
    to today."""
    return born.year >= 1900 and born <= (today or date.today())


def parse_id_number(text: str, today: date | None = None) -> IdNumber:
    """Validate shape, birth date and check digit; raise ``IdNumberError`` with a message key otherwise."""
    value = normalise(text)
    if not _SHAPE.match(value):
        raise IdNumberError("id.bad_shape", "an ID number has 17 digits followed by a digit or X")
    try:
        born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        raise IdNumberError("id.bad_birth_date", "the birth date inside the number does not exist") from None
    if not birth_date_possible(born, today):
        raise IdNumberError("id.bad_birth_date", "the birth date inside the number is out of range")
    if check_digit(value[:17]) != value[17]:
        raise IdNumberError("id.bad_checksum", "the check digit does not match")
    return IdNumber(value=value, birth_date=born, sex="M" if int(value[16]) % 2 else "F")
