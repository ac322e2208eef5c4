"""From recognised text lines on a rectified card to raw fields, and which side of the card it is.

Lines come in card coordinates (0..1 across and down the 85.6 × 54 mm card), so the standard layout can be
used: rows are grouped by height, labels (printed in blue on the front) are stripped, and each field is
taken from its row. ``parse_naive`` is the benchmark's baseline: the engine's text in reading order, cut at
the labels, as a first attempt without any card geometry would do.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from kiosk.idcard.model import CardResult
from kiosk.idcard.rules import (
    CORRECTED_CONFIDENCE,
    DOUBTFUL_CONFIDENCE,
    edit_distance,
    lookalike_digits,
    normalise_id_text,
)

FRONT_KEYWORDS = ("姓名", "性别", "民族", "出生", "住址", "公民身份号码")
BACK_KEYWORDS = ("中华人民共和国", "居民身份证", "签发机关", "有效期限")
# How the front's labels begin (two characters each, so a value that happens to start with 出 or 名 is not
# taken for one); they share one column at the card's left.
FRONT_LABEL_STARTS = r"^(姓名|性别|出生|住址|公民身份)"
# A character of a free-text field the recogniser scored below this, or a character it did not write
# scored above that, gets the field highlighted (chosen on the tuning typefaces, docs/benchmarks.md).
WEAK_CHARACTER = 0.75
DROPPED_CHARACTER = 0.1
# The shape of every issuing authority's name (GA 450: the county-level public security bureau or the city
# bureau's branch), and characters none of them starts with.
AUTHORITY_SHAPE = r"[\u3400-\u9fff]{2,}(公安局|公安分局|分局)"
AUTHORITY_CANNOT_START = "一"
PORTRAIT_LEFT = 0.62  # the portrait occupies the right third of the front; no field text starts there
AUTHORITY_LABEL = "签发机关"
# A character of a line read less than this (a fraction of the line's character pitch) before the first
# character of the next line in its row, or past it, is that character's ink read twice: the detector's
# grown box of a label runs into its value's (签发机关角 + 解放区…, 有效期限2 + 2011.10.20…). Two distinct
# characters' centres are at least about a pitch apart; on the tuning faces the ink read twice lay within
# 0.16 of a pitch of the next line's first character, a label's real last character 1.7 pitches or more
# before it (docs/benchmarks.md).
READ_TWICE_PITCH = 0.5
# On the back, both values start in one column (GA 450), found where the validity's date starts. A
# character of the authority's row centred more than this (card widths) left of that column is the label's,
# however it was read (签度机关, 善发机美). On the tuning faces the label's last character lay 35 px (of 856)
# or more left of the column, the value's first at most 1 px left of it: the cut lies half way.
LABEL_COLUMN_MARGIN = 0.02
VALIDITY_DATE = r"\d{4}\D?\d{2}\D?\d{2}"
# A birth date as the front prints it (1990年3月7日; the characters between the numbers often misread), and
# the lowest centre (card heights) its row can have: it lies above the address and the number.
BIRTH_DATE_TEXT = r"\d{4}.{0,3}\d{1,2}.{0,3}\d{1,2}"
BIRTH_ROW_MAX = 0.55
# Where the front's birth row lies (centre, card heights), for a row whose date and label are both misread.
# On the tuning faces' hard photos (seed 8, all layouts) birth rows were centred at 0.367-0.396, the
# address's first line at 0.496-0.523, the sex row near 0.25: the band reaches half way to each.
BIRTH_ROW = (0.31, 0.445)


@dataclass(frozen=True)
class Line:
    """A recognised line: text, its box in card coordinates (0..1), the recogniser's confidence, and where
    the engine gives them its per-character scores, dropped-character traces and positions along the box
    (``devices.ocr.TextLine``)."""

    text: str
    x0: float
    y0: float
    x1: float
    y1: float
    confidence: float
    chars: tuple[float, ...] = ()
    gaps: tuple[float, ...] = ()
    positions: tuple[float, ...] = ()

    @property
    def cy(self) -> float:
        return (self.y0 + self.y1) / 2


@dataclass(frozen=True)
class Row:
    text: str
    x0: float
    cy: float
    confidence: float
    lines: tuple[Line, ...]


def group_rows(lines: list[Line], read_twice: bool = False) -> list[Row]:
    """Lines on the same printed row (overlapping vertically by half their height), left to right;
    ``read_twice`` drops the ends of lines that the next line of the row read too (``drop_read_twice``)."""
    rows: list[list[Line]] = []
    for line in sorted(lines, key=lambda ln: ln.cy):
        if rows:
            last = rows[-1]
            top, bottom = min(ln.y0 for ln in last), max(ln.y1 for ln in last)
            overlap = min(bottom, line.y1) - max(top, line.y0)
            if overlap > 0.5 * min(bottom - top, line.y1 - line.y0):
                last.append(line)
                continue
        rows.append([line])
    out = []
    for members in rows:
        members.sort(key=lambda ln: ln.x0)
        if read_twice:
            members = drop_read_twice(members)
        text = "".join(ln.text.replace(" ", "") for ln in members)
        out.append(
            Row(
                text=text,
                x0=members[0].x0,
                cy=sum(ln.cy for ln in members) / len(members),
                confidence=min(ln.confidence for ln in members),
                lines=tuple(members),
            )
        )
    return out


def _centres(line: Line) -> list[float] | None:
    """Each character's centre across the card (card fractions), or ``None`` without positions."""
    if len(line.positions) != len(line.text):
        return None
    return [line.x0 + q * (line.x1 - line.x0) for q in line.positions]


