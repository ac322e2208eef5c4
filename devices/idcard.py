"""From a camera frame or photo to the fields of a resident ID card: find, rectify, OCR, parse, check.

``IdCardRecogniser.read`` handles one still image (``kiosk ocr``); ``IdCardRecogniser.analyse`` is the
per-frame step that ``kiosk.idcard.reader.CardReader`` drives during live capture. Both block for an OCR run
(a few hundred ms) and belong on a worker thread, never on the GUI thread.
"""

from __future__ import annotations

import difflib
import re
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from devices.card_finder import RECT_H, RECT_W, CardLocation, find_card, rectify
from devices.card_quality import BLUR_WARN_BELOW, INCOMPLETE_FILL, has_glare, is_photocopy, sharpness
from devices.glyph_check import GlyphChecker
from devices.image_file import UnreadableImage, read_image
from devices.ocr import CharScoringEngine, OcrEngine, TextLine
from devices.second_reader import SecondReader
from kiosk.idcard import ctc
from kiosk.idcard.combine import combine_ethnicity, combine_line, combine_name
from kiosk.idcard.model import CardResult
from kiosk.idcard.parse import (
    BIRTH_DATE_TEXT,
    BIRTH_ROW_MAX,
    Line,
    label_lines,
    parse_back,
    parse_front,
    side_scores,
)
from kiosk.idcard.reader import FrameReading
from kiosk.idcard.rules import (
    DOUBTFUL_CONFIDENCE,
    check_back,
    check_front,
    ethnicity_guessed,
    reread_ethnicity,
    reread_name,
    second_opinion_on_ethnicity,
    settle_place_suffix,
    settle_province,
)

SIDES = ("front", "back", "auto")
MIN_AREA_FRACTION = 0.12  # smaller than this in the frame and the glyphs get too few pixels to read
PORTRAIT_BOX = (0.64, 0.10, 0.96, 0.72)  # x0, y0, x1, y1 of the photo on the front, card fractions
# Front layout (GA 450) in card fractions, measured from the left edge of the label column (姓名, 性别, …),
# which the text detector finds on every card: values start 100 of 856 px right of it, the ethnicity 300.
LABEL_COLUMN_MAX_X = 0.15  # lines starting left of this are labels (or a value wrapped under one)
LABEL_COLUMN_DEFAULT = 0.066  # where the labels start on a well-rectified card, if none was detected
NAME_ROW = (0.055, 0.195)  # band of row centres (y) holding the name
SEX_ROW = (0.185, 0.325)  # band holding sex and ethnicity
NAME_VALUE_DX = 0.105  # past the 名 of the label (ends ~0.09) and before the value (0.117)
ETHNICITY_VALUE_DX = (0.336, 0.52)  # past the 族 of its label, to four characters beyond the value start
CROP_PAD = 4 / RECT_H
# The free-text fields the second reader re-reads: no rule on the card can check them (the name has its
# own re-read and shape check, the dates and the number their rules).
SECOND_READ_FIELDS = ("address", "authority")
BIRTH_ROW_HALF = 0.03  # lines within this of the date line's centre are on its row


T = TypeVar("T")


class StageTimes(dict[str, float]):
    """Milliseconds spent per pipeline stage of one frame, summed over repeats (a card turned 180° is
    detected twice): what the latency benchmark reports, so a slow stage can be found and cut."""

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.add(name, (time.perf_counter() - started) * 1000)

    def add(self, name: str, ms: float) -> None:
        self[name] = self.get(name, 0.0) + ms

    def timed(self, name: str, fn: Callable[..., T]) -> Callable[..., T]:
        """``fn`` with its run time added to ``name`` (for a step called from inside another stage)."""

        def run(*args: Any, **kwargs: Any) -> T:
            with self.stage(name):
                return fn(*args, **kwargs)

        return run


