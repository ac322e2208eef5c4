"""The synthetic ID cards the OCR tests and benchmarks are measured on: what they print must be readable."""

from __future__ import annotations

import numpy as np

from tools.idcard_synth import ADDRESS_GAP, ETHNICITIES, PORTRAIT_X, SCALE, random_identity, render_front


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
