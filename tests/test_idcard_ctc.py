"""CTC scoring against a recogniser's per-step probabilities, and the re-reading rules built on it."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from kiosk.idcard import ctc, rules
from kiosk.idcard.data import ETHNICITIES
from kiosk.idcard.model import LOW_CONFIDENCE, CardResult
from kiosk.idcard.rules import reread_ethnicity, reread_name


def _matrix(alphabet: list[str], steps: list[dict[str, float]]) -> ctc.CharMatrix:
    """Each step's probabilities as given, the rest of the mass spread evenly over the other columns."""
    probs = np.zeros((len(steps), len(alphabet)))
    for t, step in enumerate(steps):
        rest = (1.0 - sum(step.values())) / (len(alphabet) - len(step))
        probs[t] = rest
        for ch, p in step.items():
            probs[t, alphabet.index(ch)] = p
    index = {ch: i for i, ch in enumerate(alphabet) if i}
    return ctc.CharMatrix(np.log(probs), alphabet, index)


def _brute_force(logp: np.ndarray, label: list[int]) -> float:
    """Sum over every path that collapses (merge repeats, drop blanks) to ``label``."""
    total = 0.0
    for path in itertools.product(range(logp.shape[1]), repeat=logp.shape[0]):
        merged = [c for i, c in enumerate(path) if i == 0 or c != path[i - 1]]
        if [c for c in merged if c != ctc.BLANK] == label:
            total += float(np.exp(sum(logp[t, c] for t, c in enumerate(path))))
    return float(np.log(total))


@pytest.mark.parametrize("label", [[1], [1, 2], [1, 1], [2, 1, 2], []])
def test_forward_algorithm_matches_the_sum_over_all_alignments(label: list[int]) -> None:
    rng = np.random.default_rng(3)
    logits = rng.normal(size=(5, 3))
    logp = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    assert ctc.log_likelihood(logp, label) == pytest.approx(_brute_force(logp, label), rel=1e-9)


def test_labels_scored_together_match_the_sum_over_all_alignments() -> None:
    # Candidates of one length share one forward pass, a row each: no row may leak into another, and
    # mixed lengths, repeats, the empty label and one too long for the steps each keep their own value.
    rng = np.random.default_rng(5)
    logits = rng.normal(size=(5, 3))
    logp = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    labels = [[1, 2], [2, 2], [2, 1], [1, 1], [1], [], [2, 1, 2], [1, 2, 1, 2, 1, 2]]
    together = ctc.log_likelihoods(logp, labels)
    for label, value in zip(labels[:-1], together[:-1], strict=True):
        assert value == pytest.approx(_brute_force(logp, label), rel=1e-9), label
    assert together[-1] == ctc.UNSCORABLE
    assert list(together) == [ctc.log_likelihood(logp, label) for label in labels]


def test_label_longer_than_the_steps_cannot_be_scored() -> None:
    logp = np.log(np.full((2, 3), 1 / 3))
    assert ctc.log_likelihood(logp, [1, 2, 1]) == ctc.UNSCORABLE


def test_greedy_reading_and_alternatives() -> None:
    alphabet = ["blank", "库", "厍", "丽", "军"]
    m = _matrix(alphabet, [{"库": 0.7, "厍": 0.25}, {"blank": 0.9}, {"丽": 0.95}])
    text, options = ctc.greedy(m, alternatives=2)
    assert text == "库丽"
    assert options[0] == ["库", "厍"]
    assert ctc.one_substitution_candidates(text, options) >= {"库丽", "厍丽"}


def test_choose_adds_views_and_skips_unknown_characters() -> None:
    alphabet = ["blank", "芈", "华", "桂"]
    blurred = _matrix(alphabet, [{"华": 0.55, "芈": 0.4}, {"桂": 0.95}])
    sharper = _matrix(alphabet, [{"芈": 0.8, "华": 0.15}, {"桂": 0.95}])
    assert ctc.choose([blurred], ["华桂", "芈桂"]).text == "华桂"
    both = ctc.choose([blurred, sharper], ["华桂", "芈桂", "䶮桂"])  # 䶮 is not in this alphabet
    assert both is not None and both.text == "芈桂" and both.runner_up == "华桂"
    assert 0.5 < both.posterior < 1.0
    assert ctc.choose([blurred], ["䶮"]) is None


