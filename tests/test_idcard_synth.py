"""The synthetic ID cards the OCR tests and benchmarks are measured on: what they print must be readable."""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np
import pytest

from devices.card_finder import find_card
from devices.idcard import IdCardRecogniser
from kiosk.idcard.model import BACK_FIELDS, CardResult
from kiosk.idcard.reader import MOVE_TOLERANCE
from kiosk.idcard.rules import check_back
from tools.idcard_synth import (
    ADDRESS_GAP,
    ETHNICITIES,
    LAYOUTS,
    PATTERNS,
    PORTRAIT_X,
    REFERENCE_DATE,
    SCALE,
    TYPEFACES,
    CardStyle,
    Identity,
    Layout,
    Stock,
    _guilloche,
    _wrap,
    has_glyph,
    held_frame,
    make_sample,
    missing_typefaces,
    photograph,
    random_identity,
    render_front,
)


def test_address_lines_stop_short_of_the_portrait() -> None:
    # A character drawn under the photo is hidden yet still expected by the truth: the benchmark would
    # count it against the reader. The clear strip left of the photo must hold no ink on any card.
    strip_x = slice((PORTRAIT_X - ADDRESS_GAP) * SCALE, PORTRAIT_X * SCALE)
    address_rows = slice(240 * SCALE, 425 * SCALE)  # between the birth date and the ID number
    for index in range(12):
        rng = np.random.default_rng([5, index])
        identity = random_identity(rng, ethnicity=ETHNICITIES[index])
        assert len(identity.address) > 14  # long enough to wrap towards the photo
        card = render_front(identity, rng)
        darkest = int(card[address_rows, strip_x].min())
        assert darkest > 120, f"ink next to the photo on card {index}: {identity.address}"


def _need(*keys: str) -> None:
    """Skip, naming the Debian package, when a typeface the test prints in is not installed."""
    missing = missing_typefaces(keys)
    if missing:
        packages = ", ".join(sorted({f.package for f in missing}))
        pytest.skip(
            f"typeface not installed: {', '.join(f.key for f in missing)} (bash .ci/fonts.sh: {packages})"
        )


def _front(face: str, layout: str = "standard", index: int = 3) -> tuple[np.ndarray, Identity]:
    rng = np.random.default_rng([8, index])
    identity = random_identity(rng, ethnicity=ETHNICITIES[index])
    style = CardStyle(face=face, layout=LAYOUTS[layout], stock=Stock(pattern="waves"))
    return render_front(identity, np.random.default_rng(1), style), identity


def _name_row(card: np.ndarray) -> np.ndarray:
    return card[30 * SCALE : 110 * SCALE, 150 * SCALE : PORTRAIT_X * SCALE].astype(np.float32)


@pytest.mark.parametrize("face", sorted(TYPEFACES))
def test_each_typeface_prints_the_card_in_itself(face: str) -> None:
    # Each face must really be used for the values (not silently fall back to another font), and must
    # draw every character of the name itself: a box instead of a glyph would be a card no one can read.
    _need(face)
    card, identity = _front(face)
    assert all(has_glyph(face, ch) for ch in identity.name + identity.address if not ch.isascii())
    for other in sorted(TYPEFACES):
        if other != face and not missing_typefaces([other]):
            difference = np.abs(_name_row(card) - _name_row(_front(other)[0])).mean()
            assert difference > 2.0, f"{face} and {other} print the name alike"


def test_missing_glyph_falls_back_to_a_face_that_has_it() -> None:
    _need("wqy-microhei")
    assert not has_glyph("wqy-microhei", "䶮")  # a rare name character Micro Hei lacks
    assert has_glyph("droid", "䶮")
    rng = np.random.default_rng([8, 1])
    identity = replace(random_identity(rng, ethnicity="汉"), name="王䶮")
    card = render_front(identity, np.random.default_rng(1), CardStyle(face="wqy-microhei"))
    # The second name character's cell holds ink, not the empty box the face would draw.
    cell = card[50 * SCALE : 95 * SCALE, 200 * SCALE : 240 * SCALE]
    assert (cell < 100).mean() > 0.05


def test_a_glyph_the_face_draws_empty_falls_back_too() -> None:
    # AR PL UKai maps 䶮 to an empty glyph: the card printed no ink where the name has a character, a name
    # no reader could return (雷胜杰䶮 "read" as 雷胜杰), so the face counts as lacking it.
    _need("ukai")
    assert not has_glyph("ukai", "䶮")
    assert has_glyph("ukai", "黄")


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_each_layout_puts_the_values_where_it_says(layout: str) -> None:
    lay = LAYOUTS[layout]
    card, _ = _front("droid", layout)
    # The name (black; the blue label is left out) starts at the layout's value column: label column at
    # 62 px, ± 4 px of registration jitter.
    row = (card[45 * SCALE : 95 * SCALE, 120 * SCALE : PORTRAIT_X * SCALE].max(axis=2) < 90).any(axis=0)
    first_ink = 120 + np.argmax(row) / SCALE
    assert abs(first_ink - (62 + lay.value_dx)) < 8, (layout, first_ink)
    # And its address stays clear of the photo, wherever it breaks.
    strip = card[240 * SCALE : 425 * SCALE, (PORTRAIT_X - ADDRESS_GAP) * SCALE : PORTRAIT_X * SCALE]
    assert int(strip.min()) > 120


