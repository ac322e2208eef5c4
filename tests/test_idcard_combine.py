"""Combining two recognisers' views of one crop (kiosk/idcard/combine.py) on synthetic CTC matrices."""

from __future__ import annotations

import numpy as np

from kiosk.idcard import combine, ctc
from kiosk.idcard.model import LOW_CONFIDENCE, CardResult

ALPHABET = [
    "<blank>",
    "幸",
    "季",
    "福",
    "丽",
    "屯",
    "电",
    "侗",
    "白",
    "土",
    "家",
    "汉",
    "张",
    "伟",
    "傑",
    "杰",
    "姓",
    "名",
    " ",
]


def _matrix(steps: list[dict[str, float]]) -> ctc.CharMatrix:
    """A crop's matrix: one step per entry (the given probabilities, the rest spread evenly), a sure blank
    between characters, as a recogniser's output looks."""
    rows = []
    for step in steps:
        for probs in (step, {"<blank>": 0.97}):
            row = np.full(len(ALPHABET), (1.0 - sum(probs.values())) / (len(ALPHABET) - len(probs)))
            for ch, p in probs.items():
                row[ALPHABET.index(ch)] = p
            rows.append(row)
    index = {ch: i for i, ch in enumerate(ALPHABET) if i}
    return ctc.CharMatrix(np.log(np.array(rows)), ALPHABET, index)


# The engine reads 幸福屯 as 幸丽电 (two slips, each with the right character close behind); the second
# reader slips on the first character instead (季) and reads 福屯. Neither reading is right.
ENGINE = _matrix([{"幸": 0.9}, {"丽": 0.5, "福": 0.45}, {"电": 0.5, "屯": 0.45}])
SECOND = _matrix([{"季": 0.55, "幸": 0.4}, {"福": 0.9}, {"屯": 0.9}])


def test_mixes_of_two_readings_and_their_step_alternatives_are_candidates() -> None:
    candidates = ctc.merged_candidates("幸丽电", "季福屯", [["幸"], ["丽", "福"], ["电", "屯"]])
    assert {"幸丽电", "季福屯", "幸福屯", "季丽屯"} <= candidates
    # A stretch one reading lacks is taken or left as a whole, without shifting the rest.
    assert ctc.merged_candidates("土家族", "土族", []) == {"土家族", "土族"}
    # Too many mixes: the two readings and every single-stretch change of the first only.
    capped = ctc.merged_candidates("幸丽电", "季福屯", limit=4)
    assert capped == {"幸丽电", "季福屯", "季丽电", "幸福电", "幸丽屯"}


def test_space_counts_as_blank() -> None:
    spaced = _matrix([{"幸": 0.9}, {" ": 0.9}, {"福": 0.9}])
    assert ctc.greedy(spaced)[0] == "幸 福"
    assert ctc.greedy(ctc.spaces_as_blank(spaced))[0] == "幸福"
    gain = ctc.score(ctc.spaces_as_blank(spaced), "幸福") - ctc.score(spaced, "幸福")
    assert gain > 4  # without the merge, the space the model saw costs the spaceless reading dearly


def test_both_models_together_read_what_neither_read_alone() -> None:
    assert ctc.greedy(ENGINE)[0] == "幸丽电" and ctc.greedy(SECOND)[0] == "季福屯"
    text, combined = combine.combine_line(ENGINE, SECOND, "幸丽电")
    assert text == "幸福屯"
    assert combined is not None and combined.lead >= combine.LINE_MARGIN and combined.gain > 0
    # Choosing one of the two readings (the ``choose`` variant) could not have returned it.
    assert ctc.choose([ENGINE, SECOND], ["幸丽电", "季福屯"]).text != "幸福屯"


def test_a_combination_without_a_clear_lead_keeps_the_engines_reading() -> None:
    # The second reader as unsure as the engine, the other way round: no candidate leads by the margin.
    unsure = _matrix([{"幸": 0.9}, {"福": 0.5, "丽": 0.45}, {"屯": 0.5, "电": 0.45}])
    text, combined = combine.combine_line(ENGINE, unsure, "幸丽电")
    assert text == "幸丽电"
    assert combined is not None and combined.lead < combine.LINE_MARGIN


def test_ethnicity_taken_from_both_views_and_highlighted() -> None:
    # The engine's re-read chose 白 for a brush-face 侗 it barely told apart; the second reader is sure of 侗.
    engine = _matrix([{"白": 0.5, "侗": 0.4}])
    second = _matrix([{"侗": 0.9}])
    result = CardResult("front", {"ethnicity": "白"}, {"ethnicity": 0.95})
    combined = combine.combine_ethnicity(result, engine, second)
    assert combined is not None and combined.text == "侗"
    assert result.fields["ethnicity"] == "侗"
    assert result.confidence["ethnicity"] < LOW_CONFIDENCE  # taken, still shown for confirmation


