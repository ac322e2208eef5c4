"""The camera-like QR renderings that stand in for unseen photos in bench/decoders.py."""

from __future__ import annotations

import numpy as np

from devices.qr import CascadeDecoder
from tools.qr_photos import REPORT_SEED, TUNE_SEED, qr_photo_set


def test_a_seed_always_gives_the_same_pictures_and_the_two_seeds_differ() -> None:
    first, again = qr_photo_set(3, TUNE_SEED), qr_photo_set(3, TUNE_SEED)
    assert [p.text for p in first] == [p.text for p in again]
    assert all(np.array_equal(a.image, b.image) for a, b in zip(first, again, strict=True))
    held_apart = qr_photo_set(3, REPORT_SEED)
    assert {p.text for p in first}.isdisjoint({p.text for p in held_apart})


def test_renderings_are_camera_pictures_that_hold_the_code() -> None:
    photos = qr_photo_set(12, TUNE_SEED, width=640, height=480)
    assert all(p.image.shape == (480, 640, 3) and p.image.dtype == np.uint8 for p in photos)
    # Mixed degradations: several kinds appear, and not every picture is easy.
    assert len({e for p in photos for e in p.effects}) >= 5
    cascade = CascadeDecoder()
    read = [p.text in {s.text for s in cascade.decode(p.image)} for p in photos]
    assert 3 <= sum(read) < len(photos)