def to_card_lines(lines: list[TextLine]) -> list[Line]:
    """The engine's lines on a rectified card, in card fractions (what the layout parser works in)."""
    out = []
    for ln in lines:
        xs, ys = ln.box[:, 0] / RECT_W, ln.box[:, 1] / RECT_H
        box = (float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max()))
        out.append(Line(ln.text, *box, ln.confidence, ln.chars, ln.gaps, ln.positions))
    return out


class IdCardRecogniser:
    """Reads ID cards with ``engine``; ``today`` decides expiry (tests and benchmarks pin it)."""

    def __init__(
        self,
        engine: OcrEngine,
        today: date | None = None,
        glyphs: GlyphChecker | None = None,
        second: SecondReader | None = None,
        second_chooses: bool = False,
        second_names: bool = False,
        second_combines: bool = False,
    ) -> None:
        self.engine = engine
        self.today = today
        self.glyphs = glyphs or GlyphChecker()
        # A recogniser of another model generation that re-reads the free-text fields: where it reads
        # them otherwise they are highlighted; ``second_chooses`` also lets the reading both models find
        # likelier replace the engine's.
        self.second = second
        self.second_chooses = second_chooses
        # Whether the second reader also reads the name from its value crop (the crop the re-read uses).
        self.second_names = second_names
        # Whether, where the two read a field otherwise, both models' likelihoods together (a product of
        # experts, kiosk.idcard.combine) may replace the engine's reading; the second reader then also
        # reads the name's and the ethnicity's value crops.
        self.second_combines = second_combines
        # Per field combined in the last read: (the combined reading, its lead in nats, its gain over the
        # engine's reading), for the benchmark to choose margins by (personal data, never logged).
        self.last_combined: dict[str, tuple[str, float, float]] = {}
        # What the two readers read where they differed in the last read: field -> (engine's, second's)
        # lines joined (personal data: for the benchmark's report, never logged).
        self.last_disagreements: dict[str, tuple[str, str]] = {}
        # Per-stage milliseconds of the last read/analyse call (find, rectify, detect, recognise, reread,
        # shape_check, quality, ...): the recogniser is used by one worker thread at a time.
        self.last_stage_ms = StageTimes()

    def _ocr(self, image: np.ndarray) -> list[TextLine]:
        """The engine's lines, its detection and recognition timed apart when it reports them."""
        times = self.last_stage_ms
        with times.stage("ocr"):
            lines = self.engine.recognise(image)
        split = getattr(self.engine, "last_stage_ms", None)
        if split:
            for name, ms in split.items():
                times.add(name, ms)
            times["ocr"] -= sum(split.values())  # what is left: the engine's own glue (crop, sort)
        return lines

    def _ocr_card(self, card: np.ndarray, side: str) -> tuple[str, list[Line], np.ndarray]:
        """(side, lines, card) trying the card as found, then turned 180° if its text makes no sense."""
        best: tuple[float, str, list[Line], np.ndarray] | None = None
        for turned in (False, True):
            image = card[::-1, ::-1].copy() if turned else card
            lines = to_card_lines(self._ocr(image))
            front, back = side_scores(lines)
            chosen = side if side != "auto" else ("front" if front >= back else "back")
            score = front if chosen == "front" else back
            if best is None or score > best[0]:
                best = (score, chosen, lines, image)
            if score >= 2.0:  # the labels read: the card is upright
                break
        assert best is not None
        _, chosen, lines, image = best
        return chosen, lines, image

    def read(self, image: np.ndarray, side: str = "auto", location: CardLocation | None = None) -> CardResult:
        """The fields of one side of the card in a BGR ``image`` (a photo, or a scan of the card alone)."""
        if side not in SIDES:
            raise ValueError(f"side must be one of {', '.join(SIDES)}")
        if location is None:
            self.last_stage_ms = StageTimes()
            with self.last_stage_ms.stage("find"):
                location = find_card(image)
        times = self.last_stage_ms
        started = time.perf_counter()
        with times.stage("rectify"):
            if location is not None:
                card = rectify(image, location.quad)
            else:  # no outline: assume the picture is the card itself (a flatbed scan, a cropped photo)
                h, w = image.shape[:2]
                card = rectify(image, np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32))
        chosen, lines, card = self._ocr_card(card, side)
        with times.stage("parse"):
            result = parse_front(lines) if chosen == "front" else parse_back(lines)
        reread: dict[str, tuple[np.ndarray, ctc.CharMatrix]] = {}
        if chosen == "front" and isinstance(self.engine, CharScoringEngine):
            reread = self._reread_front(card, lines, result, self.engine, self.glyphs, times)
        if self.second is not None:
            with times.stage("second_read"):
                self.last_combined = {}
                self._second_read(card, result)
                if self.second_names and chosen == "front":
                    self._second_read_name(card, lines, result)
                if "ethnicity" in reread and not self.second_combines:
                    self._second_read_ethnicity(result, *reread["ethnicity"])
                if self.second_combines and reread:
                    self._combine_front(result, reread)
        if isinstance(self.engine, CharScoringEngine):
            with times.stage("reread"):
                if chosen == "back":
                    _settle_on_crops(card, result, self.engine, "authority", settle_place_suffix)
                else:
                    _settle_on_crops(card, result, self.engine, "address", settle_province)
        today = self.today or date.today()
        with times.stage("parse"):
            if chosen == "front":
                check_front(result, self._birth_reread(card, lines))
            else:
                check_back(result, today)
        with times.stage("quality"):
            result.quality = sharpness(card)
            if result.quality < BLUR_WARN_BELOW:
                result.warn("blur")
            if has_glare(card):
                result.warn("glare")
            if is_photocopy(card):
                result.warn("photocopy")
        if location is None or _outside(location.quad, image.shape) or location.fill_ratio < INCOMPLETE_FILL:
            result.warn("incomplete")
        result.card_image = card
        if chosen == "front":
            x0, y0, x1, y1 = PORTRAIT_BOX
            result.portrait_image = card[
                int(y0 * RECT_H) : int(y1 * RECT_H), int(x0 * RECT_W) : int(x1 * RECT_W)
            ].copy()
        times.add("total", times.get("find", 0.0) + (time.perf_counter() - started) * 1000)
        return result

    def _birth_reread(self, card: np.ndarray, lines: list[Line]) -> Callable[[], list[ctc.CharMatrix]] | None:
        """The recogniser's probabilities on the birth date's value crop, for the rule that weighs it against
        the ID number's date (kiosk.idcard.rules.check_front asks only when the two disagree)."""
        engine = self.engine
        if not isinstance(engine, CharScoringEngine):
            return None

        def reread() -> list[ctc.CharMatrix]:
            crop = birth_value_crop(card, lines)  # timed within "parse", on the few cards that need it
            return engine.char_matrices([crop]) if crop is not None else []

        return reread

    @staticmethod
    def _reread_front(
        card: np.ndarray,
        lines: list[Line],
        result: CardResult,
        engine: CharScoringEngine,
        glyphs: GlyphChecker,
        times: StageTimes,
    ) -> dict[str, tuple[np.ndarray, ctc.CharMatrix]]:
        """Name and ethnicity again, each from a crop of its value alone scored against the recogniser's
        character probabilities (kiosk.idcard.rules.reread_*): labels cannot leak into the value, the
        name's candidates are also judged by their printed shapes, and the ethnicity is chosen among the 56
        names rather than spelled out (its shapes only decide whether it is highlighted). Returns each
        field's crop and the engine's matrix on it, for the second reader to weigh in on."""
        # The shape check runs inside the re-read's choice: its time is taken out of "reread".
        evidence = times.timed("shape_check", glyphs.evidence)
        read: dict[str, tuple[np.ndarray, ctc.CharMatrix]] = {}
        with times.stage("reread"):
            shape_before = times.get("shape_check", 0.0)
            name = name_value_crop(card, lines)
            if name is not None:
                matrices = engine.char_matrices([name])
                reread_name(result, matrices, [partial(evidence, name)])
                read["name"] = (name, matrices[0])
            left = _label_column(lines)
            x0, x1 = ETHNICITY_VALUE_DX
            # Placed between its neighbours only when the parser found no ethnicity anywhere: a row shifted
            # out of its band is still read where it was detected.
            placed = not result.fields.get("ethnicity")
            ethnicity = _value_crop(card, lines, SEX_ROW, left + x0, min(left + x1, PORTRAIT_BOX[0]), placed)
            if ethnicity is not None:
                matrices = engine.char_matrices([ethnicity])
                reread_ethnicity(result, matrices, partial(evidence, ethnicity))
                read["ethnicity"] = (ethnicity, matrices[0])
                if not _row_lines(lines, SEX_ROW, left + x0) and "ethnicity" in result.confidence:
                    # Cut where the layout puts it, the detector having found no text there: confirmed.
                    result.confidence["ethnicity"] = min(result.confidence["ethnicity"], DOUBTFUL_CONFIDENCE)
        times["reread"] -= times.get("shape_check", 0.0) - shape_before
        return read

    def _second_read(self, card: np.ndarray, result: CardResult) -> None:
        """Each free-text field's lines read again by the second reader from the same crops: a field
        whose value the two read differently is highlighted (a difference in the label alone is not)."""
        assert self.second is not None
        self.last_disagreements = {}
        for name in SECOND_READ_FIELDS:
            if name not in result.sources or not result.fields.get(name):
                continue
            lines, skip = result.sources[name]
            firsts = [ln.text for ln in lines]
            # A line holding only the label (签发机关 is often detected apart) is not read again: the
            # engine's reading stands for both, which also saves a model run.
            ends = np.cumsum([len(_joined([text])) for text in firsts])
            todo = [i for i, end in enumerate(ends) if end > skip]
            crops = [line_crop(card, lines[i]) for i in todo]
            if not todo or any(c is None for c in crops):
                continue
            matrices = self.second.char_matrices([c for c in crops if c is not None])
            seconds = list(firsts)
            for i, matrix in zip(todo, matrices, strict=True):
                seconds[i] = ctc.greedy(matrix)[0]
            if not differs_in_value(_joined(firsts), _joined(seconds), skip):
                continue
            self.last_disagreements[name] = (_joined(firsts), _joined(seconds))
            result.confidence[name] = min(result.confidence.get(name, 0.0), DOUBTFUL_CONFIDENCE)
            if self.second_combines and isinstance(self.engine, CharScoringEngine):
                self._combine_lines(
                    name, result, firsts, todo, [c for c in crops if c is not None], matrices, skip
                )
            elif self.second_chooses and isinstance(self.engine, CharScoringEngine):
                own = self.engine.char_matrices([c for c in crops if c is not None])
                chosen = list(firsts)
                for i, m1, m2 in zip(todo, own, matrices, strict=True):
                    if firsts[i] != seconds[i]:
                        chosen[i] = _likelier((firsts[i], seconds[i]), [m1, m2])
                joined, before = _joined(chosen), _joined(firsts)
                if joined[:skip] == before[:skip]:  # the label kept its length: the value is what follows
                    result.fields[name] = joined[skip:]

    def _combine_lines(
        self,
        name: str,
        result: CardResult,
        firsts: list[str],
        todo: list[int],
        crops: list[np.ndarray],
        matrices: list[ctc.CharMatrix],
        skip: int,
    ) -> None:
        """A field's lines that the two readers read otherwise (``todo``: the lines read again, with their
        crops and the second reader's matrices), each read again by both models together
        (kiosk.idcard.combine); the field stays highlighted whatever is returned."""
        assert isinstance(self.engine, CharScoringEngine)
        differ = [
            k for k, i in enumerate(todo) if _joined([firsts[i]]) != _joined([ctc.greedy(matrices[k])[0]])
        ]
        own = self.engine.char_matrices([crops[k] for k in differ])
        chosen = [_joined([t]) for t in firsts]
        best = list(chosen)
        leads, gains = [], []
        for k, m1 in zip(differ, own, strict=True):
            i = todo[k]
            chosen[i], combined = combine_line(m1, matrices[k], chosen[i])
            if combined is not None and combined.text != best[i]:
                best[i] = combined.text
                leads.append(combined.lead)
                gains.append(combined.gain)
        before, after = _joined(firsts), "".join(chosen)
        if leads:
            self.last_combined[name] = ("".join(best)[skip:], min(leads), min(gains))
        if after != before and after[:skip] == before[:skip]:  # the label kept: the value is what follows
            result.fields[name] = after[skip:]

    def _combine_front(
        self, result: CardResult, reread: dict[str, tuple[np.ndarray, ctc.CharMatrix]]
    ) -> None:
        """The name and the ethnicity weighed again with the second reader's view of their value crops."""
        assert self.second is not None
        fields = list(reread)
        shapes = self.last_stage_ms.timed("shape_check", self.glyphs.evidence)
        seconds = self.second.char_matrices([reread[f][0] for f in fields])
        for field, second in zip(fields, seconds, strict=True):
            own, first = reread[field][1], result.fields.get(field, "")
            if field == "name":
                combined = combine_name(result, own, second, partial(shapes, reread[field][0]))
            else:
                combined = combine_ethnicity(result, own, second)
            if combined is not None and combined.text != first:
                self.last_combined[field] = (combined.text, combined.lead, combined.gain)

    def _second_read_ethnicity(self, result: CardResult, crop: np.ndarray, own: ctc.CharMatrix) -> None:
        """An ethnicity the engine chose among the 56 without reading it (kiosk.idcard.rules
        .ethnicity_guessed) is chosen again from the second reader's view of its crop; unless that view
        confirms it (the same name, a clear winner), it is highlighted. An ethnicity read outright costs no
        second model run."""
        assert self.second is not None
        if not ethnicity_guessed(result, [own]):
            return
        first = result.fields["ethnicity"]
        (matrix,) = self.second.char_matrices([crop])
        other = second_opinion_on_ethnicity(result, [matrix])
        if other is not None:
            self.last_disagreements["ethnicity"] = (first, other)

    def _second_read_name(self, card: np.ndarray, lines: list[Line], result: CardResult) -> None:
        """The name's value crop read by the second reader: a name it reads otherwise is highlighted."""
        assert self.second is not None
        name = result.fields.get("name")
        crop = name_value_crop(card, lines)
        if not name or crop is None:
            return
        (matrix,) = self.second.char_matrices([crop])
        second = "".join(ch for ch in ctc.greedy(matrix)[0] if ch == "·" or "\u3400" <= ch <= "\u9fff")
        if second != name:
            self.last_disagreements["name"] = (name, second)
            result.confidence["name"] = min(result.confidence.get("name", 0.0), DOUBTFUL_CONFIDENCE)

    def analyse(self, frame: np.ndarray, side: str = "auto") -> FrameReading:
        """One live frame: where the card is and, when it is fit to read, what it says."""
        self.last_stage_ms = StageTimes()
        with self.last_stage_ms.stage("find"):
            location = find_card(frame)
        if location is None:
            return FrameReading(card_found=False)
        if location.area_fraction < MIN_AREA_FRACTION:
            return FrameReading(card_found=True, too_small=True, position=_position(location))
        if location.touches_border:
            return FrameReading(card_found=True, incomplete=True, position=_position(location))
        result = self.read(frame, side, location)
        return FrameReading(card_found=True, position=_position(location), result=result)