def test_ethnicity_kept_when_the_second_reader_agrees_and_highlighted_when_it_only_doubts() -> None:
    engine = _matrix([{"白": 0.9}])
    agreeing = CardResult("front", {"ethnicity": "白"}, {"ethnicity": 0.95})
    assert combine.combine_ethnicity(agreeing, engine, _matrix([{"白": 0.8}])) is None
    assert agreeing.confidence["ethnicity"] == 0.95
    # The second reader leans to 侗 but not enough to outweigh the engine: 白 stays, highlighted.
    doubted = CardResult("front", {"ethnicity": "白"}, {"ethnicity": 0.95})
    combine.combine_ethnicity(doubted, _matrix([{"白": 0.55, "侗": 0.4}]), _matrix([{"侗": 0.6, "白": 0.35}]))
    assert doubted.fields["ethnicity"] == "白" and doubted.confidence["ethnicity"] < LOW_CONFIDENCE


def test_second_readers_traditional_form_does_not_overturn_a_name() -> None:
    # PP-OCRv5 writes 傑 where the card prints 杰; the engine is sure of 杰. Both together keep 杰 and
    # nothing is highlighted for it.
    engine = _matrix([{"张": 0.95}, {"杰": 0.9, "傑": 0.05}])
    second = _matrix([{"张": 0.95}, {"傑": 0.6, "杰": 0.35}])
    result = CardResult("front", {"name": "张杰"}, {"name": 0.95})
    combined = combine.combine_name(result, engine, second)
    assert combined is not None and combined.text == "张杰"
    assert result.fields["name"] == "张杰" and result.confidence["name"] == 0.95


def test_name_character_the_engine_barely_missed_is_taken_from_both_views() -> None:
    # The engine read 张白 with 家 close behind; the second reader is sure of 家 (as 史 for 殳).
    engine = _matrix([{"张": 0.95}, {"白": 0.5, "家": 0.45}])
    second = _matrix([{"张": 0.95}, {"家": 0.9}])
    result = CardResult("front", {"name": "张白"}, {"name": 0.95})
    combined = combine.combine_name(result, engine, second)
    assert combined is not None and combined.lead >= combine.NAME_MARGIN
    assert result.fields["name"] == "张家" and result.confidence["name"] < LOW_CONFIDENCE


def test_name_the_shapes_rescued_is_not_given_up_to_both_models() -> None:
    # The re-read took 家 over the engine's greedy 白 on its printed shape (a rare character rescued, 隗
    # over 院); both models lean to 白 by more than the margin: the name stays, highlighted.
    engine = _matrix([{"张": 0.95}, {"白": 0.65, "家": 0.25}])
    second = _matrix([{"张": 0.95}, {"白": 0.9, "家": 0.05}])
    result = CardResult("front", {"name": "张家"}, {"name": 0.6})
    combined = combine.combine_name(result, engine, second)
    assert combined is not None and combined.text == "张白" and combined.lead >= combine.NAME_MARGIN
    assert result.fields["name"] == "张家" and result.confidence["name"] < LOW_CONFIDENCE


def test_line_the_engine_reads_otherwise_on_this_crop_is_not_overturned() -> None:
    # The engine's line (幸福屯, from its own wider crop) reads 幸福电 on the crop both models see here, and
    # so does the second reader: their agreement is no evidence against what the engine read.
    engine = _matrix([{"幸": 0.9}, {"福": 0.9}, {"电": 0.6, "屯": 0.35}])
    second = _matrix([{"幸": 0.9}, {"福": 0.9}, {"电": 0.9}])
    text, combined = combine.combine_line(engine, second, "幸福屯")
    assert combined is not None and combined.text == "幸福电" and combined.lead >= combine.LINE_MARGIN
    assert text == "幸福屯"


def test_a_crop_showing_the_label_is_not_combined() -> None:
    # A name crop cut too far left shows 姓名: its text is no candidate for the name.
    engine = _matrix([{"张": 0.95}, {"伟": 0.95}])
    labelled = _matrix([{"姓": 0.95}, {"名": 0.95}, {"张": 0.95}, {"伟": 0.95}])
    result = CardResult("front", {"name": "张伟"}, {"name": 0.95})
    assert combine.combine_name(result, engine, labelled) is None
    assert result.fields["name"] == "张伟" and result.confidence["name"] == 0.95