def _cut(line: Line, start: int, end: int) -> Line:
    """Characters ``start:end`` of ``line`` with their scores, positions and box (the box cut where the
    dropped characters begin, so a re-read of the box does not see them again)."""
    centres = _centres(line)
    assert centres is not None
    x0 = line.x0 if start == 0 else (centres[start - 1] + centres[start]) / 2
    x1 = line.x1 if end >= len(line.text) else (centres[end - 1] + centres[end]) / 2
    positions = tuple((c - x0) / (x1 - x0) for c in centres[start:end]) if x1 > x0 else ()
    scored = len(line.chars) == len(line.text) and len(line.gaps) == len(line.text) + 1
    return replace(
        line,
        text=line.text[start:end],
        x0=x0,
        x1=x1,
        chars=line.chars[start:end] if scored else (),
        gaps=line.gaps[start : end + 1] if scored else (),
        positions=positions,
    )


def drop_read_twice(members: list[Line]) -> list[Line]:
    """The lines of one row (left to right) without the characters a line read inside the next line's
    box where that line read them too: a character centred less than ``READ_TWICE_PITCH`` of a pitch
    before the next line's first character, or past it. Lines without positions are left as they are."""
    out = list(members)
    for i in range(len(out) - 1):
        line, after = out[i], out[i + 1]
        here, there = _centres(line), _centres(after)
        if here is None or there is None or line.x1 <= after.x0:
            continue
        inked = [k for k, ch in enumerate(line.text) if ch.strip()]
        firsts = [c for ch, c in zip(after.text, there, strict=True) if ch.strip()]
        if len(inked) < 2 or not firsts:
            continue
        pitch = float(np.median(np.diff([here[k] for k in inked])))
        twice = [k for k in inked if here[k] > firsts[0] - READ_TWICE_PITCH * pitch]
        if twice and twice[0] > inked[0]:  # something of the line is left
            out[i] = _cut(line, 0, twice[0])
    return out


def _keyword_hits(text: str, keyword: str) -> float:
    """How much of ``keyword`` appears in ``text``: share of its character pairs found (OCR drops chars)."""
    pairs = [keyword[i : i + 2] for i in range(len(keyword) - 1)]
    return sum(p in text for p in pairs) / len(pairs)


def side_scores(lines: list[Line]) -> tuple[float, float]:
    """(front, back) evidence from the printed labels and, for the front, the 18-character number."""
    text = "".join(ln.text.replace(" ", "") for ln in lines)
    front = sum(_keyword_hits(text, k) for k in FRONT_KEYWORDS)
    back = sum(_keyword_hits(text, k) for k in BACK_KEYWORDS)
    if any(len(normalise_id_text(ln.text)) >= 16 for ln in lines):
        front += 1.0
    return front, back