def _ethnicity_alphabet() -> list[str]:
    chars = sorted({ch for name in ETHNICITIES for ch in name} | {"舞", "备"})
    return ["blank", *chars]


def test_ethnicity_is_chosen_among_the_56_not_spelled_out() -> None:
    alphabet = _ethnicity_alphabet()
    # Greedy reads 舞 (not an ethnicity); 彝 is the runner-up at that step and the only member that fits.
    m = _matrix(alphabet, [{"blank": 0.9}, {"舞": 0.6, "彝": 0.35}, {"blank": 0.95}])
    assert ctc.greedy(m)[0] == "舞"
    result = CardResult("front", {"ethnicity": "舞"}, {"ethnicity": 0.9})
    reread_ethnicity(result, [m])
    assert result.fields["ethnicity"] == "彝"
    assert result.confidence["ethnicity"] >= 0.9


def test_unclear_ethnicity_is_highlighted() -> None:
    alphabet = _ethnicity_alphabet()
    # 土 and 土家 both fit a crop whose second character is faint: no clear winner, so it is reviewed.
    m = _matrix(alphabet, [{"土": 0.95}, {"家": 0.5, "blank": 0.45}, {"blank": 0.95}])
    result = CardResult("front", {"ethnicity": "土家"}, {"ethnicity": 0.99})
    reread_ethnicity(result, [m])
    assert result.fields["ethnicity"] in ("土", "土家")
    assert result.confidence["ethnicity"] < LOW_CONFIDENCE


def test_ethnicity_read_as_no_name_at_all_is_highlighted_when_another_shape_fits() -> None:
    alphabet = [*_ethnicity_alphabet(), "#"]
    # A blurred 彝 is a blob: the recogniser reads "#", and among the 56 the simple 白 contradicts it least.
    m = _matrix(alphabet, [{"blank": 0.9}, {"#": 0.6, "白": 0.39}, {"blank": 0.95}])
    asked: list[list[list[str]]] = []

    def shapes(fit_of_yi: float) -> rules.ShapeCheck:
        def check(options: list[list[str]]) -> list[dict[str, float]]:
            asked.append(options)
            return [{ch: (fit_of_yi if ch == "彝" else 0.0) for ch in options[0]}]

        return check

    result = CardResult("front", {"ethnicity": "#"}, {"ethnicity": 0.9})
    reread_ethnicity(result, [m], shapes(rules.ETHNICITY_SHAPE_MARGIN + 3))
    assert result.fields["ethnicity"] == "白"  # left as chosen: the shapes only call for a look
    assert result.confidence["ethnicity"] < LOW_CONFIDENCE
    # Only single-character names compete with 白, and the chosen one is the reading the shapes are
    # measured against.
    assert asked[-1][0][0] == "白" and "彝" in asked[-1][0] and "蒙" not in asked[-1][0]
    faint = CardResult("front", {"ethnicity": "#"}, {"ethnicity": 0.9})
    reread_ethnicity(faint, [m], shapes(rules.ETHNICITY_SHAPE_MARGIN - 3))
    assert faint.fields["ethnicity"] == "白" and faint.confidence["ethnicity"] >= LOW_CONFIDENCE


def test_ethnicity_read_as_itself_is_not_shape_checked() -> None:
    alphabet = _ethnicity_alphabet()
    m = _matrix(alphabet, [{"blank": 0.9}, {"回": 0.95}, {"blank": 0.95}])

    def must_not_run(options: list[list[str]]) -> list[dict[str, float]]:
        raise AssertionError("the shape check is for readings that are no ethnicity")

    result = CardResult("front", {"ethnicity": "回"}, {"ethnicity": 0.9})
    reread_ethnicity(result, [m], must_not_run)
    assert result.fields["ethnicity"] == "回" and result.confidence["ethnicity"] >= LOW_CONFIDENCE


