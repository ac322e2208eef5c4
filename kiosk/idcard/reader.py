"""Live capture: read frame after frame until the fields are stable and consistent, prompting the person.

``CardReader`` holds no camera and no engine: it is fed ``FrameReading`` objects (from
``devices.idcard.IdCardRecogniser.analyse``, or a fake in tests) and answers with the prompt to show and,
once two readings agree on every field and the card's own checks hold, the final ``CardResult``. A GUI
worker thread calls ``feed`` per analysed frame and posts the ``ReaderUpdate`` to the screen.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from math import prod

from kiosk.i18n import Message
from kiosk.idcard.model import BACK_FIELDS, FRONT_FIELDS, LOW_CONFIDENCE, CardResult

MOVE_TOLERANCE = 0.04  # card moved by more than this share of its width between frames: "hold still"
# Warnings that say the frame cannot show the whole card, so its reading is not voted with.
FRAME_DEFECTS = ("incomplete",)
# Picture warnings that belong to one frame, not to the card: not carried into the settled result.
PICTURE_WARNINGS = ("blur", "glare", "incomplete")
# Warnings that say the fields contradict each other, so the reading cannot settle the vote.
INCONSISTENT = ("id_checksum", "id_birth_mismatch", "id_sex_mismatch", "invalid_validity")


def _agreed_confidence(scores: list[float]) -> float:
    """How sure a field is that several frames read alike, from each frame's confidence in it.

    A frame that doubted the field (the second reader read it otherwise, the shape check overturned it, a
    check corrected it) is not outvoted by one that did not: frames of one held card share its print, light
    and blur, so a misread repeats and agreement is no second opinion (bench.idcard_held: two wrong names in
    180 tuning cards went unhighlighted when agreement raised a doubted field). Where every frame is sure,
    agreeing frames leave less room for a misread than one frame does."""
    if min(scores) < LOW_CONFIDENCE:
        return min(scores)
    return max(max(scores), 1.0 - prod(1.0 - c for c in scores))


@dataclass(frozen=True)
class FrameReading:
    """What one frame showed: whether a card is there, why it cannot be read, and the reading if any."""

    card_found: bool
    too_small: bool = False
    incomplete: bool = False
    position: tuple[float, float, float] | None = None  # card centre x, y and width, frame pixels
    result: CardResult | None = None


@dataclass(frozen=True)
class ReaderUpdate:
    """``state`` is "searching", "reading", "done" or "gave_up"; ``result`` is set for the last two (on
    "gave_up" it is the best guess, every unsure field flagged, for the manual-entry fallback)."""

    state: str
    prompt: Message
    result: CardResult | None = None


@dataclass
class CardReader:
    """Votes per field over successive readings of one side; ``side`` "auto" accepts the first side seen.

    Done when every field of the side has the same value in ``agree`` consistent readings (the check digit
    holds, dates agree). Gives up after ``max_readings`` OCR'd frames, returning the best vote.
    """

    side: str = "auto"
    agree: int = 2
    max_readings: int = 12
    _readings: list[CardResult] = field(default_factory=list)
    _last_position: tuple[float, float, float] | None = None
    _finished: ReaderUpdate | None = None

    def reset(self) -> None:
        self._readings.clear()
        self._last_position = None
        self._finished = None

    def feed(self, reading: FrameReading) -> ReaderUpdate:
        if self._finished is not None:
            return self._finished
        moving = self._moved(reading.position)
        self._last_position = reading.position
        if not reading.card_found:
            return ReaderUpdate("searching", Message("ocr.prompt.place_card"))
        if reading.too_small:
            return ReaderUpdate("searching", Message("ocr.prompt.too_small"))
        if reading.incomplete:
            return ReaderUpdate("searching", Message("ocr.prompt.incomplete"))
        result = reading.result
        if result is None:
            return ReaderUpdate("reading", Message("ocr.prompt.hold_still"))
        wanted = (
            self.side if self.side != "auto" else (self._readings[0].side if self._readings else result.side)
        )
        if result.side != wanted:
            key = "ocr.prompt.show_front" if wanted == "front" else "ocr.prompt.show_back"
            return ReaderUpdate("searching", Message(key))
        # A blurred or glary frame still votes: agreement across frames and the checks guard the result.
        if not any(w in result.warnings for w in FRAME_DEFECTS):
            self._readings.append(result)
        settled = self._settled(wanted)
        if settled is not None:
            self._finished = ReaderUpdate("done", Message("ocr.prompt.done"), settled)
            return self._finished
        if len(self._readings) >= self.max_readings:
            self._finished = ReaderUpdate("gave_up", Message("ocr.prompt.check_fields"), self._best(wanted))
            return self._finished
        if "glare" in result.warnings:
            return ReaderUpdate("reading", Message("ocr.prompt.glare"))
        if "blur" in result.warnings:
            return ReaderUpdate("reading", Message("ocr.prompt.blur"))
        prompt = "ocr.prompt.hold_still" if moving or self._readings else "ocr.prompt.place_card"
        return ReaderUpdate("reading", Message(prompt))

    def _moved(self, position: tuple[float, float, float] | None) -> bool:
        if position is None or self._last_position is None:
            return False
        (x0, y0, w0), (x1, y1, _) = self._last_position, position
        return max(abs(x1 - x0), abs(y1 - y0)) > MOVE_TOLERANCE * max(w0, 1.0)

    def _consistent(self) -> list[CardResult]:
        return [r for r in self._readings if not any(w in r.warnings for w in INCONSISTENT) and r.complete]

    def _settled(self, side: str) -> CardResult | None:
        names = FRONT_FIELDS if side == "front" else BACK_FIELDS
        readings = self._consistent()
        if len(readings) < self.agree:
            return None
        votes = Counter(tuple(r.fields.get(n, "") for n in names) for r in readings)
        values, count = votes.most_common(1)[0]
        if count < self.agree:
            return None
        agreeing = [r for r in readings if tuple(r.fields.get(n, "") for n in names) == values]
        return self._merge(side, agreeing)

    def _best(self, side: str) -> CardResult:
        """Per field, the value read most often (ties: the more confident); used only when giving up."""
        names = FRONT_FIELDS if side == "front" else BACK_FIELDS
        pool = self._consistent() or self._readings
        merged = CardResult(side=side)
        for name in names:
            counts = Counter(r.fields.get(name, "") for r in pool if r.fields.get(name))
            if not counts:
                continue
            value = max(counts, key=lambda v: (counts[v], max(r.confidence.get(name, 0) for r in pool)))
            merged.fields[name] = value
            scores = [r.confidence.get(name, 0.0) for r in pool if r.fields.get(name) == value]
            # One frame alone is not corroboration: below the single best confidence seen.
            merged.confidence[name] = (
                _agreed_confidence(scores) if counts[value] >= self.agree else 0.8 * max(scores)
            )
        for r in pool:
            for warning in r.warnings:
                if warning not in PICTURE_WARNINGS:
                    merged.warn(warning)
        merged.warn("low_confidence")
        return merged

    def _merge(self, side: str, agreeing: list[CardResult]) -> CardResult:
        last = agreeing[-1]
        merged = CardResult(
            side=side,
            fields=dict(last.fields),
            quality=max((r.quality or 0.0) for r in agreeing),
            card_image=last.card_image,
            portrait_image=last.portrait_image,
        )
        for name in merged.fields:
            merged.confidence[name] = _agreed_confidence([r.confidence.get(name, 0.0) for r in agreeing])
        for r in agreeing:
            for warning in r.warnings:
                if warning not in PICTURE_WARNINGS and warning != "low_confidence":
                    merged.warn(warning)
        if merged.low_confidence_fields():
            merged.warn("low_confidence")
        return merged