def test_layouts_break_addresses_differently() -> None:
    def column(lay: Layout) -> float:  # from the value column (label column at 62 px) to the photo's gap
        return PORTRAIT_X - lay.address_gap - (62 + lay.value_dx)

    address = "广东省光明市人民区中山路12号建设花园23栋4单元1203室"
    breaks = {
        key: tuple(len(ln) for ln in _wrap(address, lay.value_px, column(lay), lay.address_spacing))
        for key, lay in LAYOUTS.items()
    }
    assert len(set(breaks.values())) == len(LAYOUTS), breaks


@pytest.mark.parametrize("pattern", PATTERNS)
def test_each_stock_pattern_is_pale_and_distinct(pattern: str) -> None:
    stocks = {p: _guilloche(np.random.default_rng(3), Stock(pattern=p)).astype(np.float32) for p in PATTERNS}
    assert stocks[pattern].mean() > 200  # print on it must stay legible
    assert stocks[pattern].std() > 2  # a pattern, not a flat wash
    for other in PATTERNS:
        if other != pattern:
            assert np.abs(stocks[pattern] - stocks[other]).mean() > 1.0


def test_varied_cards_keep_the_identity_and_camera() -> None:
    _need("uming", "ukai")
    plain = make_sample(4, "front", "hard", 2)
    varied = make_sample(4, "front", "hard", 2, faces=["uming", "ukai"], frame_size=(1920, 1080))
    assert varied.truth == plain.truth
    assert varied.style.family == "arphic"
    assert varied.image.shape == (1080, 1920, 3)
    assert not np.array_equal(plain.image, cv2.resize(varied.image, (1280, 720)))


def test_a_held_cards_next_frames_drift_a_little_under_the_same_light() -> None:
    """What the live reader is fed after the first frame (bench.idcard_held): the same card, moved by less
    than the reader's "hold still" tolerance, the room's light and glare kept, new sensor noise."""
    sample = make_sample(4, "front", "hard", 5)
    first = find_card(sample.image)
    assert first is not None
    frames = [held_frame(sample, k) for k in (1, 2)]
    assert np.array_equal(frames[0], held_frame(sample, 1))  # reproducible
    width = float(np.ptp(first.quad[:, 0]))
    for frame in frames:
        found = find_card(frame)
        assert found is not None
        assert 0.5 < np.abs(found.quad - first.quad).max() < MOVE_TOLERANCE * width
        # Averaged over a few pixels the noise cancels: what is left is the drift, not another light.
        residue = cv2.GaussianBlur(frame.astype(np.float32) - sample.image, (0, 0), 15)
        assert np.abs(residue).mean() < 3
    assert np.abs(frames[0].astype(np.int16) - frames[1]).mean() > 2  # new noise each frame
    assert sample.card is not None
    other_light, _ = photograph(sample.card, sample.params, np.random.default_rng(123))
    assert np.abs(cv2.GaussianBlur(other_light.astype(np.float32) - sample.image, (0, 0), 15)).mean() > 6


def test_card_partly_out_of_frame_is_seen_as_incomplete() -> None:
    sample = make_sample(4, "front", "easy", 1, cut=0.2)
    h, w = sample.image.shape[:2]
    outside = (
        (sample.quad[:, 0] < 0) | (sample.quad[:, 0] > w) | (sample.quad[:, 1] < 0) | (sample.quad[:, 1] > h)
    )
    assert outside.any()
    # The live reader must not read it as a whole card (it asks for the card in the guide instead).
    reading = IdCardRecogniser(_NoOcr()).analyse(sample.image)  # type: ignore[arg-type]
    assert reading.result is None


class _NoOcr:
    def recognise(self, image: np.ndarray) -> list[object]:
        raise AssertionError("a card partly out of frame was passed to OCR")


def test_validity_follows_the_kiosks_29_february_rule() -> None:
    # The card law counts years from the issue day; the kiosk's check (kiosk.idcard.rules) ends a card
    # issued on 29 February on 1 March. A synthetic card printed by another rule would fail that check.
    for attempt in range(20000):
        identity = random_identity(np.random.default_rng([29, attempt]))
        issued = identity.valid_from
        until = identity.valid_until
        if (issued.month, issued.day) == (2, 29) and until is not None and until.year % 4:
            break
    else:
        pytest.fail("no card issued on 29 February in 20000 draws")
    assert (identity.valid_until.month, identity.valid_until.day) == (3, 1)
    back = CardResult(side="back", fields=identity.back_fields(), confidence=dict.fromkeys(BACK_FIELDS, 0.99))
    check_back(back, REFERENCE_DATE, identity.birth_date)
    assert "invalid_validity" not in back.warnings
