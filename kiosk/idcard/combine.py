"""Two recognisers' views of one crop, combined where they read it differently (a product of experts).

The shipped recogniser (PP-OCRv6 small) and the second reader (PP-OCRv5 mobile, devices/second_reader.py)
were trained apart, so they slip on different characters of a typeface neither was trained on: the engine
reads 幸福屯 as 幸丽电, the second reader the same crop as 季福屯. Neither reading is right, and choosing one
of the two (the ``choose`` variant) cannot fix it. Here every candidate (both readings, every mix of their
differing stretches, the characters each model ranks high at a step where they differ; for the ethnicity
the 56 names) is scored under both models' CTC outputs on the same crop, the log-likelihoods added, and
the best one replaces the engine's reading only when it leads every other candidate by a margin. A field
whose combined reading is not the engine's is always highlighted: the combination decides what is shown
to the person, never that nothing needs confirming.

Recognised text is personal data: nothing here logs it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable

from kiosk.idcard import ctc
from kiosk.idcard.data import ETHNICITIES, simplified
from kiosk.idcard.model import CardResult
from kiosk.idcard.rules import NAME_LABEL, ShapeCheck

# Likeliest characters per step each model offers where the two readings differ by one character.
ALTERNATIVES = 3
# Nats by which the combined reading must lead every other candidate to replace the engine's reading
# (chosen on the tuning faces; docs/benchmarks.md, "Combining the two recognisers").
LINE_MARGIN = 2.0
ETHNICITY_MARGIN = 2.0
NAME_MARGIN = 2.0
# The confidence of a field the two models read differently: under LOW_CONFIDENCE, so it is highlighted.
DISPUTED_CONFIDENCE = 0.5


def _name_text(text: str) -> str:
    return re.sub(r"[^\u3400-\u9fff\u00b7]", "", text)


def line_candidates(engine: ctc.CharMatrix, second: ctc.CharMatrix, first: str) -> set[str]:
    """Candidates for a line the engine read as ``first`` (spaces left out), from both models' matrices on
    its crop (``ctc.spaces_as_blank`` applied): both readings, their mixes and per-step alternatives, and
    the simplified form of each (cards print simplified characters; PP-OCRv5 often writes traditional)."""
    own, own_options = ctc.greedy(engine, ALTERNATIVES)
    read, options = ctc.greedy(second, ALTERNATIVES)
    # The engine's own step alternatives line up with ``first`` only if this crop reads the same to it.
    out = ctc.merged_candidates(first, read, own_options if own == first else (), options)
    return out | {simplified(text) for text in out}


def combine_line(
    engine: ctc.CharMatrix, second: ctc.CharMatrix, first: str, margin: float | None = None
) -> tuple[str, ctc.Combined | None]:
    """(the line's reading, the combination) for a line the engine read as ``first``: the combined
    reading where it leads by ``margin`` nats, else ``first``. Both matrices are of the same crop."""
    engine, second = ctc.spaces_as_blank(engine), ctc.spaces_as_blank(second)
    first = first.replace(" ", "")
    combined = ctc.combine([engine, second], line_candidates(engine, second, first), first)
    if (
        combined is None
        # The engine's matrix on this crop favours another candidate than the line it read (its own crop
        # was cut wider): it is no view of its reading, and the two models could agree on a slip (幸福屯
        # read 幸福电 by both on the narrower crop), so the reading stands, highlighted.
        or not combined.supported
        or combined.text == first
        or combined.lead < (LINE_MARGIN if margin is None else margin)
    ):
        return first, combined
    return combined.text, combined


def combine_ethnicity(
    result: CardResult,
    engine: ctc.CharMatrix,
    second: ctc.CharMatrix,
    margin: float | None = None,
) -> ctc.Combined | None:
    """The ethnicity the engine's re-read chose (``result``), weighed again with the second reader's view
    of the same crop, over the 56 names: another name is taken when it leads by ``margin`` nats; either
    way, a field the two models together would read otherwise is highlighted. Nothing is done where the
    second reader reads the chosen name itself."""
    first = result.fields.get("ethnicity", "")
    engine, second = ctc.spaces_as_blank(engine), ctc.spaces_as_blank(second)
    if not first or ctc.greedy(second)[0] == first:
        return None
    combined = ctc.combine([engine, second], ETHNICITIES, first)
    _settle(result, "ethnicity", first, combined, ETHNICITY_MARGIN if margin is None else margin)
    return combined


def combine_name(
    result: CardResult,
    engine: ctc.CharMatrix,
    second: ctc.CharMatrix,
    shape_check: ShapeCheck | None = None,
    margin: float | None = None,
) -> ctc.Combined | None:
    """The name the engine's re-read chose (``result``), weighed again with the second reader's view of
    the same value crop where that reads another name: candidates are the two readings, their mixes, the
    characters either model ranks high where they differ, and simplified forms, scored under both models
    and, where ``shape_check`` judges the crop, by their printed shapes too (as the re-read chose: a rare
    character its shapes rescued is not given up to two models that both favour a common look-alike).
    Another name is taken when it leads by ``margin`` nats, and a name the two models together would read
    otherwise is highlighted."""
    first = result.fields.get("name", "")
    engine, second = ctc.spaces_as_blank(engine), ctc.spaces_as_blank(second)
    own, own_options = ctc.greedy(engine, ALTERNATIVES)
    read, options = ctc.greedy(second, ALTERNATIVES)
    if not first or own.startswith(NAME_LABEL) or read.startswith(NAME_LABEL):
        return None  # the crop shows the label: its text is no candidate for the name
    own_options = [o for ch, o in zip(own, own_options, strict=True) if _name_text(ch)]
    options = [o for ch, o in zip(read, options, strict=True) if _name_text(ch)]
    own, read = _name_text(own), _name_text(read)
    if not read or read == first:
        return None
    candidates = ctc.merged_candidates(first, read, own_options if own == first else (), options)
    candidates = {_name_text(c) for c in candidates | {simplified(c) for c in candidates}}
    evidence = _shape_evidence(shape_check, first, candidates)
    combined = ctc.combine([engine, second], candidates, first, evidence)
    # A name the re-read took against the engine's own likelihoods (its shapes rescued a rare character:
    # 隗 over 院, 厍 over 库) is one both models tend to doubt alike: only highlighted.
    _settle(result, "name", first, combined, NAME_MARGIN if margin is None else margin)
    return combined


def _shape_evidence(
    shape_check: ShapeCheck | None, first: str, candidates: set[str]
) -> Callable[[str], float] | None:
    """Nats of printed-shape evidence per candidate of the length the crop was cut into (the first
    reading's): one shape check over the characters the candidates put at each position."""
    if shape_check is None:
        return None
    same = [c for c in candidates if len(c) == len(first)]
    options = [[first[i], *dict.fromkeys(c[i] for c in same if c[i] != first[i])] for i in range(len(first))]
    cells = shape_check(options)
    if cells is None:
        return None
    return lambda text: (
        sum(cell.get(ch, 0.0) for cell, ch in zip(cells, text, strict=True))
        if len(text) == len(cells)
        else 0.0
    )


def _settle(
    result: CardResult,
    name: str,
    first: str,
    combined: ctc.Combined | None,
    margin: float,
) -> None:
    """The combined reading replaces ``first`` where it leads by ``margin`` and the engine's own matrix
    favours ``first`` among the candidates; the field is highlighted whenever they differ."""
    if combined is None or combined.text == first:
        return
    if combined.supported and combined.lead >= margin and math.isfinite(combined.gain):
        result.fields[name] = combined.text
    result.confidence[name] = min(result.confidence.get(name, 0.0), DISPUTED_CONFIDENCE)