def test_a_guessed_ethnicity_is_highlighted_where_another_models_view_favours_another() -> None:
    alphabet = [*_ethnicity_alphabet(), "一"]
    # A blurred 怒 read 一 (no ethnicity): among the 56, 水 contradicts it least, and the engine is sure.
    m = _matrix(alphabet, [{"blank": 0.9}, {"一": 0.6, "水": 0.35, "怒": 0.005}, {"blank": 0.95}])
    result = CardResult("front", {"ethnicity": "一"}, {"ethnicity": 0.9})
    reread_ethnicity(result, [m])
    assert result.fields["ethnicity"] == "水" and rules.ethnicity_guessed(result, [m])
    assert result.confidence["ethnicity"] >= LOW_CONFIDENCE  # passes unseen on the engine's view alone
    other = _matrix(alphabet, [{"blank": 0.9}, {"白": 0.5, "怒": 0.3, "水": 0.1}, {"blank": 0.95}])
    assert rules.second_opinion_on_ethnicity(result, [other]) == "白"
    assert result.fields["ethnicity"] == "水"  # neither guess overrules the other
    assert result.confidence["ethnicity"] < LOW_CONFIDENCE
    agreeing = _matrix(alphabet, [{"blank": 0.9}, {"水": 0.9, "怒": 0.005}, {"blank": 0.95}])
    kept = CardResult("front", {"ethnicity": "水"}, {"ethnicity": 0.9})
    assert rules.second_opinion_on_ethnicity(kept, [agreeing]) is None
    assert kept.confidence["ethnicity"] == 0.9
    # The same name without a clear lead over another is no confirmation: two unsure guesses agreeing.
    unsure = _matrix(alphabet, [{"blank": 0.9}, {"水": 0.5, "怒": 0.3}, {"blank": 0.95}])
    assert rules.second_opinion_on_ethnicity(kept, [unsure]) == "水"
    assert kept.fields["ethnicity"] == "水" and kept.confidence["ethnicity"] < LOW_CONFIDENCE
    # Read outright, it is no guess.
    sure = _matrix(alphabet, [{"blank": 0.9}, {"水": 0.95}, {"blank": 0.95}])
    assert not rules.ethnicity_guessed(kept, [sure])


def test_name_reread_drops_a_leaked_label_and_flags_a_close_call() -> None:
    alphabet = ["blank", "书", "何", "秋", "霞", "露"]
    # The value crop holds only the name; the parsed text had the label 名 misread as 书 in front of it.
    m = _matrix(alphabet, [{"何": 0.97}, {"blank": 0.9}, {"秋": 0.97}, {"霞": 0.52, "露": 0.45}])
    result = CardResult("front", {"name": "书何秋霞"}, {"name": 0.8})
    reread_name(result, [m])
    assert result.fields["name"] == "何秋霞"
    assert result.confidence["name"] < LOW_CONFIDENCE  # 霞 vs 露 is too close to call: highlighted
    clear = _matrix(alphabet, [{"何": 0.97}, {"秋": 0.97}, {"霞": 0.97}])
    result = CardResult("front", {"name": "书何秋霞"}, {"name": 0.8})
    reread_name(result, [clear])
    assert result.fields["name"] == "何秋霞" and result.confidence["name"] >= 0.9


def test_name_crop_that_shows_the_label_is_scored_with_it_and_returns_the_name_alone() -> None:
    alphabet = ["blank", "姓", "名", "邝", "文", "郎"]
    steps = [{"姓": 0.97}, {"名": 0.97}, {"邝": 0.95, "郎": 0.03}, {"文": 0.97}]
    result = CardResult("front", {"name": "邝文"}, {"name": 0.8})
    reread_name(result, [_matrix(alphabet, steps)])
    assert result.fields["name"] == "邝文"
    assert result.confidence["name"] >= 0.8  # 邝 clearly beats 郎 once the label is accounted for