def _settle_on_crops(
    card: np.ndarray,
    result: CardResult,
    engine: CharScoringEngine,
    name: str,
    rule: Callable[[CardResult, Callable[[], list[ctc.CharMatrix]], int], None],
) -> None:
    """A rule that weighs field ``name`` against its lines' crops scored again (the authority's place
    suffix, the address's province: kiosk.idcard.rules), given them only when it asks."""
    if name not in result.sources:
        return
    lines, skip = result.sources[name]

    def reread() -> list[ctc.CharMatrix]:
        crops = [line_crop(card, line) for line in lines]
        if any(c is None for c in crops):
            return []
        return engine.char_matrices([c for c in crops if c is not None])

    rule(result, reread, skip)


def _outside(quad: np.ndarray, shape: tuple[int, ...]) -> bool:
    """Whether a corner of the card's outline lies on or past the picture's edge: part of the card is cut
    off. Stricter than the finder's ``touches_border`` (which keeps a margin so the live reader asks for
    the card to be centred): a whole card lying a few pixels inside the edge is complete, and calling it
    cut off was 10 % of the warnings on hard photos (docs/benchmarks.md)."""
    height, width = shape[:2]
    return bool((quad < 1).any() or (quad[:, 0] > width - 2).any() or (quad[:, 1] > height - 2).any())


