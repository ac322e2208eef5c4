"""The camera-like QR renderings that stand in for unseen photos in bench/decoders.py."""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np

from devices.qr import CascadeDecoder
from tools.qr_photos import (
    REPORT_SEED,
    TUNE_SEED,
    QrPhoto,
    function_modules,
    oracle_read,
    qr_photo_set,
)


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


def _agreement(photo: QrPhoto, shift: float = 0.0) -> float:
    """How many modules sampling the picture at the recorded centres (moved ``shift`` modules along the
    rows) gets right, each thresholded against its neighbours."""
    grey = cv2.cvtColor(photo.image, cv2.COLOR_BGR2GRAY).astype(np.float32)
    centres = photo.centres + (photo.centres[:, 1:2] - photo.centres[:, 0:1]) * shift
    xs = np.ascontiguousarray(centres[..., 0], dtype=np.float32)
    ys = np.ascontiguousarray(centres[..., 1], dtype=np.float32)
    samples = cv2.remap(grey, xs, ys, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    dark = samples < cv2.blur(samples, (9, 9), borderType=cv2.BORDER_REFLECT)
    if "inverted" in photo.effects:
        dark = ~dark
    return float(np.mean(dark[4:-4, 4:-4] == (photo.matrix[4:-4, 4:-4] > 0)))


def test_module_centres_follow_the_code_through_perspective_and_curvature() -> None:
    # Sampling a rendering without blots, glare or low contrast at the recorded centres gives back the
    # code's modules; one module off, it is a coin toss. The oracle below is only as good as this geometry.
    lossy = {"damage", "glare", "low-contrast"}
    photos = [p for p in qr_photo_set(40, TUNE_SEED) if not lossy & set(p.effects)]
    assert any("curved" in p.effects for p in photos) and any("perspective" in p.effects for p in photos)
    for photo in photos:
        assert _agreement(photo) > (0.75 if "small" in photo.effects else 0.98)
        assert _agreement(photo, shift=1.0) < 0.65


def test_function_modules_are_the_finder_timing_and_format_modules() -> None:
    photo = qr_photo_set(1, TUNE_SEED)[0]
    fixed = function_modules(photo.text, photo.error)
    assert fixed.shape == photo.matrix.shape
    n = photo.matrix.shape[0] - 8
    assert fixed[4:11, 4:11].all() and fixed[4:11, n - 3 : n + 4].all() and fixed[n - 3 : n + 4, 4:11].all()
    assert fixed[10, 4 : n + 4].all()  # the timing row
    assert 0.4 < 1 - fixed[4:-4, 4:-4].mean() < 0.9  # most of the symbol carries data


def test_oracle_reads_from_the_pixels_what_decoders_could_and_nothing_once_they_are_gone() -> None:
    photos = qr_photo_set(20, TUNE_SEED)
    cascade = CascadeDecoder()
    cascade_read = {i for i, p in enumerate(photos) if p.text in {s.text for s in cascade.decode(p.image)}}
    oracle_ok = {i for i, p in enumerate(photos) if oracle_read(p) == p.text}
    assert cascade_read <= oracle_ok  # given the geometry, never less than a decoder that has to find it
    assert len(oracle_ok) > len(cascade_read)  # and it shows what locating and sampling lose
    blank = replace(photos[0], image=np.full_like(photos[0].image, 128))
    assert oracle_read(blank) is None  # it reads the picture, not the known text