def test_two_substitution_candidates_change_two_characters_from_the_top_alternatives() -> None:
    options = [["库", "厍", "军"], ["宇", "字"], ["超", "起"]]
    out = ctc.two_substitution_candidates("库宇超", options, 2)
    assert "厍字超" in out and "厍宇起" in out and "库字起" in out
    assert not any("军" in text for text in out)  # third alternative: beyond the two asked for
    assert all(len(text) == 3 for text in out)


def test_name_shape_evidence_overturns_a_look_alike_only_where_it_is_given() -> None:
    alphabet = ["blank", "库", "厍", "宇", "字"]
    # The recogniser prefers the common 库 over the rare 厍 by about 1.3 nats.
    m = _matrix(alphabet, [{"库": 0.7, "厍": 0.19}, {"blank": 0.9}, {"宇": 0.97}])
    seen: list[list[list[str]]] = []

    def shapes_favour_she(options: list[list[str]]) -> list[dict[str, float]]:
        seen.append(options)
        return [{"库": 0.0, "厍": 3.0}, {"宇": 0.0, "字": -4.0}]

    result = CardResult("front", {"name": "库宇"}, {"name": 0.8})
    reread_name(result, [m], [shapes_favour_she])
    assert result.fields["name"] == "厍宇"
    assert result.confidence["name"] < LOW_CONFIDENCE  # overturning the recogniser is always confirmed
    assert seen and seen[0][0][:2] == ["库", "厍"]  # the check sees the reading first, then the guesses
    result = CardResult("front", {"name": "库宇"}, {"name": 0.8})
    reread_name(result, [m], [lambda options: None])  # no verdict (a crop it cannot split): as read
    assert result.fields["name"] == "库宇"
    result = CardResult("front", {"name": "库宇"}, {"name": 0.8})
    reread_name(result, [m], [lambda options: [{"库": 0.0, "厍": 0.5}, {"宇": 0.0}]])
    assert result.fields["name"] == "库宇"  # weak shape evidence does not outweigh the recogniser
    assert result.confidence["name"] < LOW_CONFIDENCE  # but leaves the call too close: highlighted


def test_name_read_in_a_traditional_form_takes_the_printed_simplified_one_if_the_ink_allows() -> None:
    # 黄 in a brush face, read as its traditional form 黃: a card prints the simplified standard form, and
    # the recogniser found 黄 nearly as likely.
    alphabet = ["blank", "黃", "黄", "王", "昇", "升"]
    m = _matrix(alphabet, [{"黃": 0.6, "黄": 0.35}, {"blank": 0.9}, {"王": 0.97}])
    result = CardResult("front", {"name": "黃王"}, {"name": 0.99})
    reread_name(result, [m])
    assert result.fields["name"] == "黄王"
    assert result.confidence["name"] < LOW_CONFIDENCE and "field_corrected" in result.warnings
    # 昇 is a standard name character OpenCC would still turn into 升, which looks nothing like it: the
    # recogniser found 升 far less likely, so the name stays as read.
    sure = _matrix(alphabet, [{"王": 0.97}, {"昇": 0.97, "升": 0.001}])
    result = CardResult("front", {"name": "王昇"}, {"name": 0.99})
    reread_name(result, [sure])
    assert result.fields["name"] == "王昇" and "field_corrected" not in result.warnings


def test_each_traditional_character_of_a_name_is_settled_on_its_own() -> None:
    # 黄梓頔 in a brush face, read 黃梓頔: 頔 is a standard name character that OpenCC still turns into
    # 𬱖, a character the recogniser cannot write. That must not keep 黃 from its simplified form.
    alphabet = ["blank", "黃", "黄", "梓", "頔"]
    m = _matrix(
        alphabet, [{"黃": 0.6, "黄": 0.35}, {"blank": 0.9}, {"梓": 0.97}, {"blank": 0.9}, {"頔": 0.97}]
    )
    result = CardResult("front", {"name": "黃梓頔"}, {"name": 0.99})
    reread_name(result, [m])
    assert result.fields["name"] == "黄梓頔"
    assert result.confidence["name"] < LOW_CONFIDENCE and "field_corrected" in result.warnings