def _label_column(lines: list[Line]) -> float:
    """Where the labels (姓名, 性别, …) start across the card, from the lines that start with one. A line
    starting with a label's last character (址广西…: 住 faint, not read) starts a character right of the
    column, and with the labels lost the values' crops would start inside their first characters."""
    labels = [ln.x0 for ln in label_lines(lines) if ln.x0 < LABEL_COLUMN_MAX_X]
    return float(np.median(labels)) if labels else LABEL_COLUMN_DEFAULT


def name_value_crop(card: np.ndarray, lines: list[Line]) -> np.ndarray | None:
    """The name's value alone, cut from the rectified front ``card`` right of its label."""
    return _value_crop(card, lines, NAME_ROW, _label_column(lines) + NAME_VALUE_DX, None)


def birth_value_crop(card: np.ndarray, lines: list[Line]) -> np.ndarray | None:
    """The birth date's value alone (1990年3月7日, no 出生 label), cut from the rectified front ``card``: the
    row of the first line above the number's that reads as a date, right of where values start."""
    row = next((ln for ln in lines if ln.cy < BIRTH_ROW_MAX and re.search(BIRTH_DATE_TEXT, ln.text)), None)
    if row is None:
        return None
    band = (row.cy - BIRTH_ROW_HALF, row.cy + BIRTH_ROW_HALF)
    return _value_crop(card, lines, band, _label_column(lines) + NAME_VALUE_DX, None)


