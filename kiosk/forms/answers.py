"""Answers to a service: each field type's validation, display and masking, and a valid sample per service.

The GUI checks one field at a time as the person types (:func:`check_field`); the command line and the
submission check all answers at once (:func:`validate_answers`). Both raise :class:`AnswerError`, which
names the field by its path (``passengers[1].id_number``) and carries an i18n key for the screen.
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from typing import Any

from kiosk.forms.definition import FieldDef, ServiceDefinition, text_in
from kiosk.i18n import translate
from kiosk.idnumber import IdNumberError, parse_id_number
from kiosk.masking import mask_id_number, mask_name

PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
# Letters on plates: all but I and O (they read as 1 and 0).
PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
PLATE_SUFFIXES = "挂学警港澳"
_P, _L = f"[{PROVINCES}]", f"[{PLATE_LETTERS}]"
_PLATE = re.compile(
    rf"^{_P}{_L}("
    rf"[{PLATE_LETTERS}0-9]{{5}}"  # ordinary 7-character plate
    rf"|[DABCEFGHJK][{PLATE_LETTERS}0-9]\d{{4}}|\d{{5}}[DABCEFGHJK]"  # new-energy 8-character plate
    rf"|[{PLATE_LETTERS}0-9]{{4}}[{PLATE_SUFFIXES}]"  # trailer, coach, police, HK/Macau
    r")$"
)
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE = re.compile(r"^0\d{2,3}-?\d{7,8}$")


class AnswerError(ValueError):
    """An answer that is missing or invalid: ``path`` names the field, ``key``/``params`` the message."""

    def __init__(self, path: str, key: str, **params: Any) -> None:
        self.path = path
        self.key = key
        self.params = params
        super().__init__(f"field {path!r}: {translate(key, 'en', **params)}")

    def text(self, language: str) -> str:
        return translate(self.key, language, **self.params)


def _text(fdef: FieldDef, value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise AnswerError(path, "form.error.not_text")
    text = value.strip()
    low, high = fdef.min_length or 1, fdef.max_length or 100
    if not low <= len(text) <= high:
        raise AnswerError(path, "form.error.length", low=low, high=high)
    if fdef.pattern and not re.fullmatch(fdef.pattern, text):
        raise AnswerError(path, "form.error.pattern")
    return text


def _number(fdef: FieldDef, value: Any, path: str) -> int | float:
    if isinstance(value, str):
        try:
            value = float(value) if "." in value else int(value)
        except ValueError:
            raise AnswerError(path, "form.error.number") from None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise AnswerError(path, "form.error.number")
    if isinstance(value, float) and not math.isfinite(value):
        # "1" and 400 zeros ".5" reads as Infinity: without bounds it would be stored, and no server takes it.
        raise AnswerError(path, "form.error.number")
    if fdef.integer and value != int(value):
        raise AnswerError(path, "form.error.integer")
    if fdef.integer:
        value = int(value)
    low = fdef.minimum if fdef.minimum is not None else float("-inf")
    high = fdef.maximum if fdef.maximum is not None else float("inf")
    if not low <= value <= high:
        raise AnswerError(path, "form.error.range", low=_num(fdef.minimum), high=_num(fdef.maximum))
    return value


def _num(value: float | None) -> str:
    return "…" if value is None else f"{value:g}"


def _choice(fdef: FieldDef, value: Any, path: str) -> str:
    if not isinstance(value, str) or fdef.option(value) is None:
        raise AnswerError(path, "form.error.choice")
    return value


def _yesno(fdef: FieldDef, value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise AnswerError(path, "form.error.yesno")
    return value


def _date(fdef: FieldDef, value: Any, path: str, today: date) -> str:
    try:
        day = date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 else None
    except ValueError:
        day = None
    if day is None:
        raise AnswerError(path, "form.error.date")
    first = today + timedelta(days=fdef.min_days) if fdef.min_days is not None else date.min
    last = today + timedelta(days=fdef.max_days) if fdef.max_days is not None else date.max
    if not first <= day <= last:
        raise AnswerError(path, "form.error.date_range", first=first.isoformat(), last=last.isoformat())
    return day.isoformat()


def _phone(fdef: FieldDef, value: Any, path: str) -> str:
    text = value.replace(" ", "") if isinstance(value, str) else ""
    if not (_MOBILE.match(text) or _LANDLINE.match(text)):
        raise AnswerError(path, "form.error.phone")
    return text


def normalise_plate(value: str) -> str:
    return value.replace(" ", "").replace("·", "").upper()


def _plate(fdef: FieldDef, value: Any, path: str) -> str:
    plate = normalise_plate(value) if isinstance(value, str) else ""
    if not _PLATE.match(plate):
        raise AnswerError(path, "form.error.plate")
    return plate


def _id_number(fdef: FieldDef, value: Any, path: str, today: date) -> str:
    try:
        return parse_id_number(value if isinstance(value, str) else "", today=today).value
    except IdNumberError as err:
        raise AnswerError(path, err.key) from None


def _slot(fdef: FieldDef, value: Any, path: str) -> dict[str, str]:
    """A slot the central API offered: its id and times (booked when the submission is confirmed)."""
    try:
        slot = {
            "id": str(uuid.UUID(value["id"])),
            "starts_at": datetime.fromisoformat(value["starts_at"]).isoformat(),
            "ends_at": datetime.fromisoformat(value["ends_at"]).isoformat(),
        }
    except (TypeError, KeyError, ValueError, AttributeError):
        raise AnswerError(path, "form.error.slot") from None
    if datetime.fromisoformat(slot["starts_at"]).tzinfo is None:
        raise AnswerError(path, "form.error.slot")
    return slot


def _group(fdef: FieldDef, value: Any, path: str, today: date) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise AnswerError(path, "form.error.group")
    if not fdef.min_items <= len(value) <= fdef.max_items:
        raise AnswerError(path, "form.error.items", low=fdef.min_items, high=fdef.max_items)
    items = []
    for i, item in enumerate(value):
        if not isinstance(item, Mapping):
            raise AnswerError(f"{path}[{i}]", "form.error.group")
        items.append(_check_all(fdef.fields, item, today, f"{path}[{i}]."))
    return items


def check_field(fdef: FieldDef, value: Any, today: date | None = None, path: str | None = None) -> Any:
    """The normalised answer (stripped, upper-cased plate, parsed number…) or :class:`AnswerError`."""
    path = path or fdef.id
    today = today or date.today()
    if value is None or value == "" or value == []:
        if fdef.required and not (fdef.type == "group" and fdef.min_items == 0):
            raise AnswerError(path, "form.error.required")
        return [] if fdef.type == "group" else None
    checker = {
        "text": _text,
        "number": _number,
        "choice": _choice,
        "yesno": _yesno,
        "phone": _phone,
        "plate": _plate,
        "slot": _slot,
    }.get(fdef.type)
    if checker is not None:
        return checker(fdef, value, path)
    dated = {"date": _date, "id_number": _id_number, "group": _group}[fdef.type]
    return dated(fdef, value, path, today)


def _check_all(
    fields: tuple[FieldDef, ...], answers: Mapping[str, Any], today: date, prefix: str = ""
) -> dict[str, Any]:
    known = {f.id for f in fields}
    unknown = sorted(set(answers) - known)
    if unknown:
        raise AnswerError(f"{prefix}{unknown[0]}", "form.error.unknown_field")
    out: dict[str, Any] = {}
    for fdef in fields:
        value = check_field(fdef, answers.get(fdef.id), today, f"{prefix}{fdef.id}")
        if value is not None:
            out[fdef.id] = value
    return out


def validate_answers(
    definition: ServiceDefinition, answers: Any, today: date | None = None
) -> dict[str, Any]:
    """All answers of a service, normalised; unknown fields are refused (a typo must not drop an answer)."""
    if not isinstance(answers, Mapping):
        raise AnswerError("answers", "form.error.not_object")
    return _check_all(definition.fields, answers, today or date.today())


def mask_value(fdef: FieldDef, value: Any) -> Any:
    """What may be kept in clear and printed: personal values masked, the rest as they are."""
    if not fdef.personal or value is None:
        return value
    if fdef.mask == "id_number":
        return mask_id_number(str(value))
    if fdef.mask == "phone":
        text = str(value)
        return text[:3] + "*" * max(0, len(text) - 7) + text[-4:] if len(text) > 7 else "*" * len(text)
    if fdef.mask == "name":
        return mask_name(str(value))
    return None if fdef.mask == "hide" else value


def mask_answers(fields: tuple[FieldDef, ...], answers: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for fdef in fields:
        if fdef.id not in answers:
            continue
        value = answers[fdef.id]
        if fdef.type == "group":
            out[fdef.id] = [mask_answers(fdef.fields, item) for item in value]
        else:
            masked = mask_value(fdef, value)
            if masked is not None:
                out[fdef.id] = masked
    return out


def personal_answers(fields: tuple[FieldDef, ...], answers: Mapping[str, Any]) -> dict[str, Any]:
    """The full values of personal fields (and groups holding any), which are sealed, never kept in clear."""
    out: dict[str, Any] = {}
    for fdef in fields:
        if fdef.id not in answers:
            continue
        if fdef.type == "group":
            if any(sub.personal for sub in fdef.fields):
                out[fdef.id] = [personal_answers(fdef.fields, item) for item in answers[fdef.id]]
        elif fdef.personal:
            out[fdef.id] = answers[fdef.id]
    return out


def display_value(fdef: FieldDef, value: Any, language: str) -> str:
    """One answer as the review screen and the receipt show it (already masked where personal)."""
    if value is None:
        return "—"
    if fdef.type == "choice":
        option = fdef.option(value)
        return text_in(option.label, language) if option else str(value)
    if fdef.type == "yesno":
        return translate("form.yes" if value else "form.no", language)
    if fdef.type == "slot":
        start = datetime.fromisoformat(value["starts_at"]).astimezone()
        end = datetime.fromisoformat(value["ends_at"]).astimezone()
        return f"{start:%Y-%m-%d %H:%M}–{end:%H:%M}"
    if fdef.type == "group":
        if not value:
            return translate("form.none", language)
        return "；".join(
            " ".join(display_value(sub, item.get(sub.id), language) for sub in fdef.fields if sub.id in item)
            for item in value
        )
    return str(value)


def _example(fdef: FieldDef, today: date) -> Any:
    if fdef.example is not None:
        return fdef.example
    if fdef.type == "group":
        return [{sub.id: _example(sub, today) for sub in fdef.fields} for _ in range(max(1, fdef.min_items))]
    if fdef.type == "slot":
        start = datetime.combine(today + timedelta(days=1), time(9, 0)).astimezone()
        return {
            "id": "00000000-0000-4000-8000-000000000001",
            "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(minutes=30)).isoformat(),
        }
    if fdef.type == "date":
        return (today + timedelta(days=max(fdef.min_days or 0, 0))).isoformat()
    if fdef.type == "number":
        return int(fdef.minimum) if fdef.minimum is not None else 1
    defaults = {
        "text": "张三" if fdef.mask == "name" else "示例",
        "choice": fdef.options[0].id if fdef.options else "",
        "yesno": False,
        "phone": "13800138000",
        "plate": "粤B12345",
        "id_number": "11010519491231002X",
    }
    return defaults[fdef.type]


def example_answers(definition: ServiceDefinition, today: date | None = None) -> dict[str, Any]:
    """A complete, valid set of answers (every field, optional ones too), checked before it is returned."""
    today = today or date.today()
    answers = {fdef.id: _example(fdef, today) for fdef in definition.fields}
    validate_answers(definition, answers, today)
    return answers