_LABELS = {
    "name": r"^(姓名|姓|名)",
    "sex": r"^(性别|性|别)",
    "ethnicity": r"(民族|民|族)",
    "birth": r"^(出生|出|生)",
    "address": r"^(住址|.址|住|址)",  # 住 is often misread (佳址): no province has 址 as its second character
    "id": r"^(公民身份号码|公民身份号|身份号码|公民身份|号码)",
    "authority": r"^(签发机关|.发机关|签发机|发机关|签发|机关)",  # 签 misread (服发机关, 警发机关)
}


def _strip(label: str, text: str) -> str:
    return re.sub(_LABELS[label], "", text, count=1)


def value_scores(lines: Sequence[Line], skip: int) -> tuple[float, float] | None:
    """(the weakest character's score, the strongest trace of a dropped character) over the text of
    ``lines`` joined as a row is (spaces out), from character ``skip`` on (past a label); ``None`` when no
    character there has a score (engines that give none)."""
    chars: list[float] = []
    gaps: list[float] = []
    at = 0  # index of the next character in the joined text
    for line in lines:
        kept = [i for i, ch in enumerate(line.text) if ch != " "]
        if len(line.chars) == len(line.text) and len(line.gaps) == len(line.text) + 1:
            chars += [
                line.chars[i] for i, j in zip(kept, range(at, at + len(kept)), strict=True) if j >= skip
            ]
            # The gap before each character, and the one after the line's last.
            gaps += [line.gaps[i] for i, j in zip(kept, range(at, at + len(kept)), strict=True) if j >= skip]
            gaps += [line.gaps[-1]] if at + len(kept) >= skip else []
        at += len(kept)
    if not chars:
        return None
    return min(chars), max(gaps)


def char_doubt(result: CardResult, name: str, lines: Sequence[Line], skip: int) -> None:
    """Highlights a free-text field (no rule on the card can check it) when one of its characters is
    weak or a character seems to have been dropped: the line's mean score averages a single slip away
    (龙门 read 龙内 at 0.94, 988号 read 88号)."""
    result.sources[name] = (tuple(lines), skip)
    scores = value_scores(lines, skip)
    if scores is None:
        return
    weakest, dropped = scores
    if weakest < WEAK_CHARACTER or dropped > DROPPED_CHARACTER:
        result.confidence[name] = min(result.confidence.get(name, 0.0), DOUBTFUL_CONFIDENCE)


def _id_row(rows: list[Row]) -> Row | None:
    candidates = [r for r in rows if r.cy > 0.55 and len(normalise_id_text(_strip("id", r.text))) >= 12]
    return max(candidates, key=lambda r: len(normalise_id_text(r.text)), default=None)


def label_lines(lines: list[Line]) -> list[Line]:
    """The lines that start with one of the front's labels (``FRONT_LABEL_STARTS``): the evidence for the
    column the labels share; a line starting with a label's residue (址广西…) is none."""
    return [ln for ln in lines if re.match(FRONT_LABEL_STARTS, ln.text.replace(" ", ""))]


def _on_card(lines: list[Line]) -> list[Line]:
    """``lines`` without those that end before the column the front's labels start in (fitted through the
    label lines, so a slanted rectification is followed). Every value is printed right of its label, so
    such text is beside the card: a note the card finder took in with it (Lorem ipsum left of 住址)."""
    starts = [(ln.cy, ln.x0) for ln in label_lines(lines)]
    if not starts:
        return lines
    ys, xs = (np.array(v) for v in zip(*starts, strict=True))
    slope, column = np.polyfit(ys, xs, 1) if np.ptp(ys) > 0.2 else (0.0, float(np.median(xs)))
    return [ln for ln in lines if ln.x1 >= column + slope * ln.cy]