def _value_crop(
    card: np.ndarray,
    lines: list[Line],
    band: tuple[float, float],
    x0: float,
    x1: float | None,
    placed: bool = False,
) -> np.ndarray | None:
    """The part of a row right of ``x0`` (up to ``x1``, or the row's last text), padded a little; ``None``
    when nothing is left right of ``x0``, or no detected line falls in the row's band and (with ``placed``
    and an ``x1``) the row cannot be placed between its neighbours either."""
    row = _row_lines(lines, band, x0)
    if row:
        top, bottom = min(ln.y0 for ln in row), max(ln.y1 for ln in row)
    elif placed and x1 is not None and (between := _row_between(lines, band)) is not None:
        top, bottom = between
    else:
        return None
    top, bottom = max(0.0, top - CROP_PAD), min(1.0, bottom + CROP_PAD)
    right = x1 if x1 is not None else min(PORTRAIT_BOX[0], max(ln.x1 for ln in row) + CROP_PAD)
    px0, px1 = int(x0 * RECT_W), int(right * RECT_W)
    py0, py1 = int(top * RECT_H), int(bottom * RECT_H)
    if px1 - px0 < 8 or py1 - py0 < 8:
        return None
    return card[py0:py1, px0:px1]


def _row_lines(lines: list[Line], band: tuple[float, float], x0: float = 0.0) -> list[Line]:
    """The detected lines of the row whose centres fall in ``band`` that reach right of ``x0``."""
    # Text starting over the portrait is the photo's noise (as in parse_front), not part of the row.
    return [ln for ln in lines if band[0] <= ln.cy <= band[1] and x0 < ln.x1 and ln.x0 < PORTRAIT_BOX[0]]


