"""Picture-quality warnings on rectified cards whose defects are known (they were rendered)."""

from __future__ import annotations

import numpy as np
import pytest

from devices.card_finder import find_card, rectify
from devices.card_quality import is_photocopy
from tools.idcard_synth import make_sample, missing_typefaces

# The faces the cards below were chosen in (a face added to TYPEFACES later would redraw them).
CHOSEN_IN = ("droid", "noto-sans", "noto-serif", "wqy-zenhei", "wqy-microhei", "uming", "ukai")
FACES = [f for f in CHOSEN_IN if not missing_typefaces([f])]


def _card(seed: int, index: int, **overrides: object) -> np.ndarray:
    sample = make_sample(seed, "front", "hard", index, FACES, **overrides)
    location = find_card(sample.image)
    return rectify(sample.image, location.quad if location is not None else sample.quad)


# Fronts 4 and 13 of seed 7 are the kind the saturation-count check called photocopies; 0 and 1 are
# ordinary.
@pytest.mark.parametrize("index", [0, 1, 4, 13])
def test_photocopy_is_told_from_a_faded_colour_card(index: int) -> None:
    # Hard fronts: dim, uneven light, pale or greyish label ink, faded portraits. A colour photo of such a
    # card is no photocopy; the same card copied in black and white is.
    if len(FACES) < len(CHOSEN_IN):
        pytest.skip("typefaces not installed (bash .ci/fonts.sh)")
    assert not is_photocopy(_card(7, index))
    assert is_photocopy(_card(7, index, photocopy=True))


def test_a_whole_card_near_the_edge_is_not_called_cut_off() -> None:
    from devices.idcard import _outside

    near = np.array([[6, 6], [700, 6], [700, 450], [6, 450]], np.float32)  # 6 px inside a 1280 × 720 frame
    assert not _outside(near, (720, 1280, 3))
    assert _outside(near - 8, (720, 1280, 3))  # a corner past the edge
    assert _outside(near + np.array([579, 0], np.float32), (720, 1280, 3))  # on the right edge