def parse_front(lines: list[Line]) -> CardResult:
    result = CardResult(side="front")
    f, conf = result.fields, result.confidence
    # Text starting inside the portrait is the photo's noise, not a field.
    rows = group_rows([ln for ln in _on_card(lines) if ln.x0 < PORTRAIT_LEFT or ln.cy > 0.75])
    id_row = _id_row(rows)
    if id_row is not None:
        number_lines = [ln for ln in id_row.lines if len(normalise_id_text(ln.text)) >= 4]
        f["id_number"] = normalise_id_text(_strip("id", "".join(ln.text for ln in number_lines)))
        conf["id_number"] = min((ln.confidence for ln in number_lines), default=id_row.confidence)
    above = [r for r in rows if r is not id_row and (id_row is None or r.cy < id_row.cy) and r.cy > 0.03]
    # The birth row by its date, or by its label or its place when the date is misread (1947 read 197, the
    # label lost with it): the address is whatever lies between it and the number, so a date read wrong
    # must not lose the address as well.
    birth_row = next(
        (
            r
            for r in above
            if (re.search(BIRTH_DATE_TEXT, r.text) or r.text.startswith("出生")) and r.cy < BIRTH_ROW_MAX
        ),
        None,
    ) or next((r for r in above if BIRTH_ROW[0] <= r.cy <= BIRTH_ROW[1]), None)
    for row in above:
        if birth_row is not None and row.cy >= birth_row.cy:
            break
        text = row.text
        if "name" not in f and (re.match(_LABELS["name"], text) or row.cy < 0.2):
            f["name"] = re.sub(r"[^\u3400-\u9fff\u00b7]", "", _strip("name", text))
            conf["name"] = row.confidence
        elif "sex" not in f and re.search("[男女]", text):
            sex_at = re.search("[男女]", text)
            assert sex_at is not None
            f["sex"] = sex_at.group()
            conf["sex"] = row.confidence
            rest = text[sex_at.end() :]
            ethnic = re.split(_LABELS["ethnicity"], rest, maxsplit=1)
            value = ethnic[-1] if len(ethnic) > 1 else rest
            f["ethnicity"] = re.sub(r"[^\u3400-\u9fff]", "", value)
            conf["ethnicity"] = row.confidence
    if birth_row is not None:
        f["birth_date"] = _strip("birth", birth_row.text)
        conf["birth_date"] = birth_row.confidence
        address_rows = [r for r in above if r.cy > birth_row.cy]
        if address_rows:
            text = "".join(r.text for r in address_rows)
            f["address"] = _strip("address", text)
            conf["address"] = min(r.confidence for r in address_rows)
            lines_read = [ln for r in address_rows for ln in r.lines]
            char_doubt(result, "address", lines_read, len(text) - len(f["address"]))
    return result


def parse_back(lines: list[Line]) -> CardResult:
    result = CardResult(side="back")
    f, conf = result.fields, result.confidence
    rows = [r for r in group_rows(lines, read_twice=True) if r.cy > 0.55]  # the title block is above
    validity = next((r for r in rows if re.search(VALIDITY_DATE, lookalike_digits(r.text))), None)
    authority = next(
        (
            r
            for r in rows
            if r is not validity and (re.match(_LABELS["authority"], r.text) or "公安" in r.text)
        ),
        None,
    )
    if authority is not None:
        read = re.match(_LABELS["authority"], authority.text)
        label = _authority_label(authority, validity, len(read.group()) if read else None)
        if label is None:  # no positions to go by: the label as its text says
            f["authority"] = _strip("authority", authority.text)
        else:
            f["authority"] = authority.text[len(label) :]
        conf["authority"] = authority.confidence
        char_doubt(result, "authority", authority.lines, len(authority.text) - len(f["authority"]))
        if label is None:
            label_doubt = read is not None and not read.group().endswith("关")
            # The label's 关 was not read as such: it is either missing or read as another character (美 in
            # a brush typeface), now the value's first, and the two cannot be told apart here.
        else:
            # The label was cut where it is printed, whatever it was read as; read as something else than
            # the label (or its right end, if its start was lost), the card was hard to read there. Where
            # its text reads as the label of another length, text and positions disagree on where the
            # value starts (a misread 关, a slanted card): the person checks it.
            label_doubt = min(edit_distance(label, AUTHORITY_LABEL[i:]) for i in range(4)) > 1 or (
                read is not None and len(read.group()) != len(label)
            )
        if label_doubt:
            conf["authority"] = min(conf["authority"], DOUBTFUL_CONFIDENCE)
        authority_shape(result)
    if validity is not None:
        # The value starts with its date: what precedes it is the label, however it was read (有成期系). A
        # Latin letter in it is a digit's look-alike (2009.0L.11): none is printed there.
        mapped = lookalike_digits(validity.text)
        date = re.search(VALIDITY_DATE, mapped)
        assert date is not None  # the row was chosen for it
        text = mapped[date.start() :]
        start, _, end = text.partition("-") if "-" in text else (text[:10], "", text[10:])
        f["valid_from"], f["valid_until"] = start, end
        conf["valid_from"] = conf["valid_until"] = validity.confidence
        if text != validity.text[date.start() :]:
            result.warn("field_corrected")
            for name in ("valid_from", "valid_until"):
                conf[name] = min(conf[name], CORRECTED_CONFIDENCE)
    return result