def _row_between(lines: list[Line], band: tuple[float, float]) -> tuple[float, float] | None:
    """Top and bottom of a row the detector missed whole (faint brush strokes under glare, 傈僳 beside 性别
    女): the card's rows are evenly spaced, so it lies halfway between the nearest rows above and below,
    as tall as they are. ``None`` when either neighbour is missing or the midpoint falls outside ``band``."""
    left = [ln for ln in lines if ln.x0 < PORTRAIT_BOX[0]]
    above = [ln for ln in left if ln.cy < band[0]]
    below = [ln for ln in left if ln.cy > band[1]]
    if not above or not below:
        return None
    up = max(above, key=lambda ln: ln.cy)
    down = min(below, key=lambda ln: ln.cy)
    centre = (up.cy + down.cy) / 2
    if not band[0] <= centre <= band[1]:
        return None
    half = (up.y1 - up.y0 + down.y1 - down.y0) / 4
    return centre - half, centre + half


def line_crop(card: np.ndarray, line: Line) -> np.ndarray | None:
    """The recognised line's box cut from the rectified ``card`` (the box the engine read it from)."""
    height, width = card.shape[:2]
    x0, x1 = max(0, int(line.x0 * width)), min(width, int(np.ceil(line.x1 * width)))
    y0, y1 = max(0, int(line.y0 * height)), min(height, int(np.ceil(line.y1 * height)))
    if x1 - x0 < 8 or y1 - y0 < 8:
        return None
    return card[y0:y1, x0:x1]


def _joined(texts: Sequence[str]) -> str:
    """Lines joined as the parser joins a row: the card's letter spacing is no character."""
    return "".join(t.replace(" ", "") for t in texts)


def differs_in_value(first: str, second: str, skip: int) -> bool:
    """Whether two readings of a field's lines differ anywhere from character ``skip`` of ``first`` on
    (its value, past the label), aligned so that a character one reader dropped does not shift the rest.

    A character only the second reader has between the label and the value does not count: it reads the
    gap of letter-spaced layouts as one (住址邨…, 签发机关邨…: 4 of the 9 disagreements on the tuning faces,
    all on right fields), and the engine's own reading of that gap is what is returned. One only the
    engine has there (签发机关一…) does count."""
    matcher = difflib.SequenceMatcher(None, first, second, autojunk=False)
    return any(
        i2 > skip or (tag == "insert" and i1 > skip)
        for tag, i1, i2, _, _ in matcher.get_opcodes()
        if tag != "equal"
    )


def _likelier(texts: tuple[str, str], matrices: list[ctc.CharMatrix]) -> str:
    """The reading both models together find likelier (their log-likelihoods add: independent views)."""
    choice = ctc.choose(matrices, texts)
    return choice.text if choice is not None else texts[0]


def _position(location: CardLocation) -> tuple[float, float, float]:
    """(x, y, size) of the card: the reader compares successive positions to tell if the card is moving."""
    x, y = location.quad.mean(axis=0)
    size = float(np.linalg.norm(location.quad[1] - location.quad[0]))
    return float(x), float(y), size


def ocr_file(recogniser: IdCardRecogniser, path: Path, side: str = "auto") -> dict[str, Any]:
    """The ``kiosk ocr`` JSON object for one image file (ID number in full: this is the operators' tool)."""
    started = time.perf_counter()
    try:
        image = read_image(path)
    except UnreadableImage as err:
        return {"file": str(path), "error": str(err)}
    result = recogniser.read(image, side)
    out: dict[str, Any] = {"file": str(path), **result.to_json()}
    out["ms"] = round((time.perf_counter() - started) * 1000)
    return out