def _row_centres(row: Row) -> list[float] | None:
    """The centre across the card of each character of ``row.text``, or ``None`` without positions."""
    out: list[float] = []
    for line in row.lines:
        centres = _centres(line)
        if centres is None:
            return None
        out += [c for ch, c in zip(line.text, centres, strict=True) if ch != " "]
    return out


def _authority_label(row: Row, validity: Row | None, read: int | None) -> str | None:
    """The leading text of the authority ``row`` printed left of the values' column, found where the
    validity date starts; ``None`` when the column or the characters' positions are unknown.

    A slanted rectification shifts the rows apart: where the cut disagrees with the ``read`` characters
    the text reads as the label, the column is moved by as much as the row's first character (its label's)
    lies right of the validity row's first (its label's), both labels starting in one column, and that cut
    is taken if it agrees with the text. A row whose label's start was lost would be shifted wrongly, so
    the shift is never taken on the positions' word alone."""
    centres, own = (_row_centres(validity) if validity else None), _row_centres(row)
    if validity is None or centres is None or not own:
        return None
    date = re.search(VALIDITY_DATE, lookalike_digits(validity.text))
    assert date is not None  # the row was chosen for it
    column = centres[date.start()]
    label = _label_left_of(row, column, own)
    if read is not None and len(label) != read and date.start() > 0:
        shifted = _label_left_of(row, column + own[0] - centres[0], own)
        if len(shifted) == read:
            return shifted
    return label


def _label_left_of(row: Row, column: float, centres: list[float]) -> str:
    """The leading text of ``row`` (characters centred at ``centres``) left of the value ``column``."""
    count = next((i for i, c in enumerate(centres) if c >= column - LABEL_COLUMN_MARGIN), len(centres))
    return row.text[:count]


def authority_shape(result: CardResult) -> None:
    """An issuing authority is a public security bureau or its branch, named after its place (深圳市公安局
    南山分局, 和平县公安局): what precedes the place name is no part of the value. A stray mark before it (the
    label's colon, a rule read as 一: no city or county name starts with 一) is cut off, and the field is
    highlighted for the person to confirm; a value of another shape is highlighted, not changed."""
    value = result.fields.get("authority", "")
    place = re.sub(rf"^(?:[^\u3400-\u9fff]|[{AUTHORITY_CANNOT_START}])+", "", value)
    if place != value:
        result.fields["authority"] = place
        result.warn("field_corrected")
        result.confidence["authority"] = min(result.confidence.get("authority", 0.0), CORRECTED_CONFIDENCE)
    if place and not re.fullmatch(AUTHORITY_SHAPE, place):
        result.confidence["authority"] = min(result.confidence.get("authority", 0.0), DOUBTFUL_CONFIDENCE)


def parse_naive(texts: list[str], side: str) -> dict[str, str]:
    """Baseline: the engine's lines joined in reading order, each field cut between its label and the next."""
    text = "".join(t.replace(" ", "") for t in texts)

    def between(start: str, end: str | None) -> str:
        match = re.search(start + (f"(.*?){end}" if end else "(.*)"), text)
        return match.group(1) if match else ""

    if side == "front":
        number = re.search(r"\d{17}[\dXx]", text)
        birth = re.search(r"(\d{4})年(\d{1,2})月(\d{1,2})日", text)
        return {
            "name": between("姓名", "性别"),
            "sex": between("性别", "民族"),
            "ethnicity": between("民族", "出生"),
            "birth_date": f"{int(birth[1]):04d}-{int(birth[2]):02d}-{int(birth[3]):02d}" if birth else "",
            "address": between("住址", "公民身份号码"),
            "id_number": number.group().upper() if number else "",
        }
    validity = re.search(r"(\d{4})\.(\d{2})\.(\d{2})-(?:(\d{4})\.(\d{2})\.(\d{2})|(长期))", text)
    return {
        "authority": between("签发机关", "有效期限"),
        "valid_from": f"{validity[1]}-{validity[2]}-{validity[3]}" if validity else "",
        "valid_until": (validity[7] or f"{validity[4]}-{validity[5]}-{validity[6]}") if validity else "",
    }
